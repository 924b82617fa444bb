"""Small combinators that compute simple invariants natively, with FHIRPath's exact semantics.

The simple invariants of the core datatypes and resources (`value.empty() or system.exists()`,
`type = 'document' implies timestamp.hasValue()`...) are written in a handful of forms: a path
from the focus, tested with exists(), empty(), hasValue(), `=`, `!=`, `in`, a numeric comparison,
startsWith() or contains(), the results joined with FHIRPath's three-valued `and`, `or`, `xor`,
`implies` and not(). Each form here mirrors what the general evaluation does (navigation in
`_navigation`, operators in `_functions`); a boolean term returns True, False or None for the
empty collection.

Whenever the general evaluation would do something less obvious (several values where one is
expected, a value of the wrong JSON type, a date compared as text, an unknown %resource), a term
raises Decline: the fast path then returns None and the general evaluation decides, so unusual
input never gets a different answer.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from conformance.fhirpath._model import DATE_TYPES, TIME_TYPES, TypeModel
from conformance.fhirpath._navigation import named_child

if TYPE_CHECKING:
    from conformance.fhirpath.fastpath import FocusFacts

# A node as navigation makes it: (JSON value, `_name` sibling of a primitive, type or backbone path).
Item = tuple[Any, Mapping[str, Any] | None, str | None]
Path = Callable[[TypeModel, "FocusFacts", list[Item]], list[Item]]
Term = Callable[[TypeModel, "FocusFacts", list[Item]], bool | None]

_PRIMITIVE_CHILDREN = ("id", "extension")
_TEMPORAL_TYPES = DATE_TYPES | TIME_TYPES
_NUMBERS = (int, Decimal)
_RESOURCE = "%resource"


class Decline(Exception):
    """The input has a shape the fast path leaves to the general evaluation."""


def fast_path(term: Term) -> Callable[[FocusFacts, TypeModel], list[Any] | None]:
    """A registry entry: the term on the focus, as a result collection; None when it declines."""

    def evaluate(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
        try:
            verdict = term(model, facts, [(facts.value, facts.element, facts.focus_type)])
        except Decline:
            return None
        return [] if verdict is None else [verdict]

    return evaluate


# --- navigation --------------------------------------------------------------------


def path(text: str) -> Path:
    """`a.b.c` from the focus, or `%resource.a.b` from %resource; '' is the focus itself."""
    names = tuple(text.split(".")) if text else ()
    from_resource = bool(names) and names[0] == _RESOURCE
    if from_resource:
        names = names[1:]

    def navigate(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> list[Item]:
        items = focus
        if from_resource:
            if facts.resource is None:
                raise Decline
            items = [(facts.resource, None, None)]
        for name in names:
            items = step(model, items, name)
        return items

    return navigate


def step(model: TypeModel, items: list[Item], name: str) -> list[Item]:
    """`items.name` exactly as `_navigation.member` computes it."""
    found: list[Item] = []
    for value, extras, type_name in items:
        own_type = node_type(value, type_name)
        if name[:1].isupper() and own_type is not None and name in model.ancestors(own_type):
            found.append((value, extras, type_name))
        elif type(value) is dict or isinstance(value, Mapping):
            _add_child(model, value, own_type, name, found)
        elif extras and name in _PRIMITIVE_CHILDREN:
            _add_values(found, extras.get(name), None, model.child("Element", name))
    return found


def node_type(value: Any, type_name: str | None) -> str | None:
    """A node's type as navigation sees it: a resource's own resourceType wins."""
    if (type(value) is dict or isinstance(value, Mapping)) and "resourceType" in value:
        found = value["resourceType"]
        return found if isinstance(found, str) else None
    return type_name


def _add_child(
    model: TypeModel, data: Mapping[str, Any], parent: str | None, name: str, found: list[Item]
) -> None:
    child = named_child(model, data, parent, name)  # the general navigation's own lookup: never apart
    if child is not None:
        _add_values(found, *child)


def _add_values(found: list[Item], value: Any, extras: Any, type_name: str | None) -> None:
    if isinstance(value, list) or isinstance(extras, list):
        values = value if isinstance(value, list) else []
        extra_list = extras if isinstance(extras, list) else []
        for one, one_extras in zip_longest(values, extra_list):
            if one is not None or one_extras is not None:
                found.append((one, _as_extras(one_extras), type_name))
    elif value is not None or extras is not None:
        found.append((value, _as_extras(extras), type_name))


def _as_extras(extras: Any) -> Mapping[str, Any] | None:
    return extras if isinstance(extras, Mapping) else None


# --- tests on a path ---------------------------------------------------------------


def exists(text: str) -> Term:
    navigate = path(text)
    return lambda model, facts, focus: bool(navigate(model, facts, focus))


def empty(text: str) -> Term:
    navigate = path(text)
    return lambda model, facts, focus: not navigate(model, facts, focus)


def has_value(text: str) -> Term:
    """hasValue(): one primitive with a value that is not empty text."""
    navigate = path(text)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        items = navigate(model, facts, focus)
        if len(items) != 1:
            return False
        value = items[0][0]
        if value is None or isinstance(value, Mapping | list):
            return False
        # as `_functions.to_text` writes it: a boolean is `true` or `false`, never empty
        return type(value) is bool or str(value) != ""

    return test


def truthy(text: str) -> Term:
    """A path used as a boolean operand: its single boolean, true for another single value."""
    navigate = path(text)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        return _as_operand(navigate(model, facts, focus))

    return test


def _as_operand(items: list[Item]) -> bool | None:
    """A collection as a boolean operand: empty is unknown, one boolean is itself, one other value is true."""
    if not items:
        return None
    if len(items) > 1:
        raise Decline
    value = items[0][0]
    return value if type(value) is bool else True


def _single_text(model: TypeModel, facts: FocusFacts, focus: list[Item], navigate: Path) -> str | None:
    """The one text value of a path (None when empty); declines on anything a comparison treats specially."""
    items = navigate(model, facts, focus)
    if not items:
        return None
    value, _extras, type_name = items[0]
    if len(items) > 1 or type(value) is not str or type_name in _TEMPORAL_TYPES:
        raise Decline
    return value


def equals(text: str, literal: str | bool) -> Term:
    """`path = 'literal'` (or `= true`) for a code, string or boolean element."""
    navigate = path(text)
    if isinstance(literal, bool):
        return _equals_boolean(navigate, literal)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        items = navigate(model, facts, focus)
        if not items:
            return None
        value, _extras, type_name = items[0]
        if len(items) > 1 or type_name in _TEMPORAL_TYPES:
            raise Decline
        # anything but text (a boolean, a number, an object, a value-less primitive) differs from text
        return type(value) is str and value == literal

    return test


def _equals_boolean(navigate: Path, literal: bool) -> Term:
    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        items = navigate(model, facts, focus)
        if not items:
            return None
        if len(items) > 1 or type(items[0][0]) is not bool:
            raise Decline
        return bool(items[0][0] == literal)

    return test


def differs(text: str, literal: str) -> Term:
    """`path != 'literal'`."""
    return not_(equals(text, literal))


def one_of(text: str, *literals: str) -> Term:
    """`path in ('a' | 'b')`."""
    navigate = path(text)
    choices = frozenset(literals)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        value = _single_text(model, facts, focus, navigate)
        return None if value is None else value in choices

    return test


def starts_with(text: str, prefix: str) -> Term:
    navigate = path(text)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        value = _single_text(model, facts, focus, navigate)
        return None if value is None else bool(value) and value.startswith(prefix)

    return test


def contains(text: str, part: str) -> Term:
    navigate = path(text)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        value = _single_text(model, facts, focus, navigate)
        return None if value is None else part in value

    return test


_ORDERS: Mapping[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compares(text: str, sign: str, number: int) -> Term:
    """`path >= 0` for a decimal or integer element."""
    navigate = path(text)
    accept = _ORDERS[sign]

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        items = navigate(model, facts, focus)
        if not items:
            return None
        value, _extras, type_name = items[0]
        if len(items) > 1 or type(value) not in _NUMBERS or type_name in _TEMPORAL_TYPES:
            raise Decline
        return accept(value, number)

    return test


def member_of(text: str, collection: str) -> Term:
    """`path in other.path`: the one value of the path equals one of the collection's (JSON equality)."""
    navigate, navigate_collection = path(text), path(collection)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        items = navigate(model, facts, focus)
        if not items:
            return None
        if len(items) > 1:
            raise Decline
        value = items[0][0]
        return any(other[0] == value for other in navigate_collection(model, facts, focus))

    return test


