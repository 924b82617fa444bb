"""Bundles: fullUrl form and consistency, the first entry of a document, repeated link relations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.validation.bundles import _reachable_from

if TYPE_CHECKING:
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared


@pytest.mark.parametrize(
    "name",
    ["bundles/document-valid.json", "bundles/collection-valid.json", "bundles/transaction-valid.json"],
    ids=["document", "collection", "transaction-without-server-urls"],
)
def test_valid_bundle_is_clean(r4_fixtures: FixtureRunner, name: str) -> None:
    outcome = r4_fixtures.validate(name)
    assert r4_fixtures.problems(outcome) == []


INVALID = [
    pytest.param(
        "bundles/fullurl-relative.json",
        ["error bundle.fullurl-relative @ Bundle.entry[0].fullUrl"],  # Patient/p1
        id="fullurl-relative",
    ),
    pytest.param(
        "bundles/fullurl-mismatch.json",
        ["error bundle.fullurl-mismatch @ Bundle.entry[0].fullUrl"],  # .../Patient/p2 for Patient p1
        id="fullurl-id-mismatch",
    ),
    pytest.param(
        "bundles/document-first-entry.json",
        ["error bundle.first-entry @ Bundle.entry[0]"],  # a Patient first; bdl-11 too (see invariants)
        id="document-first-entry",
    ),
    pytest.param(
        "bundles/searchset-link-repeated.json",
        ["error bundle.link-relation-repeated @ Bundle.link[2]"],  # a second 'self'
        id="link-relation-repeated",
    ),
    pytest.param(
        "bundles/collection-fullurl-missing.json",
        ["error bundle.fullurl-missing @ Bundle.entry[0]"],
        id="fullurl-missing",
    ),
]


@pytest.mark.parametrize(("name", "expected"), INVALID)
def test_bundle_errors(r4_fixtures: FixtureRunner, name: str, expected: list[str]) -> None:
    outcome = r4_fixtures.validate(name)
    assert r4_fixtures.findings(outcome) == sorted(expected)
    assert not outcome.valid


def _collection(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


PATIENT = {"resourceType": "Patient", "id": "p1"}
FULL_URL = "Bundle.entry[0].fullUrl"


@pytest.mark.parametrize(
    ("full_url", "resource", "expected"),
    [
        # not a RESTful URL: nothing to compare with the id
        ("urn:uuid:5d8e5d47-3a5d-4b57-a0ac-2a5e1a0c1f02", PATIENT, []),
        ("https://example.org/fhir/Patient/p1/_history/2", PATIENT, []),
        # the type must match as well as the id
        ("https://example.org/Practitioner/p1", PATIENT, [f"error bundle.fullurl-mismatch @ {FULL_URL}"]),
    ],
    ids=["urn-uuid", "versioned", "type-mismatch"],
)
def test_full_url_identity(
    r4_fixtures: FixtureRunner, full_url: str, resource: dict[str, Any], expected: list[str]
) -> None:
    outcome = r4_fixtures.validate_data(_collection([{"fullUrl": full_url, "resource": resource}]))
    assert r4_fixtures.findings(outcome) == expected


def test_message_starts_with_a_message_header(r4_fixtures: FixtureRunner) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "message",
        "timestamp": "2023-01-01T10:00:00Z",
        "entry": [{"fullUrl": "urn:uuid:5d8e5d47-3a5d-4b57-a0ac-2a5e1a0c1f03", "resource": PATIENT}],
    }
    outcome = r4_fixtures.validate_data(bundle)
    assert "error bundle.first-entry @ Bundle.entry[0]" in r4_fixtures.findings(outcome)


def test_entry_resources_are_validated_in_place(r4_fixtures: FixtureRunner) -> None:
    bad_patient = {"resourceType": "Patient", "id": "p1", "gender": ["male"], "colour": "blue"}
    outcome = r4_fixtures.validate_data(
        _collection([{"fullUrl": "urn:uuid:5d8e5d47-3a5d-4b57-a0ac-2a5e1a0c1f04", "resource": bad_patient}])
    )
    assert r4_fixtures.findings(outcome) == [
        "error structure.array-not-allowed @ Bundle.entry[0].resource.gender",
        "error structure.unknown-property @ Bundle.entry[0].resource.colour",
    ]


def test_document_entries_must_be_reachable_from_the_composition(r4_fixtures: FixtureRunner) -> None:
    document = r4_fixtures.load("bundles/document-valid.json")
    stray = {"resourceType": "Organization", "id": "org9", "name": "Nobody links here"}
    document["entry"].append({"fullUrl": "urn:uuid:5d8e5d47-3a5d-4b57-a0ac-2a5e1a0c1f05", "resource": stray})
    outcome = r4_fixtures.validate_data(document)
    assert r4_fixtures.findings(outcome) == ["error bundle.document-unreachable @ Bundle.entry[3]"]


def test_restful_full_url_needs_a_resource_id(r4_fixtures: FixtureRunner) -> None:
    entry = {"fullUrl": "http://example.org/fhir/Patient/p1", "resource": {"resourceType": "Patient"}}
    outcome = r4_fixtures.validate_data(_collection([entry]))
    assert r4_fixtures.findings(outcome) == [f"error bundle.fullurl-no-id @ {FULL_URL}"]


def _reachable_by_fixpoint(start: int, links: list[set[int]]) -> set[int]:
    """The rule as the HL7 validator words it: repeat forward and backward steps until nothing changes."""
    reachable = {start}
    changed = True
    while changed:
        changed = False
        for index, targets in enumerate(links):
            new = targets - reachable if index in reachable else ({index} if targets & reachable else set())
            if new:
                reachable |= new
                changed = True
    return reachable


@given(
    st.integers(min_value=1, max_value=30).flatmap(
        lambda size: st.lists(
            st.sets(st.integers(min_value=0, max_value=size - 1), max_size=4), min_size=size, max_size=size
        )
    )
)
def test_document_reachability_in_one_pass_is_the_fixpoint(links: list[set[int]]) -> None:
    assert _reachable_from(0, links) == _reachable_by_fixpoint(0, links)
