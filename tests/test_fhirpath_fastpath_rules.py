"""The simple invariants computed by combinators give exactly what the general evaluation gives.

For each expression in the table, inputs are generated around the names it navigates: the
element types that have those children (read from the FHIR type model), children present,
absent, repeated, null inside lists, extension-only (`_name`), of the wrong JSON type, and
the choice forms (`valueQuantity`). The fast path must return the general evaluation's
collection, or both must fail; a fast path may decline (None), which the engine turns into
the general evaluation. On well-formed input (one value of the type the model gives each
child) the fast paths must decide almost always.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.fhirpath import FhirPathEngine, FhirPathError
from conformance.fhirpath._model import DATE_TYPES, PRIMITIVE_TYPES, TypeModel, model_for
from conformance.fhirpath.engine import _facts
from conformance.fhirpath.fastpath_rules import SIMPLE_FAST_PATHS
from conformance.fhirversion import FhirVersion

ENGINES = {version: FhirPathEngine(version) for version in FhirVersion}
TEXTS = sorted(SIMPLE_FAST_PATHS)
# Computed natively only in the common case (obs-7: an Observation without a value or without coded
# components); the rest is left to the general evaluation on purpose.
PARTLY_NATIVE = frozenset(
    {"value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"}
)

_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")
_WORD = re.compile(r"%?[A-Za-z_][A-Za-z0-9_]*")
_NOT_NAMES = frozenset(
    ("and", "or", "xor", "implies", "in", "exists", "empty", "hasValue", "not", "where", "all", "startsWith",
     "contains", "true", "false", "select", "isDistinct", "count", "allFalse", "intersect", "this", "is",
     "trace", "as")
)  # fmt: skip
_CHOICE_SUFFIXES = ("String", "Boolean", "Quantity", "DateTime", "Integer", "Decimal", "Reference", "Period")


def _literals(text: str) -> list[str]:
    return _LITERAL.findall(text)


def _names(text: str) -> list[str]:
    words = _WORD.findall(_LITERAL.sub("''", text))
    return sorted({word for word in words if word not in _NOT_NAMES and not word.startswith("%")})


def _first_steps(text: str) -> set[str]:
    """Names that start a path from the focus (not after a dot, not inside where(), all() or select())."""
    outer = re.sub(r"\b(where|all|select)\((?:[^()]|\([^()]*\))*\)", "", _LITERAL.sub("''", text))
    return {m.group(1) for m in re.finditer(r"(?<![.%\w])([A-Za-z_]\w*)(?!\s*\()", outer)} - _NOT_NAMES


@cache
def _contexts(text: str, version: FhirVersion) -> tuple[str, ...]:
    """Types and backbone paths that have every child the expression starts from."""
    known = _known_paths(version)
    steps = _first_steps(text)
    owners = {path.rsplit(".", 1)[0] for path in known}
    found = sorted(owner for owner in owners if steps and all(f"{owner}.{name}" in known for name in steps))
    return tuple(found)


@cache
def _known_paths(version: FhirVersion) -> frozenset[str]:
    """Every element path of the model, backbone elements included (the tables list only their children)."""
    raw = model_for(version).raw
    leaves = set(raw["path2Type"]) | set(raw["choiceTypePaths"])
    prefixes = {path[:index] for path in leaves for index, char in enumerate(path) if char == "."}
    return frozenset(leaves | prefixes)


_COMPARED = re.compile(r"(?<![.%\w])(\w+)\s*(?:!=|>=|<=|=|>|<|\bin\b|\.startsWith|\.contains)")
_SELECTED = re.compile(
    r"(?<![.%\w])([\w.]+?)\.select\((\w+)\)\.isDistinct|(?<![.%\w])([\w.]+?)\.(?:trace\('\w+'\)\.)?isDistinct"
)


def _typed_contexts(text: str, version: FhirVersion) -> tuple[str, ...]:
    """The contexts where each value compared with a literal or checked for distinct values is a primitive."""
    model = model_for(version)
    bare = _LITERAL.sub("''", text)
    paths = [[name] for name in _COMPARED.findall(bare)]
    for outer, inner, whole in _SELECTED.findall(bare):
        paths.append([*outer.split("."), inner] if inner else whole.split("."))
    return tuple(
        owner for owner in _contexts(text, version) if all(_is_primitive(model, owner, p) for p in paths)
    )


def _is_primitive(model: TypeModel, owner: str, names: list[str]) -> bool:
    type_name = owner
    for name in names:
        if model.choices(type_name, name):
            return True  # a choice may be of any type: not a well-formed-input question
        type_name = model.child(type_name, name)
    return type_name in PRIMITIVE_TYPES


def _keys(text: str) -> list[str]:
    names = _names(text)
    keys = [*names, *(f"_{name}" for name in names), "id", "extension", "resourceType"]
    keys += [f"{name}{suffix}" for name in ("value", "abatement", "defaultValue") if name in names
             for suffix in _CHOICE_SUFFIXES]  # fmt: skip
    return keys


def _scalars(text: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-2, 2),
        st.sampled_from([Decimal("0"), Decimal("1.5"), Decimal("-3"), 1.5]),
        st.sampled_from(
            ["", "x", "2020-01-01", "http://unitsofmeasure.org", "a/_history/1", *_literals(text)]
        ),
    )


def _json(text: str) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(_keys(text))
    return st.recursive(
        _scalars(text),
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=5)
        ),
        max_leaves=20,
    )


def _outcome(function: Any, focus: Any, **arguments: Any) -> tuple[str, Any]:
    try:
        return "value", function(focus, **arguments)
    except FhirPathError:
        return "error", None


@pytest.mark.parametrize("text", TEXTS)
@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_simple_fast_path_agrees_with_the_general_evaluation(text: str, data: st.DataObject) -> None:
    version = data.draw(st.sampled_from(list(FhirVersion)))
    focus_type = data.draw(st.sampled_from([None, "Element", *_contexts(text, version)]))
    focus = data.draw(
        st.one_of(st.dictionaries(st.sampled_from(_keys(text)), _json(text), max_size=6), _json(text))
    )
    resource = data.draw(
        st.one_of(st.none(), st.dictionaries(st.sampled_from(_keys(text)), _json(text), max_size=4))
    )
    if resource is not None:
        resource["resourceType"] = "Bundle"
    compiled = ENGINES[version].compile(text)
    assert compiled.is_fast
    arguments = {"focus_type": focus_type, "resource": resource, "root_resource": resource}
    assert _outcome(compiled.evaluate, focus, **arguments) == _outcome(
        compiled.evaluate_general, focus, **arguments
    )


def _well_formed(model: TypeModel, type_name: str, names: list[str], literals: list[str], depth: int) -> Any:
    """One value of the type the model gives: literals for codes, nested objects for complex types."""
    if type_name == "boolean":
        return st.booleans()
    if type_name in ("decimal", "integer", "positiveInt", "unsignedInt"):
        return st.integers(0, 3).map(Decimal)
    if type_name in DATE_TYPES:
        return st.just("2020-01-01")
    if type_name in PRIMITIVE_TYPES or depth > 2:
        return st.sampled_from([*literals, "text"])
    children = {
        name: _well_formed(model, model.child(type_name, name), names, literals, depth + 1)
        for name in names
        if _has_child(model, type_name, name) and not model.choices(type_name, name)
    }
    return st.fixed_dictionaries({}, optional=children)


def _has_child(model: TypeModel, type_name: str, name: str) -> bool:
    """Does the type (or a base type) define this child? Well-formed input has no other names."""
    version = next(version for version in FhirVersion if model_for(version) is model)
    known = _known_paths(version)
    owners = (type_name,) if "." in type_name else model.ancestors(type_name)
    return any(f"{owner}.{name}" in known or f"{owner}.{name}" in model.raw["pathsDefinedElsewhere"]
               for owner in owners)  # fmt: skip


def _well_formed_cases(text: str) -> st.SearchStrategy[tuple[FhirVersion, str, Any]]:
    """(version, focus type, focus) triples for the contexts where the expression's names are typed."""
    cases = [
        st.tuples(st.just(version), st.just(focus_type), _well_formed(model_for(version), focus_type,
                                                                      _names(text), _literals(text), 0))
        for version in FhirVersion
        for focus_type in _typed_contexts(text, version)[:3]
    ]  # fmt: skip
    return st.one_of(cases) if cases else st.nothing()