def is_type(text: str, type_name: str) -> Term:
    """`path is type`: the one value of the path has that FHIR type (or a type derived from it)."""
    navigate = path(text)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        items = navigate(model, facts, focus)
        if len(items) != 1:
            return None
        return _has_type(model, items[0], type_name)

    return test


def as_type(text: str, type_name: str) -> Term:
    """`(path as type)` as a boolean operand: the value of that type, true for one that is not a boolean."""
    navigate = path(text)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        found = navigate(model, facts, focus)
        return _as_operand([item for item in found if _has_type(model, item, type_name)])

    return test


def _has_type(model: TypeModel, item: Item, type_name: str) -> bool:
    own_type = node_type(item[0], item[2])
    return own_type is not None and type_name in model.ancestors(own_type)


def distinct_values(text: str) -> Term:
    """`a.select(b).isDistinct()` (the same as `a.b.isDistinct()`) over text values, in one pass."""
    navigate = path(text)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        values = [value for value, _extras, _type in navigate(model, facts, focus)]
        # fhirpathpy compares the JSON form of each value: for text, the text itself
        if any(type(value) is not str for value in values):
            raise Decline
        return len(set(values)) == len(values)

    return test


def counts_compare(texts: tuple[str, ...], sign: str, number: int) -> Term:
    """`(a.count() + b.count()) > 0`: counting never fails, so this always decides."""
    navigators = [path(text) for text in texts]
    accept = {**_ORDERS, "=": operator.eq}[sign]
    return lambda model, facts, focus: bool(
        accept(sum(len(navigate(model, facts, focus)) for navigate in navigators), number)
    )


