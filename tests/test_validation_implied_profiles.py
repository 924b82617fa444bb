"""An R4 Observation with a vital sign code is checked against the vital signs profile FHIR requires of it."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.context import Context
from conformance.validation import ValidationOptions, Validator
from conformance.validation.implied_profiles import implied_profile

BODYTEMP = "http://hl7.org/fhir/StructureDefinition/bodytemp"


def _observation(*codings: tuple[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": system, "code": code} for system, code in codings]},
        "subject": {"reference": "Patient/p"},
        "effectiveDateTime": "2020-01-01",
        "valueQuantity": {"value": 37.1, "unit": "C", "system": "http://unitsofmeasure.org", "code": "Cel"},
    }


@pytest.mark.parametrize(
    ("codings", "expected"),
    [
        pytest.param([("http://loinc.org", "8310-5")], ("bodytemp", "LOINC", "8310-5"), id="loinc"),
        pytest.param(
            [("http://snomed.info/sct", "276885007")], ("bodytemp", "SNOMED CT", "276885007"), id="sct"
        ),
        pytest.param(
            [("http://snomed.info/sct", "276885007"), ("http://loinc.org", "29463-7")],
            ("bodyweight", "LOINC", "29463-7"),
            id="loinc-decides-before-sct",
        ),
        pytest.param([("http://loinc.org", "1234-5")], None, id="other-code"),
        pytest.param([("http://example.org", "8310-5")], None, id="other-system"),
    ],
)
def test_the_code_decides_the_profile(
    codings: list[tuple[str, str]], expected: tuple[str, str, str] | None
) -> None:
    found = implied_profile(_observation(*codings))
    shown = None if found is None else (found.url.rsplit("/", 1)[-1], found.system_name, found.code)
    assert shown == expected


def test_odd_shapes_imply_nothing() -> None:
    assert implied_profile({"resourceType": "Observation", "code": {"coding": "x"}}) is None
    assert implied_profile({"resourceType": "Observation", "code": [1]}) is None


def _summary(validator: Validator, observation: dict[str, Any]) -> list[str]:
    outcome = validator.validate(observation)
    return sorted(
        f"{issue.severity.value} {issue.message_id}"
        for issue in outcome.issues
        if issue.profile is not None
        and issue.profile.startswith(BODYTEMP)
        and issue.severity.value != "warning"
    )


@pytest.fixture(scope="module")
def implying(r4_context: Context) -> Validator:
    return Validator(r4_context, options=ValidationOptions(implied_profiles=True))


@pytest.mark.shared
def test_a_snomed_coded_temperature_needs_the_loinc_code(implying: Validator) -> None:
    found = _summary(implying, _observation(("http://snomed.info/sct", "276885007")))
    # the bodytemp profile requires the LOINC code 8310-5 (its BodyTempCode slice)
    assert found == ["error slice.min", "information profile.implied"]


@pytest.mark.shared
def test_a_conforming_temperature_is_clean(implying: Validator) -> None:
    assert _summary(implying, _observation(("http://loinc.org", "8310-5"))) == ["information profile.implied"]


@pytest.mark.shared
def test_off_by_default(r4_validator: Validator) -> None:
    assert _summary(r4_validator, _observation(("http://snomed.info/sct", "276885007"))) == []