@pytest.mark.parametrize(
    "text",
    [
        text
        for text in TEXTS
        if text not in PARTLY_NATIVE and any(_typed_contexts(text, v) for v in FhirVersion)
    ],
)
def test_simple_fast_path_decides_on_well_formed_input(text: str) -> None:
    outcomes: list[bool] = []
    resource = {"resourceType": "Bundle", "type": "collection"}

    @settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=_well_formed_cases(text))
    def decide(case: tuple[FhirVersion, str, Any]) -> None:
        version, focus_type, focus = case
        facts = _facts(focus, resource, resource, focus_type)
        outcomes.append(SIMPLE_FAST_PATHS[text](facts, model_for(version)) is not None)

    decide()
    assert outcomes.count(False) <= len(outcomes) // 20, (
        f"{outcomes.count(False)} of {len(outcomes)} declined"
    )


@pytest.mark.parametrize(
    ("text", "focus", "expected"),
    [
        ("value.empty() or system.exists()", {"value": "1"}, [False]),
        ("value.empty() or system.exists()", {"_value": {"extension": [{"url": "u"}]}}, [False]),
        ("value.empty() or system.exists()", {"value": "1", "system": "phone"}, [True]),
        ("dataAbsentReason.empty() or value.empty()", {"dataAbsentReason": {}, "valueQuantity": {"value": 1}},
         [False]),
        ("period.exists() implies period >= 0", {"period": Decimal("-1")}, [False]),
        ("start.exists() = end.exists()", {"start": "2020"}, [False]),
        ("total.empty() or (type = 'searchset') or (type = 'history')", {"total": 1}, []),
        ("total.empty() or (type = 'searchset') or (type = 'history')", {"total": 1, "type": "batch"},
         [False]),
    ],
)  # fmt: skip
def test_simple_fast_path_examples(text: str, focus: Any, expected: list[Any]) -> None:
    focus_type = "Observation" if "dataAbsentReason" in text else "Bundle" if "total" in text else "Element"
    if "period" in text:
        focus_type = "Timing.repeat"
    compiled = ENGINES[FhirVersion.R4].compile(text)
    assert compiled.evaluate(focus, focus_type=focus_type) == expected
    assert compiled.evaluate_general(focus, focus_type=focus_type) == expected


