"""The FHIR functions fhirpathpy lacks, and the ones whose behaviour must follow FHIR.

Every entry of `FUNCTIONS` goes into fhirpathpy's "user invocation table", which
fhirpathpy consults before its own functions and operators. Each function receives
fhirpathpy's evaluation context (a dict), the input collection and its parameters; the
per-evaluation facts (type model, hooks, resolve scope, regex time limit) travel in
that dict under `ENVIRONMENT_KEY`.

Boolean logic follows the HL7 validator: in `and`, `or`, `implies`, `xor`, `where`,
`exists(criteria)` and `all(criteria)` an empty collection is "unknown", a single
boolean is itself, any other single item counts as true and more than one item is an
error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from conformance.fhirpath import _fhirpathpy, _navigation, _regex, xhtml
from conformance.fhirpath._model import DATE_TYPES, TIME_TYPES, TypeModel
from conformance.fhirpath._syntax import MEMBER_FUNCTION, SHORT_CIRCUIT_FUNCTIONS, Signature
from conformance.fhirpath._temporal import Moment, compare_moments, parse_moment
from conformance.fhirpath.errors import FhirPathError
from conformance.fhirpath.hooks import Hooks, ResolveScope

ENVIRONMENT_KEY = "conformance"

Collection = list[Any]
Expr = Callable[[Any], Collection]


@dataclass(frozen=True)
class Environment:
    model: TypeModel
    hooks: Hooks
    scope: ResolveScope
    regex_timeout: float


def _environment(ctx: Mapping[str, Any]) -> Environment:
    environment: Environment = ctx[ENVIRONMENT_KEY]
    return environment


# --- values ------------------------------------------------------------------------


def plain(item: Any) -> Any:
    """The value inside a node (JSON value, or None for a primitive without value)."""
    return item.data if isinstance(item, _fhirpathpy.ResourceNode) else item


_SCALAR_TYPES = frozenset({str, bool, int, Decimal, float})


def primitive_value(item: Any) -> Any:
    """The value of a primitive item; None for complex items and value-less primitives."""
    value = plain(item)
    if type(value) in _SCALAR_TYPES:  # the common case, without an ABC check
        return value
    if value is None or isinstance(value, Mapping | list):
        return None
    return value


def to_text(value: Any) -> str:
    """A primitive value as FHIRPath writes it (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if _fhirpathpy.loaded() and isinstance(value, _fhirpathpy.FP_DateTime | _fhirpathpy.FP_Time):
        return str(value.asStr)  # as written, not fhirpathpy's normalised form
    return str(value)


def tristate(items: Collection) -> bool | None:
    """A collection as a boolean operand: None for empty, error for several items."""
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathError(f"expected a single boolean, found a collection of {len(items)} items")
    value = plain(items[0])
    return value if isinstance(value, bool) else True


# --- navigation --------------------------------------------------------------------


def _member(ctx: dict[str, Any], data: Collection, name: str) -> Collection:
    return _navigation.member(_environment(ctx).model, data, name)


def _children(ctx: dict[str, Any], data: Collection) -> Collection:
    return _navigation.children(_environment(ctx).model, data)


def _descendants(ctx: dict[str, Any], data: Collection) -> Collection:
    return _navigation.descendants(_environment(ctx).model, data)


def _extension(ctx: dict[str, Any], data: Collection, url: Any) -> Collection:
    if not isinstance(url, str):
        return []
    extensions = _navigation.member(_environment(ctx).model, data, "extension")
    return [node for node in extensions if isinstance(node.data, Mapping) and node.data.get("url") == url]


def _has_value(ctx: dict[str, Any], data: Collection) -> Collection:
    if len(data) != 1:
        return [False]
    value = primitive_value(data[0])
    return [value is not None and to_text(value) != ""]


def _get_value(ctx: dict[str, Any], data: Collection) -> Collection:
    if len(data) != 1:
        return []
    value = primitive_value(data[0])
    return [] if value is None else [value]


# --- boolean logic -----------------------------------------------------------------


def _and(ctx: dict[str, Any], data: Collection, left: Expr, right: Expr) -> Collection:
    first = tristate(left(data))
    if first is False:
        return [False]
    second = tristate(right(data))
    if first is None:
        return [False] if second is False else []
    return [] if second is None else [second]


def _or(ctx: dict[str, Any], data: Collection, left: Expr, right: Expr) -> Collection:
    first = tristate(left(data))
    if first is True:
        return [True]
    second = tristate(right(data))
    if first is None:
        return [True] if second is True else []
    return [] if second is None else [second]


def _implies(ctx: dict[str, Any], data: Collection, left: Expr, right: Expr) -> Collection:
    first = tristate(left(data))
    if first is False:
        return [True]
    second = tristate(right(data))
    if first is None:
        return [True] if second is True else []
    return [] if second is None else [second]


def _xor(ctx: dict[str, Any], left: Collection, right: Collection) -> Collection:
    first, second = tristate(left), tristate(right)
    if first is None or second is None:
        return []
    return [first != second]


def _not(ctx: dict[str, Any], data: Collection) -> Collection:
    value = tristate(data)
    return [] if value is None else [not value]


def _criteria_holds(criteria: Expr, item: Any) -> bool:
    return tristate(criteria(item)) is True


def _where(ctx: dict[str, Any], data: Collection, criteria: Expr) -> Collection:
    found = []
    for index, item in enumerate(data):
        ctx["$index"] = index
        if _criteria_holds(criteria, item):
            found.append(item)
    return found


def _exists(ctx: dict[str, Any], data: Collection, criteria: Expr | None = None) -> Collection:
    if criteria is None:
        return [bool(data)]
    return [bool(_where(ctx, data, criteria))]


def _all(ctx: dict[str, Any], data: Collection, criteria: Expr) -> Collection:
    for index, item in enumerate(data):
        ctx["$index"] = index
        if not _criteria_holds(criteria, item):
            return [False]
    return [True]


# --- comparison --------------------------------------------------------------------


def _temporal_kind(item: Any) -> str | None:
    if isinstance(item, _fhirpathpy.FP_Time):
        return "time"
    if isinstance(item, _fhirpathpy.FP_DateTime):
        return "date"
    node_type = _navigation.fhir_type(item)
    if node_type in DATE_TYPES:
        return "date"
    if node_type in TIME_TYPES:
        return "time"
    return None


def _temporal_order(left: Any, right: Any, kind: str) -> int | None:
    return compare_moments(_moment(left, kind), _moment(right, kind))


def _moment(item: Any, kind: str) -> Moment:
    value = primitive_value(item)
    text = value if type(value) is str else None if value is None else to_text(value)
    moment = parse_moment(text, kind == "time") if text is not None else None
    if moment is None:
        raise FhirPathError(f"cannot compare {text!r} as a {kind}")
    return moment


def _quantity(item: Any, model: TypeModel) -> tuple[Decimal, str] | None:
    if isinstance(item, _fhirpathpy.FP_Quantity):
        return Decimal(item.value), str(item.unit).strip("'")
    node_type = _navigation.fhir_type(item)
    if node_type and "Quantity" in model.ancestors(node_type):
        data = item.data
        if isinstance(data, Mapping) and data.get("value") is not None:
            return Decimal(data["value"]), str(data.get("code") or data.get("unit") or "1")
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def order(model: TypeModel, left: Any, right: Any) -> int | None:
    kind = _temporal_kind(left) or _temporal_kind(right)
    if kind is not None:
        return _temporal_order(left, right, kind)
    quantities = _quantity(left, model), _quantity(right, model)
    if quantities[0] is not None and quantities[1] is not None:
        return _quantity_order(quantities[0], quantities[1])
    first, second = primitive_value(left), primitive_value(right)
    if (_is_number(first) and _is_number(second)) or (isinstance(first, str) and isinstance(second, str)):
        return int(first > second) - int(first < second)
    raise FhirPathError(f"cannot compare {_describe(left)} with {_describe(right)}")


def _quantity_order(left: tuple[Decimal, str], right: tuple[Decimal, str]) -> int:
    if left[1] != right[1]:
        raise FhirPathError(f"cannot compare quantities in {left[1]!r} and {right[1]!r}")
    return (left[0] > right[0]) - (left[0] < right[0])


def _describe(item: Any) -> str:
    value = plain(item)
    if isinstance(value, Mapping):
        return f"a {_navigation.fhir_type(item) or 'complex value'}"
    return repr(value)


def _single_operands(left: Collection, right: Collection, operator: str) -> tuple[Any, Any] | None:
    if not left or not right:
        return None
    if len(left) > 1 or len(right) > 1:
        raise FhirPathError(f"operator {operator} needs single values")
    return left[0], right[0]


def _comparison(operator: str, accept: Callable[[int], bool]) -> Callable[..., Collection]:
    def compare(ctx: dict[str, Any], left: Collection, right: Collection) -> Collection:
        operands = _single_operands(left, right, operator)
        if operands is None:
            return []
        found = order(_environment(ctx).model, *operands)
        return [] if found is None else [accept(found)]

    return compare


def _items_equal(model: TypeModel, left: Any, right: Any) -> bool | None:
    kind = _temporal_kind(left) or _temporal_kind(right)
    if kind is not None:
        return _temporal_equal(left, right, kind)
    quantities = _quantity(left, model), _quantity(right, model)
    if quantities[0] is not None and quantities[1] is not None:
        if quantities[0][1] != quantities[1][1]:
            return None  # different units: equal only after a conversion this engine does not do
        return quantities[0][0] == quantities[1][0]
    return _values_equal(plain(left), plain(right))


def _temporal_equal(left: Any, right: Any, kind: str) -> bool | None:
    try:
        found = _temporal_order(left, right, kind)
    except FhirPathError:
        return False  # a date and something that is not one are simply different
    return None if found is None else found == 0


def _values_equal(first: Any, second: Any) -> bool:
    literal_types = (_fhirpathpy.FP_DateTime, _fhirpathpy.FP_Time, _fhirpathpy.FP_Quantity)
    if isinstance(first, literal_types) or isinstance(second, literal_types):
        return False  # only comparable to values of their own kind, handled above
    if isinstance(first, bool) != isinstance(second, bool):
        return False  # `1 = true` is false, whatever Python thinks
    return bool(first == second)


def _equality(ctx: dict[str, Any], left: Collection, right: Collection) -> bool | None:
    if len(left) != len(right):
        return False
    model = _environment(ctx).model
    verdicts = [_items_equal(model, one, other) for one, other in zip(left, right, strict=True)]
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _equal(ctx: dict[str, Any], left: Collection, right: Collection) -> Collection:
    if not left or not right:
        return []
    verdict = _equality(ctx, left, right)
    return [] if verdict is None else [verdict]


def _not_equal(ctx: dict[str, Any], left: Collection, right: Collection) -> Collection:
    if not left or not right:
        return []
    verdict = _equality(ctx, left, right)
    return [] if verdict is None else [not verdict]


def _comparable(ctx: dict[str, Any], data: Collection, other: Collection) -> Collection:
    if len(data) != 1 or len(other) != 1:
        return []
    model = _environment(ctx).model
    mine, theirs = _quantity(data[0], model), _quantity(other[0], model)
    if mine is None or theirs is None:
        raise FhirPathError("comparable() applies to quantities only")
    return [mine[1] == theirs[1]]


# --- types -------------------------------------------------------------------------

# Unqualified names that mean System types, as the HL7 validator reads them.
_SYSTEM_TYPE_NAMES = frozenset({"Boolean", "Integer", "Decimal", "String", "DateTime", "Date", "Time"})


_SYSTEM_TYPES_OF_VALUES = {
    bool: "Boolean",
    int: "Integer",
    Decimal: "Decimal",
    str: "String",
}


def _system_type(value: Any) -> str | None:
    if isinstance(value, _fhirpathpy.FP_DateTime):
        return "DateTime" if "T" in str(value.asStr) else "Date"
    if type(value) is _fhirpathpy.FP_Time:
        return "Time"
    if type(value) is _fhirpathpy.FP_Quantity:
        return "Quantity"
    return _SYSTEM_TYPES_OF_VALUES.get(type(value))


def has_type(model: TypeModel, item: Any, name: str, namespace: str | None) -> bool:
    """FHIRPath `is`: FHIR elements have FHIR types, literals and function results System ones."""
    if namespace == "System" or (namespace is None and name in _SYSTEM_TYPE_NAMES):
        if isinstance(item, _fhirpathpy.ResourceNode):
            return False
        found = _system_type(item)
        return found == name or (found == "Date" and name == "DateTime")
    node_type = _navigation.fhir_type(item)
    return node_type is not None and name in model.ancestors(node_type)


def _type_test(ctx: dict[str, Any], item: Any, type_info: Any) -> bool:
    return has_type(_environment(ctx).model, item, type_info.name, type_info.namespace)


def _is(ctx: dict[str, Any], data: Collection, type_info: Any) -> Collection:
    if len(data) != 1:
        return []
    return [_type_test(ctx, data[0], type_info)]


def _as(ctx: dict[str, Any], data: Collection, type_info: Any) -> Collection:
    # Lenient like the HL7 validator's invariant runs: a filter, not a singleton check.
    return [item for item in data if _type_test(ctx, item, type_info)]


# --- strings -----------------------------------------------------------------------


def _string_input(data: Collection) -> str | None:
    value = primitive_value(data[0])
    return value if isinstance(value, str) else None


def _matches(ctx: dict[str, Any], data: Collection, pattern: Any) -> Collection:
    return _match_with(ctx, data, pattern, _regex.search)


def _matches_full(ctx: dict[str, Any], data: Collection, pattern: Any) -> Collection:
    return _match_with(ctx, data, pattern, _regex.full_match)


def _match_with(
    ctx: dict[str, Any], data: Collection, pattern: Any, matcher: Callable[[str, str, float], bool]
) -> Collection:
    if not data or not isinstance(pattern, str) or not pattern:
        return []
    if len(data) > 1:
        return [False]  # the HL7 validator's answer for several strings
    text = _string_input(data)
    if text is None:
        return []
    return [bool(text) and matcher(pattern, text, _environment(ctx).regex_timeout)]


def _replace_matches(ctx: dict[str, Any], data: Collection, pattern: Any, replacement: Any) -> Collection:
    if len(data) != 1 or not isinstance(pattern, str) or not isinstance(replacement, str):
        return []
    text = _string_input(data)
    if text is None:
        return []
    return [_regex.substitute(pattern, replacement, text, _environment(ctx).regex_timeout)]


def _to_string(ctx: dict[str, Any], data: Collection) -> Collection:
    if len(data) != 1:
        return []
    value = primitive_value(data[0])
    return [] if value is None else [to_text(value)]


def _single(ctx: dict[str, Any], data: Collection) -> Collection:
    if len(data) > 1:
        raise FhirPathError(f"single() found {len(data)} items")
    return data


def _trace(ctx: dict[str, Any], data: Collection, *_label_and_projection: Any) -> Collection:
    # Library code never prints: trace() only passes its input through.
    return data


# --- outside knowledge -------------------------------------------------------------


def _resolve(ctx: dict[str, Any], data: Collection) -> Collection:
    environment = _environment(ctx)
    found = []
    for item in data:
        target = _resolve_one(environment, plain(item))
        if target is not None:
            found.append(_fhirpathpy.make_node(target, None))
    return found


def _resolve_one(environment: Environment, value: Any) -> Mapping[str, Any] | None:
    reference = value.get("reference") if isinstance(value, Mapping) else value
    if not isinstance(reference, str) or not reference:
        return None
    if reference.startswith("#"):
        local = _contained(environment.scope, reference[1:])
        if local is not None or environment.hooks.resolve is None:
            return local
        # The focus resource may hold Bundle entries whose own contained resources the reference means.
        return environment.hooks.resolve(reference, environment.scope)
    if environment.hooks.resolve is None:
        return None
    return environment.hooks.resolve(reference, environment.scope)


def _contained(scope: ResolveScope, local_id: str) -> Mapping[str, Any] | None:
    container = scope.root_resource or scope.resource
    if not isinstance(container, Mapping):
        return None
    for candidate in container.get("contained") or ():
        if isinstance(candidate, Mapping) and candidate.get("id") == local_id:
            return candidate
    return None


def _member_of(ctx: dict[str, Any], data: Collection, url: Any) -> Collection:
    if len(data) != 1 or not isinstance(url, str):
        return []
    hook = _environment(ctx).hooks.member_of
    if hook is None:
        raise FhirPathError(f"memberOf('{url}') needs a terminology service")
    answer = hook(plain(data[0]), url)
    if answer is None:
        raise FhirPathError(f"could not decide whether the code is in value set {url}")
    return [answer]


def _conforms_to(ctx: dict[str, Any], data: Collection, url: Any) -> Collection:
    if len(data) != 1 or not isinstance(url, str):
        return []
    resource = plain(data[0])
    if not isinstance(resource, Mapping):
        return [False]
    hook = _environment(ctx).hooks.conforms_to
    if hook is None:
        raise FhirPathError(f"conformsTo('{url}') needs a profile validator")
    answer = hook(resource, url)
    if answer is None:
        raise FhirPathError(f"could not decide whether the resource conforms to {url}")
    return [answer]


def _html_checks(ctx: dict[str, Any], data: Collection) -> Collection:
    if len(data) != 1:
        return []
    text = _string_input(data)
    return [text is not None and xhtml.structure_ok(text)]


def _html_content(ctx: dict[str, Any], data: Collection) -> Collection:
    if len(data) != 1:
        return [False]
    text = _string_input(data)
    return [text is not None and xhtml.has_content(text)]


# --- the table ---------------------------------------------------------------------

_ANY2 = {2: ["Any", "Any"]}
_EXPR2 = {2: ["Expr", "Expr"]}
_ONE_STRING = {1: ["String"]}
_ONE_TYPE = {1: ["TypeSpecifier"]}

FUNCTIONS: dict[str, dict[str, Any]] = {
    MEMBER_FUNCTION: {"fn": _member, "arity": {1: ["Identifier"]}},
    SHORT_CIRCUIT_FUNCTIONS["and"]: {"fn": _and, "arity": _EXPR2},
    SHORT_CIRCUIT_FUNCTIONS["or"]: {"fn": _or, "arity": _EXPR2},
    SHORT_CIRCUIT_FUNCTIONS["implies"]: {"fn": _implies, "arity": _EXPR2},
    "xor": {"fn": _xor, "arity": _ANY2},
    "not": {"fn": _not},
    "where": {"fn": _where, "arity": {1: ["Expr"]}},
    "exists": {"fn": _exists, "arity": {0: [], 1: ["Expr"]}},
    "all": {"fn": _all, "arity": {1: ["Expr"]}},
    "children": {"fn": _children},
    "descendants": {"fn": _descendants},
    "extension": {"fn": _extension, "arity": _ONE_STRING},
    "hasValue": {"fn": _has_value},
    "getValue": {"fn": _get_value},
    "=": {"fn": _equal, "arity": _ANY2},
    "!=": {"fn": _not_equal, "arity": _ANY2},
    "<": {"fn": _comparison("<", lambda order: order < 0), "arity": _ANY2},
    "<=": {"fn": _comparison("<=", lambda order: order <= 0), "arity": _ANY2},
    ">": {"fn": _comparison(">", lambda order: order > 0), "arity": _ANY2},
    ">=": {"fn": _comparison(">=", lambda order: order >= 0), "arity": _ANY2},
    "comparable": {"fn": _comparable, "arity": {1: ["AnyAtRoot"]}},
    "is": {"fn": _is, "arity": _ONE_TYPE},
    "as": {"fn": _as, "arity": _ONE_TYPE},
    "ofType": {"fn": _as, "arity": _ONE_TYPE},
    "isOp": {"fn": _is, "arity": {2: ["Any", "TypeSpecifier"]}},
    "asOp": {"fn": _as, "arity": {2: ["Any", "TypeSpecifier"]}},
    "matches": {"fn": _matches, "arity": _ONE_STRING},
    "matchesFull": {"fn": _matches_full, "arity": _ONE_STRING},
    "replaceMatches": {"fn": _replace_matches, "arity": {2: ["String", "String"]}},
    "toString": {"fn": _to_string},
    "single": {"fn": _single},
    "trace": {"fn": _trace, "arity": {0: [], 1: ["String"], 2: ["String", "Expr"]}},
    "resolve": {"fn": _resolve},
    "memberOf": {"fn": _member_of, "arity": _ONE_STRING},
    "conformsTo": {"fn": _conforms_to, "arity": _ONE_STRING},
    "htmlChecks": {"fn": _html_checks},
    "htmlchecks": {"fn": _html_checks},  # the STU3 spelling
    "htmlChecks2": {"fn": _html_content},
}

UNSUPPORTED: dict[str, str] = {
    "hasTemplateIdOf": "CDA templates are outside FHIR validation",
    "lowBoundary": "no FHIR constraint uses it",
    "highBoundary": "no FHIR constraint uses it",
    "precision": "no FHIR constraint uses it",
    "elementDefinition": "it needs the StructureDefinition model",
    "slice": "it needs the StructureDefinition model",
    "checkModifiers": "it needs the StructureDefinition model",
}

_OPERATOR_NAMES = frozenset({"isOp", "asOp", "containsOp", "inOp"})
_MAX_VARIADIC = 32


def _signature_of(entry: Mapping[str, Any]) -> Signature:
    if "variadic" in entry:
        return Signature(frozenset(range(_MAX_VARIADIC)))
    return Signature(frozenset(entry.get("arity", {0: []})))


def _signatures() -> dict[str, Signature]:
    table: dict[str, Mapping[str, Any]] = {**_fhirpathpy.builtin_functions, **FUNCTIONS}
    signatures = {
        name: _signature_of(entry)
        for name, entry in table.items()
        if name.isidentifier() and name not in _OPERATOR_NAMES and not name.startswith("__")
    }
    for name, reason in UNSUPPORTED.items():
        signatures[name] = Signature(frozenset(), reason)
    return signatures


class _Signatures(Mapping[str, Signature]):
    """Every function's signature, made on first use: fhirpathpy's own functions are part of it."""

    @cached_property
    def _table(self) -> dict[str, Signature]:
        return _signatures()

    def __getitem__(self, name: str) -> Signature:
        return self._table[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


SIGNATURES: Mapping[str, Signature] = _Signatures()