def none_in(text: str, *literals: str) -> Term:
    """`path.select($this in ('a' | 'b')).allFalse()`: no value of the path is one of the literals."""
    navigate = path(text)
    choices = frozenset(literals)

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        values = [value for value, _extras, _type in navigate(model, facts, focus)]
        if any(type(value) is not str for value in values):
            raise Decline
        return not any(value in choices for value in values)

    return test


def undecided(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
    """The part of an expression left to the general evaluation, when the rest does not decide."""
    raise Decline


# --- filters -----------------------------------------------------------------------


def exists_where(text: str, criteria: Term) -> Term:
    """`path.where(criteria).exists()`."""
    navigate = path(text)
    return lambda model, facts, focus: any(
        criteria(model, facts, [item]) is True for item in navigate(model, facts, focus)
    )


def empty_where(text: str, criteria: Term) -> Term:
    """`path.where(criteria).empty()`."""
    return not_(exists_where(text, criteria))


def all_items(text: str, criteria: Term) -> Term:
    """`path.all(criteria)`: true on an empty collection."""
    navigate = path(text)
    return lambda model, facts, focus: all(
        criteria(model, facts, [item]) is True for item in navigate(model, facts, focus)
    )


# --- FHIRPath's three-valued logic -------------------------------------------------


def any_of(*terms: Term) -> Term:
    """`a or b or ...`, evaluated left to right and stopping at the first true."""
    return _stopping_at(terms, True)


def all_of(*terms: Term) -> Term:
    """`a and b and ...`, evaluated left to right and stopping at the first false."""
    return _stopping_at(terms, False)


def _stopping_at(terms: tuple[Term, ...], decisive: bool) -> Term:
    """Three-valued `or` (decisive True) or `and` (decisive False): an empty term leaves the answer open."""

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        unknown = False
        for term in terms:
            verdict = term(model, facts, focus)
            if verdict is decisive:
                return decisive
            unknown = unknown or verdict is None
        return None if unknown else not decisive

    return test


def implies(condition: Term, consequence: Term) -> Term:
    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        first = condition(model, facts, focus)
        if first is False:
            return True
        second = consequence(model, facts, focus)
        if first is None:
            return True if second is True else None
        return second

    return test


def xor(first: Term, second: Term) -> Term:
    return lambda model, facts, focus: _unless_unknown(
        first(model, facts, focus), second(model, facts, focus), operator.ne
    )


def same(first: Term, second: Term) -> Term:
    """`a = b` on two boolean results."""
    return lambda model, facts, focus: _unless_unknown(
        first(model, facts, focus), second(model, facts, focus), operator.eq
    )


def not_(term: Term) -> Term:
    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        verdict = term(model, facts, focus)
        return None if verdict is None else not verdict

    return test


def _unless_unknown(
    first: bool | None, second: bool | None, compare: Callable[[Any, Any], Any]
) -> bool | None:
    if first is None or second is None:
        return None
    return bool(compare(first, second))