OBS_7_STU3 = "value.empty() or (code in component.code).not()"
CON_4_STU3 = (
    "abatement.empty() or (abatement is boolean).not() or (abatement as boolean).not() or "
    "clinicalStatus='resolved' or clinicalStatus='remission' or clinicalStatus='inactive'"
)
_PAIN = {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]}


@pytest.mark.parametrize(
    ("text", "focus", "expected"),
    [
        (OBS_7_STU3, {"resourceType": "Observation", "valueString": "x", "code": _PAIN,
                      "component": [{"code": {"text": "other"}}, {"code": _PAIN}]}, [False]),
        (OBS_7_STU3, {"resourceType": "Observation", "valueString": "x", "code": _PAIN,
                      "component": [{"code": {"text": "other"}}]}, [True]),
        (OBS_7_STU3, {"resourceType": "Observation", "valueString": "x", "component": [{"code": _PAIN}]}, []),
        (CON_4_STU3, {"resourceType": "Condition", "abatementBoolean": True, "clinicalStatus": "active"},
         [False]),
        (CON_4_STU3, {"resourceType": "Condition", "abatementBoolean": False, "clinicalStatus": "active"},
         [True]),
        (CON_4_STU3, {"resourceType": "Condition", "abatementBoolean": True, "clinicalStatus": "resolved"},
         [True]),
        (CON_4_STU3, {"resourceType": "Condition", "abatementString": "x", "clinicalStatus": "active"},
         [True]),
    ],
)  # fmt: skip
def test_stu3_type_and_membership_examples(text: str, focus: Any, expected: list[Any]) -> None:
    compiled = ENGINES[FhirVersion.STU3].compile(text)
    assert compiled.evaluate(focus) == expected
    assert compiled.evaluate_general(focus) == expected


def _bundle(entries: list[dict[str, Any]], bundle_type: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries}


BDL_7 = (
    "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()"
)
BDL_3 = (
    "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or "
    "%resource.type = 'history'))"
)


@pytest.mark.parametrize(
    ("text", "bundle", "expected"),
    [
        (BDL_7, _bundle([{"fullUrl": "urn:uuid:1"}, {"fullUrl": "urn:uuid:2"}]), [True]),
        (BDL_7, _bundle([{"fullUrl": "urn:uuid:1"}, {"fullUrl": "urn:uuid:1"}]), [False]),
        (BDL_7, _bundle([{"fullUrl": "urn:uuid:1"}, {"fullUrl": "urn:uuid:1"}], "history"), [True]),
        (BDL_7, _bundle([{"fullUrl": "a", "resource": {"resourceType": "Basic", "meta": {"versionId": v}}}
                         for v in ("1", "2")]), [True]),
        (BDL_3, _bundle([{"fullUrl": "a"}, {"fullUrl": "b", "request": {"method": "GET"}}]), [False]),
        (BDL_3, _bundle([{"request": {"method": "GET"}}], "batch"), [True]),
    ],
)  # fmt: skip
def test_bundle_invariants_on_written_cases(text: str, bundle: dict[str, Any], expected: list[Any]) -> None:
    compiled = ENGINES[FhirVersion.R4].compile(text)
    assert compiled.evaluate(bundle) == expected
    assert compiled.evaluate_general(bundle) == expected


def test_bundle_invariants_stay_native_on_a_large_bundle() -> None:
    """bdl-3 and bdl-7 over 5,000 entries answer without the general evaluation (which compares pairs)."""
    entries = [
        {"fullUrl": f"urn:uuid:{index}", "resource": {"resourceType": "Basic"}} for index in range(5000)
    ]
    bundle = _bundle(entries)
    facts = _facts(bundle, None, None, None)
    model = model_for(FhirVersion.R4)
    assert SIMPLE_FAST_PATHS[BDL_7](facts, model) == [True]
    assert SIMPLE_FAST_PATHS[BDL_3](facts, model) == [True]
    duplicated = _bundle([*entries, entries[0]])
    assert SIMPLE_FAST_PATHS[BDL_7](_facts(duplicated, None, None, None), model) == [False]
