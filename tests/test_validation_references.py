"""References: contained `#id`, target types (core and profile), declared type, resolution inside a document.

References that cannot be resolved offline (`Patient/1` outside a Bundle, absolute URLs) are not errors,
but the type such a reference names is checked against the allowed targets, as the FHIR specification
requires (ValidationOptions.assume_valid_rest_references, on by default; the HL7 validator checks it only
with -assumeValidRestReferences, and `False` follows its default). What the payload itself must contain
(contained resources, the references of a document's Composition and a message's MessageHeader) must be
found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from conformance.validation import ValidationOptions, Validator, references
from conformance.validation.bundles import bundle_index

if TYPE_CHECKING:
    from conformance.context import Context
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared


@pytest.mark.parametrize(
    "name",
    [
        "references/observation-contained-valid.json",
        "references/observation-logical-and-absolute.json",
        "references/document-valid.json",
    ],
    ids=["contained", "logical-and-absolute", "document"],
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
            # Bundle.entry[2] (an Observation) names an urn:uuid no entry has: only the Composition's
            # references must resolve inside a document, so that is a warning, not an error
            "warning reference.bundle-urn-not-local @ Bundle.entry[2].resource.subject.reference",
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
    # a URN names nothing outside the Bundle: said, as the HL7 validator says it, but not an error
    assert r4_fixtures.findings(outcome) == [
        "warning reference.bundle-urn-not-local @ Bundle.entry[0].resource.subject.reference"
    ]


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
    payload["entry"][1]["resource"]["meta"] = {"versionId": "1"}
    payload["entry"][3]["resource"]["subject"] = {"reference": "http://example.org/fhir/Patient/p1"}
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.problems(outcome) == []


def test_a_version_the_bundle_does_not_hold_is_not_found(r4_fixtures: FixtureRunner) -> None:
    # Patient/p1/_history/2 names http://example.org/fhir/Patient/p1 at version 2: the entry is version 1
    payload = r4_fixtures.load("references/document-valid.json")
    payload["entry"][0]["fullUrl"] = "http://example.org/fhir/Composition/c1"
    payload["entry"][1]["fullUrl"] = "http://example.org/fhir/Patient/p1"
    payload["entry"][1]["resource"]["meta"] = {"versionId": "1"}
    payload["entry"][0]["resource"]["subject"] = {"reference": "Patient/p1/_history/2"}
    payload["entry"][3]["resource"]["subject"] = {"reference": "http://example.org/fhir/Patient/p1"}
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.findings(outcome) == [
        "error reference.bundle-not-found @ Bundle.entry[0].resource.subject.reference"
    ]
    assert "must be 'http://example.org/fhir/Patient/p1/_history/2'" in outcome.errors[0].message


def test_a_relative_reference_needs_the_source_id_to_find_its_base(r4_fixtures: FixtureRunner) -> None:
    # the Composition has no id, so its fullUrl says nothing of the server base its references are relative to
    payload = r4_fixtures.load("references/document-valid.json")
    payload["entry"][0]["fullUrl"] = "http://example.org/fhir/Composition/c1"
    del payload["entry"][0]["resource"]["id"]
    payload["entry"][1]["fullUrl"] = "http://example.org/fhir/Patient/p1"
    payload["entry"][0]["resource"]["subject"] = {"reference": "Patient/p1"}
    payload["entry"][3]["resource"]["subject"] = {"reference": "http://example.org/fhir/Patient/p1"}
    outcome = r4_fixtures.validate_data(payload)
    assert "error reference.bundle-not-found @ Bundle.entry[0].resource.subject.reference" in (
        r4_fixtures.findings(outcome)
    )


def test_two_entries_with_the_same_full_url_are_ambiguous(r4_fixtures: FixtureRunner) -> None:
    payload = r4_fixtures.load("references/document-valid.json")
    payload["entry"].append(
        {"fullUrl": payload["entry"][1]["fullUrl"], "resource": payload["entry"][1]["resource"]}
    )
    outcome = r4_fixtures.validate_data(payload)
    assert "error reference.bundle-multiple-matches @ Bundle.entry[0].resource.subject.reference" in (
        r4_fixtures.findings(outcome)
    )


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


# ---- the type an unresolvable reference names (on by default; HL7 validator: -assumeValidRestReferences)


@pytest.fixture(scope="module")
def rest_validator(r4_context: Context) -> Validator:
    return Validator(r4_context, options=ValidationOptions(assume_valid_rest_references=True))


@pytest.fixture(scope="module")
def hl7_default_validator(r4_context: Context) -> Validator:
    return Validator(r4_context, options=ValidationOptions(assume_valid_rest_references=False))


def _errors(validator: Validator, payload: dict[str, Any]) -> list[tuple[str, str]]:
    outcome = validator.validate(payload)
    return [(i.message_id, i.location) for i in outcome.issues if i.severity.value in ("error", "fatal")]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Practitioner/x", [("reference.target-type", "Condition.subject.reference")]),
        (
            "http://example.org/fhir/Practitioner/x",
            [("reference.target-type", "Condition.subject.reference")],
        ),
        ("Practitioner/x/_history/2", [("reference.target-type", "Condition.subject.reference")]),
        ("Patient/x", []),
        ("http://example.org/fhir/Group/1/_history/1", []),
        ("urn:uuid:1f7b3f5c-9f1c-4a3c-8c3e-1a2b3c4d5e6f", []),  # a URN names no type
        ("Performer/1", []),  # names no resource type: nothing to compare
    ],
)
def test_type_named_by_an_unresolvable_reference(
    rest_validator: Validator, reference: str, expected: list[tuple[str, str]]
) -> None:
    payload = {"resourceType": "Condition", "subject": {"reference": reference}}
    assert _errors(rest_validator, payload) == expected


def test_type_named_by_an_unresolvable_reference_is_checked_by_default(r4_validator: Validator) -> None:
    payload = {"resourceType": "Condition", "subject": {"reference": "Practitioner/x"}}
    assert _errors(r4_validator, payload) == [("reference.target-type", "Condition.subject.reference")]


def test_the_hl7_validators_default_leaves_an_unresolvable_references_type_unchecked(
    hl7_default_validator: Validator, r4_fixtures: FixtureRunner
) -> None:
    payload = {"resourceType": "Condition", "subject": {"reference": "Practitioner/x"}}
    assert _errors(hl7_default_validator, payload) == []
    fixture = r4_fixtures.load("references/observation-unresolved-wrong-type.json")
    assert _errors(hl7_default_validator, fixture) == []
    assert _errors(r4_fixtures.validator, fixture) == [
        ("reference.target-type", "Observation.subject.reference")
    ]


def test_any_resource_type_is_a_valid_target_of_reference_to_resource(rest_validator: Validator) -> None:
    # Provenance.target is Reference(Any): a Bundle (a Resource, not a DomainResource) is allowed
    payload = {
        "resourceType": "Provenance",
        "target": [{"reference": "Bundle/b1"}],
        "recorded": "2020-01-01T00:00:00Z",
        "agent": [{"who": {"reference": "Practitioner/p1"}}],
    }
    assert _errors(rest_validator, payload) == []


# ---- resolution inside a Bundle respects the type (FHIR Bundle rules: fullUrl, base URL + Type/id)


def _restful_collection() -> dict[str, Any]:
    """A DiagnosticReport and an entry whose ids are both f001, on one server base; Patient/f001 is absent."""
    base = "https://example.com/base/"
    report = {
        "resourceType": "DiagnosticReport",
        "id": "f001",
        "status": "final",
        "code": {"text": "panel"},
        "subject": {"reference": "Patient/f001"},
        "basedOn": [{"reference": "ServiceRequest/req"}],
    }
    request = {
        "resourceType": "ServiceRequest",
        "id": "req",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/f001"},
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": base + "DiagnosticReport/f001", "resource": report},
            {"fullUrl": base + "ServiceRequest/req", "resource": request},
        ],
    }


def test_a_relative_reference_does_not_match_another_type_with_the_same_id(r4_validator: Validator) -> None:
    assert _errors(r4_validator, _restful_collection()) == []


GP_ID = "5d9588d8-3cd6-4b32-8fb7-ad13694e069d"


def _urn_collection(referenced_type: str) -> dict[str, Any]:
    patient = {
        "resourceType": "Patient",
        "generalPractitioner": [{"reference": f"{referenced_type}/{GP_ID}"}],
    }
    organization = {"resourceType": "Organization", "name": "Practice"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:54fc3e09-e279-4b74-a8ff-2649ec968642", "resource": patient},
            {"fullUrl": f"urn:uuid:{GP_ID}", "resource": organization},
        ],
    }


def test_a_relative_reference_from_a_urn_entry_names_the_urn_with_its_id(r4_validator: Validator) -> None:
    # the base of urn:uuid:<x> is urn:uuid:, so Practitioner/<id> names urn:uuid:<id>: an Organization
    assert _errors(r4_validator, _urn_collection("Practitioner")) == [
        ("reference.resolved-type-mismatch", "Bundle.entry[0].resource.generalPractitioner[0].reference")
    ]
    assert _errors(r4_validator, _urn_collection("Organization")) == []


def test_a_signature_reference_is_not_resolved_against_entries(r4_validator: Validator) -> None:
    # Bundle.signature sits in no entry: it has no fullUrl to resolve a relative reference against
    payload = _urn_collection("Organization")
    payload["signature"] = {
        "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}],
        "when": "2020-01-01T00:00:00Z",
        "who": {"reference": f"Device/{GP_ID}"},
        "sigFormat": "application/jose",
        "data": "dGVzdA==",
    }
    assert _errors(r4_validator, payload) == []


# ---- deciding conformance inside a document: a target in the payload is found by the Bundle rules

_EXAMPLE = "http://example.org/fhir/StructureDefinition/"


def _constraint(name: str, type_name: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "url": _EXAMPLE + name,
        "name": name,
        "status": "draft",
        "kind": "resource",
        "abstract": False,
        "type": type_name,
        "baseDefinition": f"http://hl7.org/fhir/StructureDefinition/{type_name}",
        "derivation": "constraint",
        "differential": {"element": elements},
    }


_DOCUMENT_PROFILES = [
    _constraint(
        "RefIdentifiedPatient",
        "Patient",
        [{"id": "Patient.identifier", "path": "Patient.identifier", "min": 1}],
    ),
    _constraint(
        "RefComposition",
        "Composition",
        [
            {
                "id": "Composition.subject",
                "path": "Composition.subject",
                "type": [{"code": "Reference", "targetProfile": [_EXAMPLE + "RefIdentifiedPatient"]}],
            }
        ],
    ),
    _constraint(
        "RefDocument",
        "Bundle",
        [
            {
                "id": "Bundle.entry",
                "path": "Bundle.entry",
                "slicing": {"discriminator": [{"type": "profile", "path": "resource"}], "rules": "open"},
            },
            {"id": "Bundle.entry:composition", "path": "Bundle.entry", "sliceName": "composition", "min": 1},
            {
                "id": "Bundle.entry:composition.resource",
                "path": "Bundle.entry.resource",
                "type": [{"code": "Composition", "profile": [_EXAMPLE + "RefComposition"]}],
            },
        ],
    ),
]


def _document(patient: dict[str, Any]) -> dict[str, Any]:
    composition = {
        "resourceType": "Composition",
        "id": "c1",
        "status": "final",
        "type": {"text": "note"},
        "subject": {"reference": "Patient/p1"},
        "date": "2024-01-01",
        "author": [{"reference": "Patient/p1"}],
        "title": "Note",
    }
    return {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {
            "system": "urn:ietf:rfc:3986",
            "value": "urn:uuid:5d9588d8-3cd6-4b32-8fb7-ad13694e0699",
        },
        "timestamp": "2024-01-01T00:00:00Z",
        "entry": [
            {"fullUrl": "http://example.org/fhir/Composition/c1", "resource": composition},
            {
                "fullUrl": "http://example.org/fhir/Patient/p1",
                "resource": {"resourceType": "Patient", "id": "p1", **patient},
            },
        ],
    }


@pytest.mark.parametrize(
    ("patient", "expected"), [({"identifier": [{"value": "1"}]}, []), ({}, ["slice.min"])]
)
def test_conformance_of_a_document_entry_follows_its_relative_references(
    r4_context: Context, patient: dict[str, Any], expected: list[str]
) -> None:
    validator = Validator(r4_context.with_resources(_DOCUMENT_PROFILES))
    outcome = validator.validate(_document(patient), profiles=[_EXAMPLE + "RefDocument"])
    assert [i.message_id for i in outcome.errors] == expected


def test_trial_walks_index_a_bundle_once_per_walk_and_keep_nothing_after_it(
    r4_context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []

    def counted(walker: Any, bundle: Any) -> Any:
        built.append(len(bundle.get("entry", ())))
        return bundle_index(walker, bundle)

    monkeypatch.setattr(references, "bundle_index", counted)
    validator = Validator(r4_context.with_resources(_DOCUMENT_PROFILES))
    outcome = validator.validate(_document({}), profiles=[_EXAMPLE + "RefDocument"])
    assert [i.message_id for i in outcome.errors] == ["slice.min"]
    assert built == [2]  # the Composition's two references, resolved in trials, share one index
    # The index lives with its walk (Walker.trial_indexes): the next validation builds its own.
    validator.validate(_document({}), profiles=[_EXAMPLE + "RefDocument"])
    assert built == [2, 2]


def _versioned_collection(reference: str) -> dict[str, Any]:
    """Two versions of one Observation under one fullUrl, and a List that points at it."""
    base = "http://example.org/fhir/"
    versions = [
        {
            "fullUrl": base + "Observation/o1",
            "resource": {
                "resourceType": "Observation",
                "id": "o1",
                "meta": {"versionId": version},
                "status": "final",
                "code": {"text": "x"},
            },
        }
        for version in ("1", "2")
    ]
    listing: dict[str, Any] = {"resourceType": "List", "id": "l1", "status": "current", "mode": "working"}
    listing["entry"] = [{"item": {"reference": reference}}]
    return {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [{"fullUrl": base + "List/l1", "resource": listing}, *versions],
    }


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (
            "Observation/o1",
            [("reference.bundle-multiple-matches", "Bundle.entry[0].resource.entry[0].item.reference")],
        ),
        ("Observation/o1/_history/2", []),  # the version says which
        (
            "http://example.org/fhir/Observation/o1",
            [("reference.bundle-multiple-matches", "Bundle.entry[0].resource.entry[0].item.reference")],
        ),
    ],
)
def test_a_reference_two_entries_answer_is_ambiguous(
    r4_validator: Validator, reference: str, expected: list[tuple[str, str]]
) -> None:
    errors = [
        e for e in _errors(r4_validator, _versioned_collection(reference)) if e[0].startswith("reference.")
    ]
    assert errors == expected


def test_each_reference_element_names_its_own_allowed_targets(rest_validator: Validator) -> None:
    # What each Reference type allows is worked out once and kept: each element keeps its own answer.
    payload = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Practitioner/p"},
        "performer": [{"reference": "Practitioner/p"}],
        "hasMember": [{"reference": "Practitioner/p"}],
    }
    outcome = rest_validator.validate(payload)
    refused = {i.location: i.message for i in outcome.errors if i.message_id == "reference.target-type"}
    implied = "The type 'Practitioner' implied by the reference URL Practitioner/p is not a valid Target"
    assert refused == {
        "Observation.subject.reference": f"{implied} for this element (must be one of Device, Group, "
        "Location, Patient)",
        "Observation.hasMember[0].reference": f"{implied} for this element (must be one of "
        "MolecularSequence, Observation, QuestionnaireResponse)",
    }
