"""References: contained `#id`, target types (core and profile), declared type, resolution inside a document.

References that cannot be resolved offline (`Patient/1` outside a Bundle, absolute URLs) are not errors,
and, as with the HL7 validator's defaults, the type such a reference names is not checked against the
allowed targets: only a resolved target's type is. What the payload itself must contain (contained
resources, document Bundle entries) must be found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared


@pytest.mark.parametrize(
    "name",
    [
        "references/observation-contained-valid.json",
        "references/observation-logical-and-absolute.json",
        "references/observation-unresolved-wrong-type.json",
        "references/document-valid.json",
    ],
    ids=["contained", "logical-and-absolute", "unresolved-type-unchecked", "document"],
)
def test_valid_references_are_clean(r4_fixtures: FixtureRunner, name: str) -> None:
    outcome = r4_fixtures.validate(name)
    assert r4_fixtures.problems(outcome) == []


INVALID = [
    pytest.param(
        "references/observation-contained-missing.json",
        None,
        ["error reference.contained-not-found @ Observation.subject.reference"],  # ref-1: see invariants
        id="contained-missing",
    ),
    pytest.param(
        "references/observation-wrong-target.json",
        None,
        [
            "error reference.target-type @ Observation.subject.reference",  # a contained Medication
            "error reference.target-type @ Observation.performer[1].reference",  # a contained Observation
        ],
        id="wrong-target-type",
    ),
    pytest.param(
        "references/observation-type-mismatch.json",
        None,
        ["error reference.type-mismatch @ Observation.subject"],  # Patient/p1 with type Group
        id="declared-type-mismatch",
    ),
    pytest.param(
        "references/observation-subject-group.json",
        "test-observation-value",
        # the core Observation allows Group; the profile narrows subject to Patient
        ["error reference.target-type @ Observation.subject.reference"],
        id="profile-target",
    ),
    pytest.param(
        "references/document-unresolved.json",
        None,
        [
            # the author resolves inside the document, to an Observation
            "error reference.target-type @ Bundle.entry[0].resource.author[0].reference",
            # an urn:uuid that no entry has
            "error reference.bundle-not-found @ Bundle.entry[2].resource.subject.reference",
        ],
        id="document-resolution",
    ),
]


@pytest.mark.parametrize(("name", "profile", "expected"), INVALID)
def test_reference_errors(
    r4_fixtures: FixtureRunner, name: str, profile: str | None, expected: list[str]
) -> None:
    outcome = r4_fixtures.validate(name, [profile] if profile else [])
    assert r4_fixtures.findings(outcome) == sorted(expected)
    assert not outcome.valid


def _collection_with(reference: str) -> dict[str, Any]:
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "temperature"},
        "subject": {"reference": reference},
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:5d8e5d47-3a5d-4b57-a0ac-2a5e1a0c1f01", "resource": observation}],
    }


def test_unresolved_reference_in_a_collection_is_not_an_error(r4_fixtures: FixtureRunner) -> None:
    # only documents and messages promise to contain what they reference
    outcome = r4_fixtures.validate_data(_collection_with("urn:uuid:5d8e5d47-3a5d-4b57-a0ac-2a5e1a0c1f09"))
    assert r4_fixtures.findings(outcome) == []


def test_reference_to_the_container_resolves(r4_fixtures: FixtureRunner) -> None:
    # a contained resource may point back at its container with "#"
    payload = r4_fixtures.load("references/observation-contained-valid.json")
    payload["contained"][0]["link"] = [{"other": {"reference": "#"}, "type": "seealso"}]
    outcome = r4_fixtures.validate_data(payload)
    # Patient.link.other allows Patient or RelatedPerson; the container is an Observation
    assert r4_fixtures.findings(outcome) == [
        "error reference.target-type @ Observation.contained[0].link[0].other.reference"
    ]


def test_relative_and_versioned_references_resolve_against_the_entry_base(r4_fixtures: FixtureRunner) -> None:
    # a relative reference resolves against the server base of the fullUrl of the entry it is in
    payload = r4_fixtures.load("references/document-valid.json")
    payload["entry"][0]["fullUrl"] = "http://example.org/fhir/Composition/c1"
    payload["entry"][1]["fullUrl"] = "http://example.org/fhir/Patient/p1"
    payload["entry"][0]["resource"]["subject"] = {"reference": "Patient/p1/_history/1"}
    payload["entry"][3]["resource"]["subject"] = {"reference": "http://example.org/fhir/Patient/p1"}
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.problems(outcome) == []


def test_relative_reference_from_a_uuid_entry_does_not_resolve(r4_fixtures: FixtureRunner) -> None:
    # an entry identified by urn:uuid has no server base: Patient/p1 cannot be matched by the Bundle rules
    payload = r4_fixtures.load("references/document-valid.json")
    payload["entry"][1]["fullUrl"] = "http://example.org/fhir/Patient/p1"
    payload["entry"][0]["resource"]["subject"] = {"reference": "Patient/p1"}
    payload["entry"][3]["resource"]["subject"] = {"reference": "http://example.org/fhir/Patient/p1"}
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.findings(outcome) == [
        "error reference.bundle-not-found @ Bundle.entry[0].resource.subject.reference"
    ]
