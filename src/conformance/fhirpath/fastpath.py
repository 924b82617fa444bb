"""Native evaluation of the hottest core invariants, keyed by their exact expression text.

ele-1 holds on every element of every resource, ext-1 on every extension, ref-1 on
every Reference, dom-2 to dom-6 on every resource. Interpreting them through
fhirpathpy costs tens of microseconds each, far too much for a validator that must
check about a thousand resources a second on one core, so their expression texts (as
evaluated, after `corrections`) are recognised here and computed directly on the JSON.

A fast path gives exactly the result the general evaluation would give; the tests run
both on many generated inputs. A fast path may also decline (return None) for shapes it
does not handle (a list where a single value belongs, a non-string reference...): the
general evaluation then runs, so unusual input never gets a different answer. The
engine treats a fast path that raises anything but FhirPathError the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from itertools import zip_longest
from typing import Any, NamedTuple

from conformance.fhirpath import _fhirpathpy, _navigation, xhtml
from conformance.fhirpath._functions import order, to_text
from conformance.fhirpath._model import TypeModel
from conformance.fhirpath.fastpath_rules import SIMPLE_FAST_PATHS


class FocusFacts(NamedTuple):
    """What an evaluation starts from (see CompiledExpression.evaluate).

    A NamedTuple rather than a frozen dataclass: one is built per evaluation, and a
    tuple is several times cheaper to make.
    """

    value: Any
    element: Mapping[str, Any] | None
    focus_type: str | None
    resource: Mapping[str, Any] | None
    root_resource: Mapping[str, Any] | None


FastPath = Callable[[FocusFacts, TypeModel], "list[Any] | None"]

# (value, extras) pairs: a JSON value and the `_name` sibling of a primitive.
Pair = tuple[Any, Mapping[str, Any] | None]

_NOT_ELEMENTS = frozenset({"resourceType", "fhir_comments"})
_SCALARS = frozenset({str, int, bool, float, Decimal, type(None), list})


def _pairs(value: Any, extras: Any) -> list[Pair]:
    """The items one JSON property holds, as navigation would list them."""
    if isinstance(value, list) or isinstance(extras, list):
        values = value if isinstance(value, list) else []
        extra_list = extras if isinstance(extras, list) else []
        return [
            (one, one_extras if isinstance(one_extras, Mapping) else None)
            for one, one_extras in zip_longest(values, extra_list)
            if one is not None or one_extras is not None
        ]
    if value is None and extras is None:
        return []
    return [(value, extras if isinstance(extras, Mapping) else None)]


def _named(items: list[Pair], name: str) -> list[Pair]:
    """Children called `name` (never a choice element, never a type name)."""
    found: list[Pair] = []
    for value, extras in items:
        if _is_mapping(value):
            if name in value or f"_{name}" in value:
                found.extend(_pairs(value.get(name), value.get(f"_{name}")))
        elif extras and name in ("id", "extension"):
            found.extend(_pairs(extras.get(name), None))
    return found


def _is_mapping(value: Any) -> bool:
    # `type(...) is dict` first: JSON objects are plain dicts, and an ABC check costs more.
    return type(value) is dict or (type(value) not in _SCALARS and isinstance(value, Mapping))


def _child_count(value: Any, extras: Mapping[str, Any] | None) -> int:
    if _is_mapping(value):
        count = 0
        for key, child in value.items():
            if key[:1] == "_":
                return _child_count_with_siblings(value)
            if child is None or key in _NOT_ELEMENTS:
                continue
            count += len(child) - child.count(None) if type(child) is list else 1
        return count
    if extras:
        return len(_pairs(extras.get("id"), None)) + len(_pairs(extras.get("extension"), None))
    return 0


def _child_count_with_siblings(value: Mapping[str, Any]) -> int:
    count = 0
    for key, child in value.items():
        if key in _NOT_ELEMENTS:
            continue
        if key.startswith("_"):
            if key[1:] not in value:
                count += len(_pairs(None, child))
        else:
            count += len(_pairs(child, value.get(f"_{key}")))
    return count


def _has_value(items: list[Pair]) -> bool:
    if len(items) != 1:
        return False
    value = items[0][0]
    return value is not None and not isinstance(value, Mapping | list) and to_text(value) != ""


def _focus(facts: FocusFacts) -> list[Pair]:
    return [(facts.value, facts.element)]


# --- ele-1 -------------------------------------------------------------------------


def _element_has_content(facts: FocusFacts) -> tuple[bool, bool]:
    """(hasValue(), children().count() > id.count()) for the focus."""
    focus = _focus(facts)
    has_value = _has_value(focus)
    more_than_id = _child_count(facts.value, facts.element) > len(_named(focus, "id"))
    return has_value, more_than_id


def _has_child_besides_id(data: Mapping[str, Any]) -> bool | None:
    """Quick answer to `children().count() > id.count()` for an object; None if it has `_` keys."""
    for key, child in data.items():
        if key[:1] == "_":
            return None
        if child is None or key == "id" or key in _NOT_ELEMENTS:
            continue
        if type(child) is not list or len(child) > child.count(None):
            return True
    return False


def _ele_1_r4(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    value = facts.value
    if type(value) is str and value:
        return [True]  # hasValue(): the common primitive case, decided at once
    if _is_mapping(value):
        quick = _has_child_besides_id(value)
        if quick is not None:
            return [quick]
    has_value, more_than_id = _element_has_content(facts)
    return [has_value or more_than_id]


def _ele_1_stu3(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    # STU3 wrote `|` (union) where `or` was meant: the result is the distinct values.
    has_value, more_than_id = _element_has_content(facts)
    return [has_value] if has_value == more_than_id else [has_value, more_than_id]


# --- ext-1 -------------------------------------------------------------------------


def _ext_1(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    focus = _focus(facts)
    has_extensions = bool(_named(focus, "extension"))
    return [has_extensions != bool(_choice_values(facts, model, "value"))]


def _choice_values(facts: FocusFacts, model: TypeModel, name: str) -> list[Pair]:
    """`focus.name` for a choice element: the first of its types (in model order) present."""
    data = facts.value
    parent = _parent_type(facts) if _is_mapping(data) else None
    if parent is not None:
        positions = model.choice_positions(parent, name)
        first = min((positions[key] for key in data if key in positions), default=None)
        if first is not None:
            prop = model.choices(parent, name)[first][0]
            return _pairs(data.get(prop), data.get(f"_{prop}"))
    return _named(_focus(facts), name)


def _parent_type(facts: FocusFacts) -> str | None:
    """The focus node's type as navigation sees it: a resource's own type wins."""
    data = facts.value
    if isinstance(data, Mapping) and "resourceType" in data:
        found = data["resourceType"]
        return found if isinstance(found, str) else None
    return facts.focus_type


# --- dom-2 .. dom-6 ----------------------------------------------------------------


def _contained(facts: FocusFacts) -> list[Pair]:
    return _named(_focus(facts), "contained")


def _dom_2(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    return [not _named(_contained(facts), "contained")]


def _dom_3_r4(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    return _every_contained_is_referenced(facts, model, r4=True)


def _dom_3_stu3(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    return _every_contained_is_referenced(facts, model, r4=False)


def _every_contained_is_referenced(facts: FocusFacts, model: TypeModel, *, r4: bool) -> list[Any] | None:
    """dom-3: each contained resource with an id is the target of a `#id` somewhere in %resource.

    R4 also counts `#id` in canonical/uri/url values, and a contained resource that
    points back to its container (`reference = '#'`, or a canonical `#`). One walk of
    %resource replaces the four `descendants()` the expression asks for each contained
    resource; a contained resource without an id never counts as unreferenced (the
    expression is empty for it).
    """
    focus = _fhirpathpy.make_node(facts.value, facts.focus_type, facts.element)
    contained = _navigation.member(model, [focus], "contained")
    if not contained:
        return [True]
    local_ids = [_local_id(model, node) for node in contained]
    if any(local_id is _UNUSUAL for local_id in local_ids):
        return None
    candidates = [
        (node, local_id) for node, local_id in zip(contained, local_ids, strict=True) if local_id is not None
    ]
    targets = _reference_targets(model, facts.resource, with_uris=r4) if candidates else set()
    for node, local_id in candidates:
        if f"#{local_id}" not in targets and not (r4 and _points_to_container(model, node)):
            return [False]
    return [True]


_UNUSUAL = object()  # an id the general evaluation would choke on: leave it to fhirpathpy


def _local_id(model: TypeModel, node: Any) -> Any:
    ids = _navigation.member(model, [node], "id")
    if not ids:
        return None
    return ids[0].data if len(ids) == 1 and type(ids[0].data) is str else _UNUSUAL


def _reference_targets(model: TypeModel, resource: Mapping[str, Any] | None, *, with_uris: bool) -> set[str]:
    if resource is None:
        return set()
    nodes = _navigation.descendants(model, [_navigation.to_node(resource)])
    targets = {ref.data for ref in _navigation.member(model, nodes, "reference") if type(ref.data) is str}
    if with_uris:
        targets.update(node.data for node in nodes if type(node.data) is str and _is_a(model, node, "uri"))
    return targets


def _points_to_container(model: TypeModel, contained: Any) -> bool:
    for node in _navigation.descendants(model, [contained]):
        references = _navigation.member(model, [node], "reference")
        if len(references) == 1 and _is_hash(references[0].data):
            return True
        if _is_hash(node.data) and _is_a(model, node, "canonical"):
            return True
    return False


def _is_hash(value: Any) -> bool:
    return type(value) is str and value == "#"


def _is_a(model: TypeModel, node: Any, type_name: str) -> bool:
    node_type = _navigation.fhir_type(node)
    return node_type is not None and type_name in model.ancestors(node_type)


def _dom_4(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    metas = _named(_contained(facts), "meta")
    return [not _named(metas, "versionId") and not _named(metas, "lastUpdated")]


def _dom_5(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    return [not _named(_named(_contained(facts), "meta"), "security")]


def _dom_6(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    has_narrative = bool(_named(_named(_focus(facts), "text"), "div"))
    if facts.root_resource is None:
        return [True] if has_narrative else []
    is_contained = facts.root_resource != facts.value
    return [is_contained or has_narrative]


# --- per-1, pat-1, ref-1 -----------------------------------------------------------


def _period_order(
    facts: FocusFacts, model: TypeModel, start: list[Pair], end: list[Pair]
) -> list[Any] | None:
    """`start <= end` on single start and end values, as the general comparison does it."""
    if len(start) != 1 or len(end) != 1:
        return None
    parent = _parent_type(facts)
    if parent is None or model.choices(parent, "start") or model.choices(parent, "end"):
        return None
    first = _fhirpathpy.make_node(start[0][0], model.child(parent, "start"), start[0][1])
    second = _fhirpathpy.make_node(end[0][0], model.child(parent, "end"), end[0][1])
    found = order(model, first, second)
    return [] if found is None else [found <= 0]


def _per_1_r4(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    focus = _focus(facts)
    start, end = _named(focus, "start"), _named(focus, "end")
    if not _has_value(start) or not _has_value(end):
        return [True]
    return _period_order(facts, model, start, end)


def _per_1_stu3(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    focus = _focus(facts)
    start, end = _named(focus, "start"), _named(focus, "end")
    if not start or not end:
        return [True]
    return _period_order(facts, model, start, end)


def _pat_1(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    focus = _focus(facts)
    return [any(_named(focus, name) for name in ("name", "telecom", "address", "organization"))]


def _ref_1(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    references = _named(_focus(facts), "reference")
    if not references:
        return [True]
    if len(references) != 1 or not isinstance(references[0][0], str):
        return None
    reference: str = references[0][0]
    if reference == "#" or not reference.startswith("#"):
        return [True]
    container: list[Pair] = [(facts.root_resource, None)] if facts.root_resource is not None else []
    ids = [pair[0] for pair in _named(_named(container, "contained"), "id")]
    return [reference[1:] in ids]


# --- narrative ---------------------------------------------------------------------


def _narrative_text(facts: FocusFacts) -> str | None:
    return facts.value if isinstance(facts.value, str) else None


def _txt_structure(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    text = _narrative_text(facts)
    return None if text is None else [xhtml.structure_ok(text)]


def _txt_content(facts: FocusFacts, model: TypeModel) -> list[Any] | None:
    text = _narrative_text(facts)
    return None if text is None else [xhtml.has_content(text)]


_DOM_3_R4 = (
    "contained.where((('#'+id in (%resource.descendants().reference | "
    "%resource.descendants().as(canonical) | %resource.descendants().as(uri) | "
    "%resource.descendants().as(url))) or descendants().where(reference = '#').exists() or "
    "descendants().where(as(canonical) = '#').exists() or "
    "descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()"
)
_REF_1 = (
    "reference.exists() implies (reference = '#' or reference.startsWith('#').not() or "
    "(reference.substring(1) in %rootResource.contained.id))"
)

_CORE_FAST_PATHS: Mapping[str, FastPath] = {
    "hasValue() or (children().count() > id.count())": _ele_1_r4,
    "hasValue() | (children().count() > id.count())": _ele_1_stu3,
    "extension.exists() != value.exists()": _ext_1,
    "contained.contained.empty()": _dom_2,
    _DOM_3_R4: _dom_3_r4,
    "contained.where(('#'+id in %resource.descendants().reference).not()).empty()": _dom_3_stu3,
    "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()": _dom_4,
    "contained.meta.security.empty()": _dom_5,
    "(%rootResource != $this) or text.`div`.exists()": _dom_6,
    "start.hasValue().not() or end.hasValue().not() or (start <= end)": _per_1_r4,
    "start.empty() or end.empty() or (start <= end)": _per_1_stu3,
    "name.exists() or telecom.exists() or address.exists() or organization.exists()": _pat_1,
    _REF_1: _ref_1,
    "htmlChecks()": _txt_structure,
    "htmlchecks()": _txt_structure,
    "htmlChecks2()": _txt_content,
}


# The hand-written ones above first; the simple invariants built from combinators after them.
FAST_PATHS: Mapping[str, FastPath] = {**SIMPLE_FAST_PATHS, **_CORE_FAST_PATHS}


def fast_path_for(text: str) -> FastPath | None:
    return FAST_PATHS.get(text)


# Expressions whose verdict on a plain JSON object follows from the object (and its type) alone, with no
# evaluation context: a function of the object and its focus type giving the verdict, or None where the
# fast path must decide. The validator asks this of every element (ele-1), so it is answered in one call.
ObjectVerdict = Callable[[Mapping[str, Any], "str | None"], "bool | None"]


def _without(name: str) -> ObjectVerdict:
    """True when the object has no `name` (nor `_name`): `name....empty()` holds; else None."""
    sibling = "_" + name

    def verdict(data: Mapping[str, Any], focus_type: str | None) -> bool | None:
        return True if name not in data and sibling not in data else None

    return verdict


def _ele_1_on_object(data: Mapping[str, Any], focus_type: str | None) -> bool | None:
    return _has_child_besides_id(data)  # what _ele_1_r4 asks first


def _ref_1_without_local_reference(data: Mapping[str, Any], focus_type: str | None) -> bool | None:
    """ref-1 holds at once for a Reference with no `reference`, or one that does not start with `#`.

    The cases `_ref_1` answers before it looks at the root's contained resources; None for the rest.
    """
    if "_reference" in data:
        return None
    reference = data.get("reference")
    if reference is None:
        return True
    if type(reference) is not str:
        return None
    return True if reference == "#" or not reference.startswith("#") else None


def _dom_6_with_narrative(data: Mapping[str, Any], focus_type: str | None) -> bool | None:
    """dom-6 holds for a resource whose narrative has a `div`, wherever the resource sits; else None."""
    text = data.get("text")
    if "_text" in data or type(text) is not dict or "_div" in text:
        return None
    return True if type(text.get("div")) is str else None


def _exists(child: Any) -> bool:
    """Does a JSON property with no `_name` sibling hold any item (a list of only nulls holds none)?"""
    return child is not None and (type(child) is not list or len(child) > child.count(None))


def _ext_1_on_extension(model: TypeModel) -> ObjectVerdict:
    """ext-1 on an Extension object: it has sub-extensions, or a value[x] (of a type Extension allows).

    Declines an object with `_name` siblings, a plain `value`, several value[x] properties or a resource's
    shape, and a focus that is not typed Extension (which value[x] names count depends on the type).
    """
    positions = model.choice_positions("Extension", "value")

    def verdict(data: Mapping[str, Any], focus_type: str | None) -> bool | None:
        if focus_type != "Extension" or "resourceType" in data or "value" in data:
            return None
        has_extensions = value_exists = False
        values = 0
        for key, child in data.items():
            if key[:1] == "_":
                return None
            if key == "extension":
                has_extensions = _exists(child)
            elif key in positions:
                values += 1
                value_exists = _exists(child)
        return None if values > 1 else has_extensions != value_exists

    return verdict


_EXT_1 = "extension.exists() != value.exists()"
_OBJECT_VERDICTS: Mapping[str, ObjectVerdict] = {
    "hasValue() or (children().count() > id.count())": _ele_1_on_object,
    # dom-2, dom-4, dom-5 on every resource: most have no contained resources
    "contained.contained.empty()": _without("contained"),
    "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()": _without("contained"),
    "contained.meta.security.empty()": _without("contained"),
    "(%rootResource != $this) or text.`div`.exists()": _dom_6_with_narrative,
    _REF_1: _ref_1_without_local_reference,
}
# Those that also need the type model (which value[x] names a type has).
_MODEL_OBJECT_VERDICTS: Mapping[str, Callable[[TypeModel], ObjectVerdict]] = {_EXT_1: _ext_1_on_extension}
# The hand-written object verdicts; every simple invariant (SIMPLE_FAST_PATHS) has one as well.
OBJECT_VERDICT_TEXTS = frozenset(_OBJECT_VERDICTS) | frozenset(_MODEL_OBJECT_VERDICTS)


def _holds_on_the_object(fast: FastPath, model: TypeModel) -> ObjectVerdict:
    """A simple invariant's own fast path (built from the combinators), asked of the object alone.

    Without the resource around it: a term that reads %resource declines, and nothing else in those
    terms reads the evaluation's context, so where it answers its answer is the full evaluation's. Only
    True is passed on (the walk then skips the evaluation); otherwise the full evaluation decides and
    reports, as before.
    """

    def verdict(data: Mapping[str, Any], focus_type: str | None) -> bool | None:
        try:
            result = fast(FocusFacts(data, None, focus_type, None, None), model)
        except Exception:  # as in CompiledExpression.holds: the full evaluation decides
            return None
        return True if result is not None and len(result) == 1 and result[0] is True else None

    return verdict


def object_verdict_for(text: str, model: TypeModel) -> ObjectVerdict | None:
    make = _MODEL_OBJECT_VERDICTS.get(text)
    if make is not None:
        return make(model)
    found = _OBJECT_VERDICTS.get(text)
    if found is not None:
        return found
    simple = SIMPLE_FAST_PATHS.get(text)
    return _holds_on_the_object(simple, model) if simple is not None else None
