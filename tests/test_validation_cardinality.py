"""Cardinality: min and max from the core definitions and from profiles, and slice cardinalities.

Profiles: fixtures/validation/profiles (test-patient-cardinality, test-patient-identifier-slices). A minimum
is reported on the element that should contain the missing child; a maximum on the first occurrence
beyond it; slice counts on the element holding the sliced list (as the HL7 validator does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared

CARDINALITY = "test-patient-cardinality"
SLICES = "test-patient-identifier-slices"


@pytest.mark.parametrize(
    ("name", "profile"),
    [
        ("cardinality/patient-valid.json", CARDINALITY),
        ("cardinality/patient-slices-valid.json", SLICES),
    ],
    ids=["profile-cardinality", "slice-cardinality"],
)
def test_valid_payload_is_clean(r4_fixtures: FixtureRunner, name: str, profile: str) -> None:
    outcome = r4_fixtures.validate(name, [profile])
    assert r4_fixtures.problems(outcome) == []


INVALID = [
    pytest.param(
        "cardinality/observation-missing-required.json",
        None,
        ["error cardinality.min @ Observation", "error cardinality.min @ Observation"],  # status and code
        id="core-min",
    ),
    pytest.param(
        "cardinality/patient-invalid.json",
        CARDINALITY,
        [
            "error cardinality.min @ Patient",  # identifier 1..2
            "error cardinality.min @ Patient",  # gender 1..1
            "error cardinality.min @ Patient.name[0]",  # name.family 1..1, inside the first name
            "error cardinality.max @ Patient.name[1]",  # name 1..1
            "error cardinality.max @ Patient.birthDate",  # birthDate 0..0
        ],
        id="profile-min-and-max",
    ),
    pytest.param(
        "cardinality/patient-too-many-identifiers.json",
        CARDINALITY,
        ["error cardinality.max @ Patient.identifier[2]"],
        id="profile-max-on-a-list",
    ),
    pytest.param(
        "cardinality/patient-slices-invalid.json",
        SLICES,
        ["error slice.min @ Patient", "error slice.max @ Patient"],  # no nhsNumber, two localIds
        id="slice-min-and-max",
    ),
]


@pytest.mark.parametrize(("name", "profile", "expected"), INVALID)
def test_cardinality_violations(
    r4_fixtures: FixtureRunner, name: str, profile: str | None, expected: list[str]
) -> None:
    outcome = r4_fixtures.validate(name, [profile] if profile else [])
    assert r4_fixtures.findings(outcome) == sorted(expected)
    assert not outcome.valid


def test_cardinality_issues_name_the_rule_and_the_profile(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("cardinality/patient-invalid.json", [CARDINALITY])
    rules = sorted((issue.message_id, issue.element_id) for issue in outcome.errors)
    assert rules == [
        ("cardinality.max", "Patient.birthDate"),
        ("cardinality.max", "Patient.name"),
        ("cardinality.min", "Patient.gender"),
        ("cardinality.min", "Patient.identifier"),
        ("cardinality.min", "Patient.name.family"),
    ]
    assert {issue.profile for issue in outcome.errors} == {
        "http://example.org/fhir/StructureDefinition/test-patient-cardinality|0.1.0"
    }


def test_slice_issues_name_the_slice(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("cardinality/patient-slices-invalid.json", [SLICES])
    assert sorted(issue.element_id or "" for issue in outcome.errors) == [
        "Patient.identifier:localId",
        "Patient.identifier:nhsNumber",
    ]


def test_the_same_payload_without_the_profile_is_valid(r4_fixtures: FixtureRunner) -> None:
    # the profile's rules apply only when it is asked for (or declared in meta.profile)
    outcome = r4_fixtures.validate("cardinality/patient-invalid.json")
    assert r4_fixtures.problems(outcome) == []


def test_declared_profile_in_meta_is_applied(r4_fixtures: FixtureRunner) -> None:
    payload = r4_fixtures.load("cardinality/patient-too-many-identifiers.json")
    payload["meta"] = {"profile": ["http://example.org/fhir/StructureDefinition/test-patient-cardinality"]}
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.findings(outcome) == ["error cardinality.max @ Patient.identifier[2]"]


def test_unknown_profile_asked_for_is_an_error(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate(
        "cardinality/patient-valid.json", ["http://unknown.test/StructureDefinition/none"]
    )
    assert r4_fixtures.findings(outcome) == ["error profile.unknown @ Patient"]


def test_unknown_profile_declared_in_meta_is_a_warning(r4_fixtures: FixtureRunner) -> None:
    payload = r4_fixtures.load("cardinality/patient-valid.json")
    payload["meta"] = {"profile": ["http://unknown.test/StructureDefinition/none"]}
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.findings(outcome) == ["warning profile.unknown @ Patient.meta.profile"]
    assert outcome.valid


def test_profile_for_another_type_is_an_error(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("cardinality/observation-missing-required.json", [CARDINALITY])
    assert "error profile.wrong-type @ Observation" in r4_fixtures.findings(outcome)
