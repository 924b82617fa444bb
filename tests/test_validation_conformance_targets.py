"""Deciding conformance to a profile (a profile discriminator) follows references into the payload."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.context import Context
from conformance.validation import Validator

pytestmark = pytest.mark.shared

BASE = "http://example.org/fhir/StructureDefinition/"


def _profile(name: str, type_name: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "url": BASE + name,
        "name": name,
        "status": "draft",
        "kind": "resource",
        "abstract": False,
        "type": type_name,
        "baseDefinition": f"http://hl7.org/fhir/StructureDefinition/{type_name}",
        "derivation": "constraint",
        "differential": {"element": elements},
    }


PROFILES = [
    _profile("GenderedPatient", "Patient", [{"id": "Patient.gender", "path": "Patient.gender", "min": 1}]),
    _profile(
        "SubjectComposition",
        "Composition",
        [
            {
                "id": "Composition.subject",
                "path": "Composition.subject",
                "type": [{"code": "Reference", "targetProfile": [BASE + "GenderedPatient"]}],
            }
        ],
    ),
    _profile(
        "DocumentWithComposition",
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
                "type": [{"code": "Composition", "profile": [BASE + "SubjectComposition"]}],
            },
        ],
    ),
]


def _bundle(patient: dict[str, Any]) -> dict[str, Any]:
    composition = {
        "resourceType": "Composition",
        "id": "c1",
        "status": "final",
        "type": {"text": "note"},
        "subject": {"reference": "Patient/p1"},
        "date": "2024-01-01",
        "author": [{"display": "A. Author"}],
        "title": "Note",
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://example.org/fhir/Composition/c1", "resource": composition},
            {
                "fullUrl": "http://example.org/fhir/Patient/p1",
                "resource": {"resourceType": "Patient", "id": "p1", **patient},
            },
        ],
    }


@pytest.fixture(scope="module")
def validator(r4_context: Context) -> Validator:
    return Validator(r4_context.with_resources(PROFILES))


def test_a_composition_whose_subject_conforms_matches_the_slice(validator: Validator) -> None:
    outcome = validator.validate(_bundle({"gender": "female"}), profiles=[BASE + "DocumentWithComposition"])
    assert [i.message_id for i in outcome.errors] == []


def test_a_subject_that_does_not_conform_keeps_the_composition_out_of_the_slice(validator: Validator) -> None:
    outcome = validator.validate(_bundle({}), profiles=[BASE + "DocumentWithComposition"])
    assert [i.message_id for i in outcome.errors] == ["slice.min"]
