"""CodeSystem lookups and `validate_coding_in_codesystem`: existence, case, display, status, content modes."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.outcome import Severity
from conformance.terminology import CodeCheck, LocalTerminology
from conformance.terminology.codesystem import CodeSystemIndex
from test_terminology_support import COLOURS, EX_CS, SHAPES, SNOMED, fixture_resources, fixture_terminology


@pytest.fixture(scope="module")
def terminology() -> LocalTerminology:
    return fixture_terminology()


def _colours(version: str = "1.0.0") -> CodeSystemIndex:
    resource = next(r for r in fixture_resources() if r["url"] == COLOURS and r["version"] == version)
    return CodeSystemIndex(resource)


# --- the index -------------------------------------------------------------------------------


def test_nested_concepts_form_the_hierarchy() -> None:
    cs = _colours()
    assert cs.descendants("colour") == {"red", "crimson", "scarlet", "blue", "navy", "sky", "green"}
    assert cs.descendants("red") == {"crimson", "scarlet"}
    assert cs.ancestors("navy") == {"blue", "colour"}
    assert cs.parents("mauve") == frozenset()


def test_parent_and_child_properties_form_the_hierarchy_too() -> None:
    shapes = CodeSystemIndex(next(r for r in fixture_resources() if r["url"] == SHAPES))
    assert shapes.descendants("polygon") == {"triangle", "square"}
    assert shapes.children("circle") == frozenset({"oval"})
    assert shapes.values_of("triangle", "parent") == ("polygon",)


def test_status_comes_from_standard_properties_whatever_their_local_name() -> None:
    cs = _colours()
    assert cs.concepts["scarlet"].status == "retired" and cs.concepts["scarlet"].inactive
    assert cs.concepts["navy"].deprecated and not cs.concepts["navy"].inactive
    assert cs.concepts["green"].inactive  # property "gone" declared with uri concept-properties#inactive
    assert cs.concepts["colour"].abstract
    assert cs.concepts["red"].status is None


def test_case_insensitive_systems_find_codes_in_any_case() -> None:
    shapes = CodeSystemIndex(next(r for r in fixture_resources() if r["url"] == SHAPES))
    found = shapes.find("TRIANGLE")
    assert found is not None and found.code == "triangle"
    assert _colours().find("RED") is None


@pytest.mark.parametrize(
    "concepts",
    [
        "not a list",
        [1, None, "x", {"display": "no code"}, {"code": 7}, {"code": ""}],
        [{"code": "a", "property": "not a list", "designation": [{"value": 3}], "concept": {"code": "b"}}],
    ],
)
def test_malformed_concepts_are_skipped(concepts: Any) -> None:
    cs = CodeSystemIndex({"resourceType": "CodeSystem", "url": "http://x", "concept": concepts})
    assert set(cs.concepts) <= {"a"}


def test_deep_nesting_and_cycles_do_not_break_the_index() -> None:
    deep: dict[str, Any] = {"code": "c0"}
    node = deep
    for level in range(1, 5000):
        child = {"code": f"c{level}"}
        node["concept"] = [child]
        node = child
    looping = [
        {"code": "a", "property": [{"code": "parent", "valueCode": "b"}]},
        {"code": "b", "property": [{"code": "parent", "valueCode": "a"}]},
    ]
    cs = CodeSystemIndex({"resourceType": "CodeSystem", "url": "http://x", "concept": [deep, *looping]})
    assert len(cs.descendants("c0")) == 4999
    assert cs.descendants("a") == {"a", "b"}  # the loop is walked once, not forever


# --- validate_coding_in_codesystem --------------------------------------------------------------


def test_a_defined_code_is_valid(terminology: LocalTerminology) -> None:
    result = terminology.validate_coding_in_codesystem(COLOURS, "red", "Red")
    assert result.status == "valid" and result.message_id == "terminology.code-valid"
    assert result.issues == () and result.display == "Red"
    assert COLOURS in result.message and "checked locally" in result.message


def test_an_unknown_code_in_a_complete_system_is_an_error(terminology: LocalTerminology) -> None:
    result = terminology.validate_coding_in_codesystem(COLOURS, "purple", None)
    assert result.status is CodeCheck.INVALID
    assert result.message_id == "terminology.unknown-code"
    assert result.severity_hint is Severity.ERROR
    assert "purple" in result.message and COLOURS in result.message


def test_case_matters_in_a_case_sensitive_system(terminology: LocalTerminology) -> None:
    assert terminology.validate_coding_in_codesystem(COLOURS, "Red", None).invalid


def test_case_differences_are_only_information_in_a_case_insensitive_system(
    terminology: LocalTerminology,
) -> None:
    result = terminology.validate_coding_in_codesystem(SHAPES, "Square", None)
    assert result.valid
    assert [(f.severity, f.message_id) for f in result.issues] == [
        (Severity.INFORMATION, "terminology.code-case")
    ]


@pytest.mark.parametrize("display", ["Red", "red", "RED", "Rouge"])
def test_display_matches_ignoring_case_and_any_designation(
    terminology: LocalTerminology, display: str
) -> None:
    assert terminology.validate_coding_in_codesystem(COLOURS, "red", display).issues == ()


def test_a_wrong_display_is_an_error_by_default(terminology: LocalTerminology) -> None:
    result = terminology.validate_coding_in_codesystem(COLOURS, "red", "Blue")
    assert result.valid  # the code itself is fine
    (finding,) = result.issues
    assert finding.severity is Severity.ERROR and finding.message_id == "terminology.display-mismatch"
    assert "'Blue'" in finding.message and "'Red'" in finding.message


def test_a_wrong_display_is_a_warning_with_the_setting() -> None:
    lenient = fixture_terminology(display_mismatch_is_warning=True)
    (finding,) = lenient.validate_coding_in_codesystem(COLOURS, "red", "Blue").issues
    assert finding.severity is Severity.WARNING


def test_a_display_that_differs_only_in_whitespace_has_its_own_message(terminology: LocalTerminology) -> None:
    (finding,) = terminology.validate_coding_in_codesystem(COLOURS, "sky", "Sky blue").issues
    assert finding.message_id == "terminology.display-whitespace"
    assert terminology.validate_coding_in_codesystem(COLOURS, "sky", "Sky  blue").issues == ()


@pytest.mark.parametrize(
    ("code", "message_id"),
    [
        ("scarlet", "terminology.inactive"),
        ("green", "terminology.inactive"),
        ("navy", "terminology.deprecated"),
    ],
)
def test_inactive_and_deprecated_codes_are_valid_with_a_warning(
    terminology: LocalTerminology, code: str, message_id: str
) -> None:
    result = terminology.validate_coding_in_codesystem(COLOURS, code, None)
    assert result.valid
    assert [(f.severity, f.message_id) for f in result.issues] == [(Severity.WARNING, message_id)]


def test_a_fragment_says_unknown_with_a_warning_not_invalid(terminology: LocalTerminology) -> None:
    system = EX_CS + "fragment-things"
    assert terminology.validate_coding_in_codesystem(system, "known", None).valid
    result = terminology.validate_coding_in_codesystem(system, "other", None)
    assert result.unknown and result.message_id == "terminology.unknown-code.fragment"
    assert result.severity_hint is Severity.WARNING


@pytest.mark.parametrize("system", [EX_CS + "example-things", EX_CS + "absent-things"])
def test_example_and_not_present_content_is_not_checked(terminology: LocalTerminology, system: str) -> None:
    result = terminology.validate_coding_in_codesystem(system, "anything", None)
    assert result.unknown and result.message_id == "terminology.not-checked.content"
    assert result.severity_hint is None


def test_an_unknown_system_is_a_warning_and_a_known_external_one_is_silent(
    terminology: LocalTerminology,
) -> None:
    unknown = terminology.validate_coding_in_codesystem("http://example.org/unheard-of", "x", None)
    assert unknown.unknown and unknown.message_id == "terminology.codesystem-not-found"
    assert unknown.severity_hint is Severity.WARNING
    loinc = terminology.validate_coding_in_codesystem("http://loinc.org", "8867-4", "Heart rate")
    assert loinc.unknown and loinc.message_id == "terminology.not-checked.external"
    assert loinc.severity_hint is None


def test_naming_systems_make_a_system_known() -> None:
    naming = {
        "resourceType": "NamingSystem",
        "kind": "codesystem",
        "uniqueId": [{"type": "uri", "value": "http://example.org/named"}, {"type": "oid", "value": "1.2.3"}],
    }
    terminology = fixture_terminology(naming)
    result = terminology.validate_coding_in_codesystem("http://example.org/named", "x", None)
    assert result.message_id == "terminology.not-checked.external"


def test_snomed_ids_are_checked_offline_and_expressions_left_alone(terminology: LocalTerminology) -> None:
    assert terminology.validate_coding_in_codesystem(SNOMED, "22298006", None).unknown
    bad = terminology.validate_coding_in_codesystem(SNOMED, "22298007", None)
    assert bad.invalid and bad.message_id == "identifier.sct.check-digit"
    assert bad.severity_hint is Severity.ERROR
    expression = terminology.validate_coding_in_codesystem(SNOMED, "22298006 |Myocardial infarction|", None)
    assert expression.unknown
    dmd = terminology.validate_coding_in_codesystem("https://dmd.nhs.uk", "39720311000001109", None)
    assert dmd.message_id == "identifier.sct.check-digit"


def test_a_missing_code_system_version_falls_back_with_a_warning(terminology: LocalTerminology) -> None:
    result = terminology.validate_coding_in_codesystem(COLOURS, "teal", None, version="9.9")
    assert result.valid  # found in the version that is loaded (2.0.0)
    assert [f.message_id for f in result.issues] == ["terminology.codesystem-version-not-found"]
    assert terminology.validate_coding_in_codesystem(COLOURS, "teal", None, version="1.0.0").invalid


def test_an_empty_code_is_reported(terminology: LocalTerminology) -> None:
    result = terminology.validate_coding_in_codesystem(COLOURS, "", None)
    assert result.invalid and result.message_id == "terminology.no-code"
