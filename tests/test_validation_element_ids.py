"""Element ids are unique within a resource; nested resources and a snapshot are scopes of their own."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.validation import Validator
from conformance.validation.element_ids import duplicate_ids


def test_a_repeated_element_id_is_found_at_its_second_use() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "a",
        "name": [{"id": "n1", "family": "A"}, {"id": "n1", "family": "B"}],
        "_gender": {"id": "n2"},
        "birthDate": "2000",
        "_birthDate": {"id": "n2"},
    }
    assert duplicate_ids(patient) == [("n1", ("name", 1)), ("n2", ("birthDate",))]


def test_distinct_ids_and_the_resource_id_are_not_duplicates() -> None:
    patient = {"resourceType": "Patient", "id": "x", "name": [{"id": "x"}, {"id": "y"}]}
    assert duplicate_ids(patient) == []


def test_nested_resources_are_their_own_scope() -> None:
    patient = {
        "resourceType": "Patient",
        "contained": [{"resourceType": "Organization", "id": "o", "name": "O", "telecom": [{"id": "t"}]}],
        "telecom": [{"id": "t", "system": "phone", "value": "1"}],
    }
    assert duplicate_ids(patient) == []


def test_a_snapshot_repeats_the_differential_ids() -> None:
    element = {"id": "Patient.name", "path": "Patient.name"}
    definition: dict[str, Any] = {
        "resourceType": "StructureDefinition",
        "snapshot": {"element": [element]},
        "differential": {"element": [element, dict(element)]},
    }
    assert duplicate_ids(definition) == [("Patient.name", ("differential", "element", 1))]


@pytest.mark.shared
def test_the_validator_reports_a_duplicate_id(r4_validator: Validator) -> None:
    patient = {"resourceType": "Patient", "name": [{"id": "n", "family": "A"}, {"id": "n", "family": "B"}]}
    outcome = r4_validator.validate(patient)
    assert [(i.message_id, i.location) for i in outcome.errors] == [
        ("structure.duplicate-id", "Patient.name[1]")
    ]
