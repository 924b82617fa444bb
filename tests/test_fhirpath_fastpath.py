"""The native fast paths give exactly what fhirpathpy gives, on many generated inputs.

Inputs are JSON shapes built from the names these invariants look at (plus noise):
well-formed elements, primitives with `_name` siblings, nulls inside lists, lists where
single values belong, values of the wrong JSON type. For each, the fast path and the
general evaluation must return the same collection, or both raise FhirPathError.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.fhirpath import FhirPathEngine, FhirPathError, Primitive
from conformance.fhirpath.fastpath import FAST_PATHS, OBJECT_VERDICT_TEXTS
from conformance.fhirpath.fastpath_rules import SIMPLE_FAST_PATHS
from conformance.fhirversion import FhirVersion

ENGINES = {version: FhirPathEngine(version) for version in FhirVersion}

NAMES = [
    "id", "extension", "url", "valueString", "valueBoolean", "valueQuantity", "valueFoo", "value",
    "start", "end", "reference", "display", "contained", "meta", "versionId", "lastUpdated", "security",
    "text", "div", "name", "telecom", "address", "organization", "resourceType", "fhir_comments", "",
]  # fmt: skip
DATES = [
    "2020", "2020-01", "2020-01-01", "2020-01-01T10:00:00Z", "2020-01-01T10:00:00+01:00",
    "2019-12-31T23:59:59.5Z", "2020-13-45", "T10:00", "not a date",
]  # fmt: skip
STRINGS = ["", "#", "#a", "#b", "a", "Patient/1", *DATES, '<div xmlns="http://www.w3.org/1999/xhtml">x</div>']

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([Decimal("1.5"), Decimal("0")]),
    st.sampled_from(STRINGS),
)


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(NAMES).flatmap(lambda name: st.sampled_from([name, f"_{name}"]))
    return st.dictionaries(keys, children, max_size=6)


json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=3), _objects(children)),
    max_leaves=25,
)
resources = _objects(json_values).map(lambda data: {**data, "resourceType": "Patient"})
element_focus = st.one_of(
    _objects(json_values),
    resources,
    scalars,
    st.builds(Primitive, scalars, st.one_of(st.none(), _objects(json_values))),
)
focus_types = st.sampled_from(
    [None, "Element", "Extension", "Period", "Reference", "Identifier", "Patient.contact", "string",
     "dateTime", "Narrative", "xhtml", "Patient", "Quantity"]
)  # fmt: skip

# Resources whose contained resources do and do not reference each other (dom-3).
local_refs = st.sampled_from(["#a", "#b", "#", "#c", "a", "Patient/1", ""])
referring = st.one_of(
    st.fixed_dictionaries({"reference": local_refs}),
    st.fixed_dictionaries({"url": st.just("u"), "valueCanonical": local_refs}),
    st.fixed_dictionaries({"url": st.just("u"), "valueUri": local_refs}),
    st.fixed_dictionaries({"url": st.just("u"), "valueString": local_refs}),
)
contained_resources = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Organization", "Practitioner", "Basic"])},
    optional={
        "id": st.sampled_from(["a", "b", "c", "", 7]),
        "extension": st.lists(referring.filter(lambda item: "url" in item), max_size=2),
        "partOf": referring.filter(lambda item: "reference" in item),
        "contained": st.lists(
            st.fixed_dictionaries({"resourceType": st.just("Basic"), "id": st.just("d")}), max_size=1
        ),
    },
)
containers = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(["Patient", "Observation"]),
        "contained": st.lists(contained_resources, max_size=3),
    },
    optional={
        "managingOrganization": referring.filter(lambda item: "reference" in item),
        "extension": st.lists(referring.filter(lambda item: "url" in item), max_size=2),
        "identifier": st.lists(st.fixed_dictionaries({"system": local_refs}), max_size=1),
    },
)

# The hand-written fast paths; the combinator-built ones have their own tests (test_fhirpath_fastpath_rules).
FAST_TEXTS = sorted(set(FAST_PATHS) - set(SIMPLE_FAST_PATHS))
ELE_1 = "hasValue() or (children().count() > id.count())"
EXT_1 = "extension.exists() != value.exists()"


def _outcome(function: Any, focus: Any, **arguments: Any) -> tuple[str, Any]:
    try:
        return "value", function(focus, **arguments)
    except FhirPathError:
        return "error", None


@pytest.mark.parametrize("version", list(FhirVersion), ids=str)
@pytest.mark.parametrize("text", FAST_TEXTS)
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(focus=element_focus, focus_type=focus_types, root=st.one_of(st.none(), resources))
def test_fast_path_agrees_with_fhirpathpy(
    version: FhirVersion, text: str, focus: Any, focus_type: str | None, root: dict[str, Any] | None
) -> None:
    compiled = ENGINES[version].compile(text)
    assert compiled.is_fast
    arguments = {"focus_type": focus_type, "resource": root, "root_resource": root}
    assert _outcome(compiled.evaluate, focus, **arguments) == _outcome(
        compiled.evaluate_general, focus, **arguments
    )


OBJECT_TEXTS = sorted(OBJECT_VERDICT_TEXTS)
# Extensions as payloads have them (simple, complex, with both or neither), and the odd shapes.
extension_values = st.one_of(
    scalars, st.lists(st.one_of(st.none(), st.sampled_from(STRINGS)), max_size=2), _objects(scalars)
)
extensions = st.fixed_dictionaries(
    {"url": st.sampled_from(["http://example.org/a", 1])},
    optional={
        "extension": st.one_of(st.none(), st.lists(st.one_of(st.none(), _objects(scalars)), max_size=2)),
        "valueString": extension_values,
        "valueQuantity": extension_values,
        "valueCodeableConcept": extension_values,
        "valueFoo": extension_values,
        "value": extension_values,
        "id": st.sampled_from(["a", ""]),
        "_valueString": _objects(scalars),
    },
)


def _assert_object_verdict_agrees(
    version: FhirVersion, text: str, focus: dict[str, Any], focus_type: str | None
) -> bool | None:
    compiled = ENGINES[version].compile(text)
    assert compiled.object_verdict is not None
    quick = compiled.object_verdict(focus, focus_type)
    if quick is not None:
        general = compiled.evaluate_general(focus, focus_type=focus_type, resource=focus, root_resource=focus)
        assert general == [quick]
    return quick


@pytest.mark.parametrize("version", list(FhirVersion), ids=str)
@pytest.mark.parametrize("text", OBJECT_TEXTS)
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(focus=st.one_of(_objects(json_values), resources, containers, extensions), focus_type=focus_types)
def test_object_verdict_is_the_general_evaluations_where_it_answers(
    version: FhirVersion, text: str, focus: dict[str, Any], focus_type: str | None
) -> None:
    _assert_object_verdict_agrees(version, text, focus, focus_type)


@pytest.mark.parametrize("version", list(FhirVersion), ids=str)
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(focus=extensions)
def test_ext_1_object_verdict_on_extensions_is_the_general_evaluations(
    version: FhirVersion, focus: dict[str, Any]
) -> None:
    _assert_object_verdict_agrees(version, EXT_1, focus, "Extension")


def test_ext_1_object_verdict_answers_simple_and_complex_extensions_only_when_typed_extension() -> None:
    verdict = ENGINES[FhirVersion.R4].compile(EXT_1).object_verdict
    assert verdict is not None
    simple = {"url": "u", "valueString": "x"}
    assert verdict(simple, "Extension") is True
    assert verdict({"url": "u", "extension": [{"url": "a", "valueCode": "b"}]}, "Extension") is True
    assert verdict({"url": "u", "extension": [{"url": "a"}], "valueString": "x"}, "Extension") is False
    assert verdict({"url": "u"}, "Extension") is False
    assert verdict(simple, None) is None and verdict(simple, "Period") is None
    assert verdict({"url": "u", "_valueString": {"id": "a"}}, "Extension") is None
    assert verdict({"url": "u", "valueString": "x", "valueCode": "y"}, "Extension") is None


def test_dom_6_object_verdict_answers_a_resource_with_a_narrative_div_only() -> None:
    verdict = ENGINES[FhirVersion.R4].compile("text.`div`.exists()", key="dom-6").object_verdict
    assert verdict is not None
    div = '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'
    narrated = {"resourceType": "Patient", "text": {"status": "generated", "div": div}}
    assert verdict(narrated, "Patient") is True
    assert verdict({"resourceType": "Patient"}, "Patient") is None
    assert verdict({"resourceType": "Patient", "text": {"status": "empty"}}, "Patient") is None


def test_ele_1_object_verdict_answers_every_object_without_sibling_keys() -> None:
    verdict = ENGINES[FhirVersion.R4].compile(ELE_1).object_verdict
    assert verdict is not None
    assert verdict({"id": "a"}, None) is False and verdict({"id": "a", "text": "t"}, None) is True
    assert verdict({"_text": {"id": "b"}}, None) is None


def test_only_expressions_decided_by_the_object_alone_have_an_object_verdict() -> None:
    engine = ENGINES[FhirVersion.R4]
    per_1 = "start.hasValue().not() or end.hasValue().not() or (start <= end)"  # needs a value's type
    assert engine.compile(per_1).object_verdict is None
    assert FhirPathEngine(FhirVersion.R4, fast_paths=False).compile(ELE_1).object_verdict is None


@pytest.mark.parametrize("version", list(FhirVersion), ids=str)
@pytest.mark.parametrize("text", FAST_TEXTS)
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(resource=resources)
def test_fast_path_agrees_on_resources_as_their_own_root(
    version: FhirVersion, text: str, resource: Any
) -> None:
    compiled = ENGINES[version].compile(text)
    assert _outcome(compiled.evaluate, resource) == _outcome(compiled.evaluate_general, resource)


@pytest.mark.parametrize("version", list(FhirVersion), ids=str)
@pytest.mark.parametrize("text", [text for text in FAST_TEXTS if text.startswith("contained.")])
@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(resource=containers)
def test_fast_path_agrees_on_contained_resources(version: FhirVersion, text: str, resource: Any) -> None:
    compiled = ENGINES[version].compile(text)
    assert _outcome(compiled.evaluate, resource) == _outcome(compiled.evaluate_general, resource)


@pytest.mark.parametrize(
    ("text", "focus", "focus_type", "expected"),
    [
        (ELE_1, "x", "string", [True]),
        (ELE_1, "", "string", [False]),
        (ELE_1, {"id": "a"}, "Identifier", [False]),
        (ELE_1, {"id": "a", "value": None}, "Identifier", [False]),
        (ELE_1, {"_value": {"id": "v"}}, "Identifier", [True]),
        (ELE_1, Primitive(None, {"id": "a"}), "string", [False]),
        (EXT_1, {"url": "u"}, "Extension", [False]),
        (EXT_1, {"url": "u", "valueBoolean": False}, "Extension", [True]),
        (EXT_1, {"url": "u", "_valueCode": {"id": "c"}}, "Extension", [True]),
        ("start.hasValue().not() or end.hasValue().not() or (start <= end)",
         {"start": "2020", "end": "2020-06"}, "Period", []),
    ],
)  # fmt: skip
def test_fast_path_examples(text: str, focus: Any, focus_type: str, expected: list[Any]) -> None:
    compiled = ENGINES[FhirVersion.R4].compile(text)
    assert compiled.is_fast
    assert compiled.evaluate(focus, focus_type=focus_type) == expected
    assert compiled.evaluate_general(focus, focus_type=focus_type) == expected


@pytest.mark.parametrize("text", [text for text in FAST_TEXTS if text.startswith("contained.where")])
def test_dom_3_fast_path_on_written_cases(text: str) -> None:
    compiled = ENGINES[FhirVersion.R4].compile(text)
    referenced = {"resourceType": "Patient", "contained": [{"resourceType": "Basic", "id": "a"}],
                  "managingOrganization": {"reference": "#a"}}  # fmt: skip
    orphan = {"resourceType": "Patient", "contained": [{"resourceType": "Basic", "id": "a"}]}
    without_id = {"resourceType": "Patient", "contained": [{"resourceType": "Basic"}]}
    odd_id = {"resourceType": "Patient", "contained": [{"resourceType": "Basic", "id": 7}]}
    assert compiled.evaluate(referenced) == compiled.evaluate_general(referenced) == [True]
    assert compiled.evaluate(orphan) == compiled.evaluate_general(orphan) == [False]
    assert compiled.evaluate(without_id) == compiled.evaluate_general(without_id) == [True]
    assert (
        _outcome(compiled.evaluate, odd_id) == _outcome(compiled.evaluate_general, odd_id) == ("error", None)
    )


def test_every_fast_path_text_compiles_in_a_version_that_publishes_it() -> None:
    for text in FAST_PATHS:
        assert any(ENGINES[version].compile(text).is_fast for version in FhirVersion)


def test_input_a_fast_path_did_not_foresee_goes_to_the_general_evaluation() -> None:
    compiled = ENGINES[FhirVersion.R4].compile(ELE_1)
    with pytest.raises(FhirPathError):
        compiled.evaluate({1: "a key that is not text"}, focus_type="Identifier")


def test_fast_paths_can_be_switched_off() -> None:
    engine = FhirPathEngine(FhirVersion.R4, fast_paths=False)
    compiled = engine.compile(ELE_1)
    assert not compiled.is_fast
    assert compiled.evaluate({"id": "a"}, focus_type="Identifier") == [False]


SIMPLE_TEXTS = sorted(SIMPLE_FAST_PATHS)
_NOT_NAMES = {"and", "or", "xor", "implies", "not", "empty", "exists", "hasValue", "in", "where", "count"}


def _objects_named_from(text: str) -> st.SearchStrategy[dict[str, Any]]:
    """Objects whose keys are the names the expression reads (with their `_name` siblings)."""
    names = sorted(set(re.findall(r"\b[a-z][A-Za-z]*\b", text)) - _NOT_NAMES) or ["id"]
    keys = st.sampled_from([*names, *(f"_{name}" for name in names), "id", "valueQuantity"])
    return st.dictionaries(keys, json_values, max_size=5)


@pytest.mark.parametrize("text", SIMPLE_TEXTS)
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), focus_type=focus_types)
def test_a_simple_invariant_holds_on_the_object_only_where_the_evaluation_says_so(
    text: str, data: st.DataObject, focus_type: str | None
) -> None:
    focus = data.draw(st.one_of(_objects_named_from(text), _objects(json_values)))
    compiled = ENGINES[FhirVersion.R4].compile(text)
    assert compiled.object_verdict is not None
    quick = compiled.object_verdict(focus, focus_type)
    assert quick in (True, None)
    if quick:
        assert compiled.evaluate_general(
            focus, focus_type=focus_type, resource=focus, root_resource=focus
        ) == [True]


def test_a_simple_invariant_answers_on_the_object_where_it_can() -> None:
    verdict = ENGINES[FhirVersion.R4].compile("value.empty() or system.exists()").object_verdict
    assert verdict is not None
    assert verdict({"use": "home"}, "ContactPoint") is True
    assert verdict({"value": "1", "system": "phone"}, "ContactPoint") is True
    assert verdict({"value": "1"}, "ContactPoint") is None  # fails: the full evaluation reports it
    # bdl-3 reads %resource for each entry: without the resource around the object it declines
    bdl_3 = next(text for text in SIMPLE_TEXTS if text.startswith("entry.all(request.exists() = (%resource"))
    held = ENGINES[FhirVersion.R4].compile(bdl_3).object_verdict
    assert held is not None
    assert held({"entry": [{"request": {"method": "GET"}}]}, "Bundle") is None
    assert held({}, "Bundle") is True  # no entry: it holds before %resource is read
