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
    # a code or system that is not a string (a list, an object) is a structure error elsewhere, not a crash
    listed_code = {"code": {"coding": [{"system": "http://loinc.org", "code": []}]}}
    assert implied_profile(listed_code) is None
    listed_system = {"code": {"coding": [{"system": ["http://loinc.org"], "code": "8310-5"}]}}
    assert implied_profile(listed_system) is None


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
def test_on_by_default_and_can_be_turned_off(r4_validator: Validator, r4_context: Context) -> None:
    snomed_only = _observation(("http://snomed.info/sct", "276885007"))
    assert _summary(r4_validator, snomed_only) == ["error slice.min", "information profile.implied"]
    not_implying = Validator(r4_context, options=ValidationOptions(implied_profiles=False))
    assert _summary(not_implying, snomed_only) == []


@pytest.mark.shared
def test_a_coded_component_value_is_not_held_to_the_units_binding(r4_validator: Validator) -> None:
    # R4's vitalsigns binds component.value[x] of every type to UCUM units as required; the HL7 validator
    # backs it off to extensible, so a coded component value is a warning, not an error
    coded = _observation(("http://loinc.org", "8310-5"))
    coded["component"] = [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8327-9"}]},  # measurement site
            "valueCodeableConcept": {"coding": [{"system": "http://example.org/modes", "code": "spot"}]},
        }
    ]
    outcome = r4_validator.validate(coded)
    at_value = [issue for issue in outcome.issues if issue.location.endswith("component[0].value")]
    units = [issue for issue in at_value if issue.message_id.startswith("binding.")]
    assert [(issue.severity.value, issue.message_id) for issue in units] == [
        ("warning", "binding.extensible.not-in-valueset")
    ]
    assert outcome.errors == ()
