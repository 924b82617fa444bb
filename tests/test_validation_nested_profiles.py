"""Profiles on resources nested in Parameters, including a profile that names itself for its nested resources.

The walk applies a profile given on `Parameters.parameter.resource` to the nested resource, and a profile
whose nested resources must conform to the same profile neither loops nor reports what is not wrong.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator

RECURSIVE = "http://example.org/fhir/StructureDefinition/recursive-parameters"
PATIENT_IN_PARAMETERS = "http://example.org/fhir/StructureDefinition/parameters-with-named-patient"
NAMED_PATIENT = "http://example.org/fhir/StructureDefinition/named-patient"


def _profile(url: str, resource_type: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "url": url,
        "name": url.rsplit("/", 1)[-1].replace("-", ""),
        "status": "draft",
        "fhirVersion": "4.0.1",
        "kind": "resource",
        "abstract": False,
        "type": resource_type,
        "baseDefinition": f"http://hl7.org/fhir/StructureDefinition/{resource_type}",
        "derivation": "constraint",
        "differential": {"element": elements},
    }


PROFILES = [
    _profile(
        RECURSIVE,
        "Parameters",
        [
            {"id": "Parameters.parameter", "path": "Parameters.parameter", "min": 1},
            {"id": "Parameters.parameter.name", "path": "Parameters.parameter.name", "fixedString": "p"},
            {
                "id": "Parameters.parameter.resource",
                "path": "Parameters.parameter.resource",
                "type": [{"code": "Parameters", "profile": [RECURSIVE]}],
            },
        ],
    ),
    _profile(
        PATIENT_IN_PARAMETERS,
        "Parameters",
        [
            {
                "id": "Parameters.parameter.resource",
                "path": "Parameters.parameter.resource",
                "type": [{"code": "Patient", "profile": [NAMED_PATIENT]}],
            }
        ],
    ),
    _profile(NAMED_PATIENT, "Patient", [{"id": "Patient.name", "path": "Patient.name", "min": 1}]),
]


@pytest.fixture(scope="module")
def validator(shared_settings: Settings) -> Validator:
    return Validator(Context.build(shared_settings, FhirVersion.R4, extra_resources=PROFILES))


def _nested(depth: int, innermost_name: str = "p") -> dict[str, Any]:
    """Parameters holding Parameters `depth` levels deep, the innermost parameter named `innermost_name`."""
    inner: dict[str, Any] = {
        "resourceType": "Parameters",
        "parameter": [{"name": innermost_name, "valueString": "x"}],
    }
    for _ in range(depth):
        inner = {"resourceType": "Parameters", "parameter": [{"name": "p", "resource": inner}]}
    return inner


def _errors(validator: Validator, payload: dict[str, Any], profile: str) -> list[str]:
    outcome = validator.validate(payload, profiles=[profile])
    return sorted(f"{issue.message_id} @ {issue.location}" for issue in outcome.errors)


@pytest.mark.shared
def test_a_recursive_profile_accepts_conforming_nesting(validator: Validator) -> None:
    assert _errors(validator, _nested(4), RECURSIVE) == []


@pytest.mark.shared
def test_a_recursive_profile_applies_at_every_level(validator: Validator) -> None:
    innermost = "Parameters" + ".parameter[0].resource" * 3 + ".parameter[0].name"
    assert _errors(validator, _nested(3, innermost_name="q"), RECURSIVE) == [f"fixed.mismatch @ {innermost}"]


@pytest.mark.shared
def test_a_profile_on_the_nested_resource_applies(validator: Validator) -> None:
    patient: dict[str, Any] = {"resourceType": "Patient"}
    payload = {"resourceType": "Parameters", "parameter": [{"name": "who", "resource": patient}]}
    assert _errors(validator, payload, PATIENT_IN_PARAMETERS) == [
        "cardinality.min @ Parameters.parameter[0].resource"
    ]
    patient["name"] = [{"family": "Smith"}]
    assert _errors(validator, payload, PATIENT_IN_PARAMETERS) == []
