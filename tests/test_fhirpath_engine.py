"""The FHIRPath adapter on small, hand-written inputs: API, FHIR semantics, hostile input."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from conformance.errors import ConformanceError
from conformance.fhirpath import (
    FhirPathEngine,
    FhirPathError,
    Hooks,
    Primitive,
    ResolveScope,
    result_is_true,
)
from conformance.fhirversion import FhirVersion

R4 = FhirPathEngine(FhirVersion.R4)
STU3 = FhirPathEngine(FhirVersion.STU3)

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "active": False,
    "name": [{"family": "Smith", "given": ["Ann", "Marie"]}, {"family": "Jones"}],
    "birthDate": "1970-03-04",
    "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                  "valueDateTime": "1970-03-04T09:05:00Z"}]},
    "deceasedBoolean": False,
    "multipleBirthInteger": 2,
    "contained": [{"resourceType": "Organization", "id": "org1", "name": "Surgery"}],
    "managingOrganization": {"reference": "#org1"},
}  # fmt: skip


def run(text: str, focus: Any = PATIENT, engine: FhirPathEngine = R4, **kwargs: Any) -> list[Any]:
    return engine.compile(text).evaluate(focus, **kwargs)


# --- compiling ---------------------------------------------------------------------


def test_compile_is_cached_by_text() -> None:
    assert R4.compile("name.given") is R4.compile("name.given")
    assert R4.compile("name.given", key="a") is R4.compile("name.given", key="b")
    assert R4.compile("htmlChecks()", key="txt-2") is not R4.compile("htmlChecks()", key="txt-1")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name given", "syntax error"),
        ("name.(", "syntax error"),
        ("name.where(", "syntax error"),
        ("'unterminated", "syntax error"),
        ("name.given[", "syntax error"),
        ("", "empty"),
        ("   ", "empty"),
        ("name.fooBar()", "unknown FHIRPath function fooBar()"),
        ("name.where()", "takes 1 parameter(s), got 0"),
        ("substring(1, 2, 3)", "takes 1 or 2 parameter(s)"),
        ("hasTemplateIdOf('x')", "not supported"),
        ("lowBoundary()", "not supported"),
        ("%nonsense = 1", "unknown FHIRPath variable %nonsense"),
    ],
)
def test_compile_rejects_what_it_cannot_run(text: str, reason: str) -> None:
    with pytest.raises(FhirPathError, match=re.escape(reason)) as caught:
        R4.compile(text)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ConformanceError)


def test_hostile_expressions_are_refused_not_crashing() -> None:
    with pytest.raises(FhirPathError, match="longer than"):
        R4.compile("a" * 30_000)
    with pytest.raises(FhirPathError):
        R4.compile("(" * 3000 + "1" + ")" * 3000)
    with pytest.raises(FhirPathError):
        R4.compile("name.\x00given")


@pytest.mark.parametrize(
    "text", ["%ucum", "%sct", "%loinc", "%`vs-administrative-gender`", "%'ext-patient-birthTime'"]
)
def test_known_variables(text: str) -> None:
    value = run(text)
    assert len(value) == 1
    assert value[0].startswith("http")


def test_valueset_and_extension_shorthands() -> None:
    assert run("%`vs-administrative-gender`") == ["http://hl7.org/fhir/ValueSet/administrative-gender"]
    assert run("%`ext-patient-birthTime`") == ["http://hl7.org/fhir/StructureDefinition/patient-birthTime"]


# --- navigation --------------------------------------------------------------------


def test_paths_lists_and_type_prefix() -> None:
    assert run("name.given") == ["Ann", "Marie"]
    assert run("Patient.name.family") == ["Smith", "Jones"]
    assert run("Observation.status") == []
    assert run("name[1].family") == ["Jones"]


def test_choice_elements_by_their_base_name() -> None:
    assert run("deceased") == [False]
    assert run("multipleBirth") == [2]
    assert run("deceased is boolean") == [True]
    assert run("multipleBirth is integer") == [True]
    observation = {"resourceType": "Observation", "valueQuantity": {"value": Decimal("5.5"), "code": "kg"}}
    assert run("value.value", observation) == [Decimal("5.5")]
    assert run("value.ofType(Quantity).code", observation) == ["kg"]
    assert run("value.ofType(string)", observation) == []
    assert run("value is Quantity", observation) == [True]


def test_choice_elements_inside_datatypes_use_the_focus_type() -> None:
    extension = {"url": "http://example.org/x", "valueCodeableConcept": {"text": "t"}}
    assert run("value.text", extension, focus_type="Extension") == ["t"]
    assert run("value is CodeableConcept", extension, focus_type="Extension") == [True]
    # without a type, a choice element cannot be recognised by its base name
    assert run("value", extension) == []


def test_primitive_and_its_extensions_are_one_node() -> None:
    assert run("birthDate.count()") == [1]
    assert run("birthDate.extension.value") == ["1970-03-04T09:05:00Z"]
    assert run(
        "birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').exists()"
    ) == [True]
    (result,) = run("birthDate")
    assert result == Primitive("1970-03-04", PATIENT["_birthDate"])


def test_repeating_primitives_with_nulls_keep_their_extensions_in_place() -> None:
    name = {
        "given": ["Ann", None, "Marie"],
        "_given": [None, {"extension": [{"url": "q", "valueCode": "CL"}]}, None],
    }
    assert run("given.count()", name, focus_type="HumanName") == [3]
    assert run("given.hasValue()", name, focus_type="HumanName") == [False]  # three items
    assert run("given[1].extension.value", name, focus_type="HumanName") == ["CL"]
    assert run("given[1].hasValue()", name, focus_type="HumanName") == [False]
    assert run("given[2].hasValue()", name, focus_type="HumanName") == [True]


def test_primitive_focus_with_extensions() -> None:
    focus = Primitive(None, {"id": "a", "extension": [{"url": "u", "valueString": "s"}]})
    assert run("hasValue()", focus, focus_type="date") == [False]
    assert run("children().count()", focus, focus_type="date") == [2]
    assert run("id", focus, focus_type="date") == ["a"]
    assert run("hasValue()", "1970", focus_type="date") == [True]
    assert run("getValue()", "1970", focus_type="date") == ["1970"]
    assert run("getValue()", focus, focus_type="date") == []


def test_children_and_descendants_skip_resource_type_and_merge_siblings() -> None:
    assert run("children().count()", {"resourceType": "Basic", "id": "x", "_language": {"id": "l"}}) == [2]
    assert run("descendants().count()") == [19]
    assert run("descendants().where($this = 'Surgery').exists()") == [True]


def test_extension_function_returns_every_match() -> None:
    focus = {
        "extension": [{"url": "a", "valueString": "1"}, {"url": "b"}, {"url": "a", "valueString": "2"}, {}]
    }
    assert run("extension('a').value", focus, focus_type="Element") == ["1", "2"]
    assert run("extension('missing')", focus, focus_type="Element") == []


def test_malformed_json_shapes_do_not_crash_navigation() -> None:
    weird = {
        "resourceType": "Patient",
        "name": "not-a-list",
        "contact": [None, 3, "x", {}],
        "_gender": [1, 2],
    }
    assert run("name.family", weird) == []
    assert run("contact.count()", weird) == [3]
    assert run("children().count()", weird) == [6]


# --- logic and comparisons ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true and {}", []),
        ("false and {}", [False]),
        ("{} and false", [False]),
        ("true or {}", [True]),
        ("{} or true", [True]),
        ("false or {}", []),
        ("{} implies false", []),
        ("false implies {}", [True]),
        ("{} implies true", [True]),
        ("true xor false", [True]),
        ("true xor {}", []),
        ("'text' and true", [True]),  # a single non-boolean item counts as true
        ("name.family.exists() and true", [True]),
        ("{}.not()", []),
        ("'text'.not()", [False]),
        ("active.not()", [True]),
    ],
)
def test_three_valued_logic(text: str, expected: list[Any]) -> None:
    assert run(text) == expected


def test_boolean_operator_on_several_items_is_an_error() -> None:
    with pytest.raises(FhirPathError, match="single boolean"):
        run("name.family and true")
    with pytest.raises(FhirPathError, match="single boolean"):
        run("name.family.not()")


def test_right_operand_is_skipped_when_the_left_decides() -> None:
    # the right side would fail (a boolean operator on two names), but is never needed
    assert run("false and (name.family and true)") == [False]
    assert run("true or (name.family and true)") == [True]
    assert run("false implies (name.family and true)") == [True]


def test_where_exists_and_all_read_criteria_as_booleans() -> None:
    assert run("name.where(family = 'Jones').count()") == [1]
    assert run("active.where($this).exists()") == [False]  # false is false, not "an item"
    assert run("name.exists(family = 'Smith')") == [True]
    assert run("name.all(family.exists())") == [True]
    assert run("name.all(given.exists())") == [False]


@pytest.mark.parametrize(
    ("left", "operator", "right", "expected"),
    [
        ("2020-01-01", "<", "2020-01-02", [True]),
        ("2020-01", "<", "2020-02-15", [True]),
        ("2020-01-01", "<=", "2020-01-01T10:00:00Z", []),  # same day, different precision
        ("2020-01-01T10:00:00+02:00", "<", "2020-01-01T09:00:00Z", [True]),
        ("2020-01-01T10:00:00+02:00", "=", "2020-01-01T08:00:00Z", [True]),
        ("2020-01-01T10:00:00.000Z", "=", "2020-01-01T10:00:00Z", [True]),
        ("2020-01-01T23:30:00-01:00", ">", "2020-01-02T00:00:00Z", [True]),
        ("2020", "=", "2020-01", []),
        ("2019", "=", "2020-01", [False]),
    ],
)
def test_dates_compare_with_their_precision_and_zone(
    left: str, operator: str, right: str, expected: list[Any]
) -> None:
    period = {"start": left, "end": right}
    assert run(f"start {operator} end", period, focus_type="Period") == expected


def test_dates_compare_with_literals_and_today() -> None:
    assert run("birthDate < @2000-01-01") == [True]
    assert run("birthDate < today()") == [True]
    assert run("birthDate > @1970") == []


def test_times_and_quantities() -> None:
    timing = {"repeat": {"timeOfDay": ["08:00:00", "20:00:00"]}}
    assert run("repeat.timeOfDay.first() < repeat.timeOfDay.last()", timing, focus_type="Timing") == [True]
    range_value = {"low": {"value": 1, "code": "mg"}, "high": {"value": Decimal("0.5"), "code": "mg"}}
    assert run("low <= high", range_value, focus_type="Range") == [False]
    with pytest.raises(FhirPathError, match="quantities"):
        run(
            "low <= high",
            {"low": {"value": 1, "code": "mg"}, "high": {"value": 1, "code": "g"}},
            focus_type="Range",
        )


def test_comparable_quantities() -> None:
    range_value = {"low": {"value": 1, "code": "mg"}, "high": {"value": 2, "code": "mg"}}
    assert run("low.comparable(high)", range_value, focus_type="Range") == [True]
    assert run("low.comparable(5 'mg')", range_value, focus_type="Range") == [True]
    assert run("low.comparable(5 'kg')", range_value, focus_type="Range") == [False]
    with pytest.raises(FhirPathError, match="quantities"):
        run("low.comparable('x')", range_value, focus_type="Range")


def test_comparing_unrelated_values_is_an_error() -> None:
    with pytest.raises(FhirPathError, match="cannot compare"):
        run("name.first() < 3")
    with pytest.raises(FhirPathError, match="single values"):
        run("name.family < 'x'")


def test_equality() -> None:
    assert run("name.family = ('Smith' | 'Jones')") == [True]
    assert run("name.family = ('Jones' | 'Smith')") == [False]
    assert run("name.family = 'Smith'") == [False]  # two items against one
    assert run("active = false") == [True]
    assert run("multipleBirth = 2.0") == [True]
    assert run("multipleBirth = true") == [False]
    assert run("{} = 1") == []
    assert run("active != true") == [True]


def test_is_and_as_with_fhir_and_system_types() -> None:
    assert run("active is boolean") == [True]
    assert run("active is Boolean") == [False]  # a FHIR boolean is not a System Boolean
    assert run("true is Boolean") == [True]
    assert run("'x' is System.String") == [True]
    assert run("name.given.first() is string") == [True]
    assert run("birthDate is date") == [True]
    assert run("birthDate is dateTime") == [False]
    assert run("name.first() is HumanName") == [True]
    assert run("name.first() is Element") == [True]
    assert run("is(Patient)") == [True]
    assert run("is(DomainResource)") == [True]
    assert run("is(Resource)") == [True]
    assert run("is(Observation)") == [False]
    assert run("contained.first().is(Organization)") == [True]
    assert run("name.family.as(string)") == ["Smith", "Jones"]  # lenient: filters
    assert run("name.is(HumanName)") == []  # more than one item


def test_to_string_writes_fhirpath_literals() -> None:
    assert run("active.toString()") == ["false"]
    assert run("(1.50).toString()") == ["1.50"]
    assert run("name.toString()") == []


# --- strings and regular expressions ------------------------------------------------


def test_matches_searches_like_the_hl7_validator() -> None:
    assert run("name.first().family.matches('mit')") == [True]
    assert run("name.first().family.matches('^mit')") == [False]
    assert run("name.first().family.matchesFull('Smi')") == [False]
    assert run("name.first().family.matchesFull('Smi.*')") == [True]
    assert run("name.family.matches('S')") == [False]  # several strings: false, as the validator says
    assert run("''.matches('x')") == [False]
    assert run("{}.matches('x')") == []
    assert run("name.first().family.replaceMatches('(S)(m)', '$2$1')") == ["mSith"]


def test_invalid_regex_is_an_evaluation_error() -> None:
    with pytest.raises(FhirPathError, match="invalid regular expression"):
        run("name.first().family.matches('(unclosed')")


def test_catastrophic_backtracking_is_stopped() -> None:
    engine = FhirPathEngine(FhirVersion.R4, regex_timeout=0.05)
    hostile = {"resourceType": "Patient", "id": "a" * 40 + "!"}
    with pytest.raises(FhirPathError, match="took longer"):
        engine.compile("id.matches('^(a|aa)+$')").evaluate(hostile)


def test_trace_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("name.family.trace('names').count()") == [2]
    assert run("name.trace('n', family).count()") == [2]
    assert capsys.readouterr() == ("", "")


def test_iif() -> None:
    assert run("iif(active, 'yes', 'no')") == ["no"]
    assert run("iif(name.exists(), name.count(), 0)") == [2]
    assert run("iif(telecom.exists(), 'x')") == []
    assert run("managingOrganization.resolve().iif(empty(), true, ofType(Organization).exists())") == [True]


def test_deep_and_large_input() -> None:
    deep: dict[str, Any] = {"resourceType": "Basic"}
    node = deep
    for _ in range(5_000):
        node["extension"] = [{"url": "u"}]
        node = node["extension"][0]
    assert run("descendants().where($this is Extension).count()", deep) == [5_000]
    assert R4.compile("hasValue() or (children().count() > id.count())").evaluate(deep) == [True]
    wide = {"resourceType": "Patient", "name": [{"family": f"F{i}"} for i in range(20_000)]}
    assert run("name.family.count()", wide) == [20_000]
    long_text = {"resourceType": "Patient", "id": "x" * 1_000_000}
    assert run("id.matches('^x+$')", long_text) == [True]
    with pytest.raises(FhirPathError):
        run("descendants().distinct().count()", deep)  # hashing a 5,000-deep node recurses too far


def test_single() -> None:
    assert run("name.first().single().family") == ["Smith"]
    with pytest.raises(FhirPathError, match="single"):
        run("name.single()")


# --- variables and outside knowledge -------------------------------------------------


def test_resource_and_root_resource() -> None:
    organization = PATIENT["contained"][0]
    assert run("%resource.id", organization, resource=organization, root_resource=PATIENT) == ["org1"]
    assert run("%rootResource.id", organization, resource=organization, root_resource=PATIENT) == ["p1"]
    assert run("%resource.id", PATIENT["name"][0], resource=PATIENT, focus_type="HumanName") == ["p1"]
    assert run("%context.family", PATIENT["name"][0], focus_type="HumanName") == ["Smith"]
    assert run("%resource.id", PATIENT) == ["p1"]  # a resource focus is its own %resource
    assert run("%resource", {"family": "x"}, focus_type="HumanName") == []


def test_resolve_contained_without_a_hook() -> None:
    assert run("managingOrganization.resolve().name") == ["Surgery"]
    assert run("managingOrganization.resolve() is Organization") == [True]
    assert run("'Patient/other'.resolve()") == []


def test_resolve_through_the_hook_with_scope() -> None:
    calls: list[tuple[str, ResolveScope]] = []
    target = {"resourceType": "Practitioner", "id": "doc"}

    def resolve(reference: str, scope: ResolveScope) -> dict[str, Any] | None:
        calls.append((reference, scope))
        return target if reference == "Practitioner/doc" else None

    engine = FhirPathEngine(FhirVersion.R4, Hooks(resolve=resolve))
    focus = {"reference": "Practitioner/doc"}
    compiled = engine.compile("resolve().ofType(Practitioner).id")
    assert compiled.evaluate(focus, focus_type="Reference", resource=PATIENT, scope="bundle-entry-3") == [
        "doc"
    ]
    assert calls == [("Practitioner/doc", ResolveScope(PATIENT, PATIENT, "bundle-entry-3"))]
    assert engine.compile("resolve()").evaluate({"reference": "Patient/x"}, focus_type="Reference") == []


def test_member_of_and_conforms_to_use_hooks() -> None:
    seen: list[tuple[Any, str]] = []

    def member_of(value: Any, url: str) -> bool | None:
        seen.append((value, url))
        return {"male": True, "female": False}.get(value)

    engine = FhirPathEngine(
        FhirVersion.R4, Hooks(member_of=member_of, conforms_to=lambda resource, url: url.endswith("ok"))
    )
    gender = engine.compile("gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')")
    assert gender.evaluate({"resourceType": "Patient", "gender": "male"}) == [True]
    assert gender.evaluate({"resourceType": "Patient", "gender": "female"}) == [False]
    with pytest.raises(FhirPathError, match="could not decide"):
        gender.evaluate({"resourceType": "Patient", "gender": "other"})
    assert seen[0] == ("male", "http://hl7.org/fhir/ValueSet/administrative-gender")
    assert engine.compile("conformsTo('http://x/ok')").evaluate(PATIENT) == [True]
    assert engine.compile("conformsTo('http://x/no')").evaluate(PATIENT) == [False]


def test_member_of_without_a_hook_is_not_checked() -> None:
    with pytest.raises(FhirPathError, match="terminology"):
        run(
            "gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')",
            {"resourceType": "Patient", "gender": "male"},
        )
    with pytest.raises(FhirPathError, match="profile"):
        run("conformsTo('http://x')")


def test_html_checks() -> None:
    good = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hello</p></div>'
    bad = '<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></div>'
    assert run("htmlChecks()", good, focus_type="xhtml") == [True]
    assert run("htmlChecks()", bad, focus_type="xhtml") == [False]
    assert run("htmlChecks2()", bad, focus_type="xhtml") == [True]
    assert run("htmlchecks()", bad, engine=STU3, focus_type="xhtml") == [False]


# --- invariants --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "holds"),
    [([True], True), ([False], False), ([], False), (["x"], True), ([False, False], True), ([{}], True)],
)
def test_an_invariant_holds_as_the_hl7_validator_reads_results(result: list[Any], holds: bool) -> None:
    assert result_is_true(result) is holds


def test_is_satisfied() -> None:
    assert R4.compile("name.exists()").is_satisfied(PATIENT)
    assert not R4.compile("telecom.exists()").is_satisfied(PATIENT)
    assert not R4.compile("telecom.value").is_satisfied(PATIENT)  # empty fails


def test_corrections_are_applied_and_reported() -> None:
    compiled = R4.compile("fullUrl.contains('/_history/').not()")
    assert compiled.effective_text.startswith("fullUrl.exists() implies")
    assert compiled.correction_reason
    assert compiled.is_satisfied({"resource": {}}, focus_type="Bundle.entry")
    assert not compiled.is_satisfied({"fullUrl": "http://x/Patient/1/_history/2"}, focus_type="Bundle.entry")
    assert STU3.compile("fullUrl.contains('/_history/').not()").correction_reason
    assert R4.compile("htmlChecks()", key="txt-2").effective_text == "htmlChecks2()"
    assert R4.compile("htmlChecks()", key="txt-1").effective_text == "htmlChecks()"


def test_evaluation_errors_are_one_line_fhirpath_errors() -> None:
    with pytest.raises(FhirPathError) as caught:
        run("name.family.substring('a')")
    assert "\n" not in str(caught.value)


def test_stu3_ele_1_is_a_union() -> None:
    compiled = STU3.compile("hasValue() | (children().count() > id.count())")
    assert compiled.evaluate({"id": "x"}, focus_type="Identifier") == [False]
    assert compiled.evaluate({"value": "1"}, focus_type="Identifier") == [False, True]
    assert compiled.is_satisfied({"value": "1"}, focus_type="Identifier")
    assert not compiled.is_satisfied({}, focus_type="Identifier")


@pytest.mark.parametrize(
    "text",
    [
        "hasValue() or (children().count() > id.count())",  # a native fast path
        "extension.exists() != value.exists()",  # a native fast path
        "name.family.exists() and gender = 'male'",  # through fhirpathpy
        "name.given",  # a non-boolean result: a pass when not empty
        "telecom.value",  # empty: a failure
        "name.given.count() > 5 or birthDate.exists()",
    ],
)
@pytest.mark.parametrize(
    "focus",
    [
        PATIENT,
        {"resourceType": "Patient", "gender": "male", "name": [{"family": "A"}]},
        {"resourceType": "Patient", "id": "x"},
        {"resourceType": "Patient", "extension": [{"url": "u"}], "birthDate": "2000"},
    ],
)
def test_holds_is_is_satisfied_in_one_step(text: str, focus: dict[str, Any]) -> None:
    compiled = R4.compile(text)
    expected = compiled.is_satisfied(focus, resource=focus, root_resource=focus, focus_type="Patient")
    assert compiled.holds(focus, focus, focus, "Patient") is expected
