"""fixed[x] and pattern[x]: exact values and partial ones.

Profile test-observation-fixed: status fixedCode final, code patternCodeableConcept (LOINC 60832-3),
valueQuantity patternQuantity (UCUM Cel), method fixedCodeableConcept {"text": "oral"}.
A pattern is matched when every property it has is present with the same value (extra codings and extra
properties are fine); a fixed value must be equal, nothing more and nothing less.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared

PROFILE = "test-observation-fixed"
UCUM = "http://unitsofmeasure.org"


def test_extra_codings_and_properties_match_a_pattern(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("fixedpattern/observation-valid.json", [PROFILE])
    assert r4_fixtures.problems(outcome) == []


def test_fixed_and_pattern_mismatches(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("fixedpattern/observation-invalid.json", [PROFILE])
    assert r4_fixtures.findings(outcome) == sorted(
        [
            "error fixed.mismatch @ Observation.status",  # preliminary, fixed to final
            "error pattern.mismatch @ Observation.code",  # another LOINC code
            "error pattern.mismatch @ Observation.value",  # [degF], the pattern says Cel
            "error fixed.mismatch @ Observation.method",  # a coding added to a fixed CodeableConcept
        ]
    )
    assert {issue.element_id for issue in outcome.errors} == {
        "Observation.status",
        "Observation.code",
        "Observation.value[x]",
        "Observation.method",
    }


def test_a_pattern_coding_without_its_code_does_not_match(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("fixedpattern/observation-pattern-missing-code.json", [PROFILE])
    assert r4_fixtures.findings(outcome) == ["error pattern.mismatch @ Observation.code"]


def _observation(r4_fixtures: FixtureRunner, **changes: Any) -> dict[str, Any]:
    payload = r4_fixtures.load("fixedpattern/observation-valid.json")
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # the value's own id and extensions are not part of the comparison
        ({"_status": {"id": "s1"}}, []),
        # a fixed value with the same properties in another order is the same value
        ({"method": {"text": "oral"}}, []),
        # decimals compare by value: 37.50 is 37.5
        ({"valueQuantity": {"value": Decimal("37.50"), "unit": "C", "system": UCUM, "code": "Cel"}}, []),
        # a pattern value must be there: a Quantity without system and code does not match
        ({"valueQuantity": {"value": 37.5, "unit": "C"}}, ["error pattern.mismatch @ Observation.value"]),
        # the case of a code matters
        (
            {"status": "Final"},
            [
                # as the HL7 validator: a code matching no system of the value set, and not in it
                "error binding.code.system-unknown @ Observation.status",
                "error binding.required.not-in-valueset @ Observation.status",
                "error fixed.mismatch @ Observation.status",
            ],
        ),
    ],
    ids=["id-on-fixed-primitive", "same-fixed-value", "decimal-scale", "pattern-properties-absent", "case"],
)
def test_comparison_rules(r4_fixtures: FixtureRunner, changes: dict[str, Any], expected: list[str]) -> None:
    outcome = r4_fixtures.validate_data(_observation(r4_fixtures, **changes), [PROFILE])
    assert r4_fixtures.findings(outcome) == expected


def test_a_fixed_value_is_not_required_to_be_present(r4_fixtures: FixtureRunner) -> None:
    payload = _observation(r4_fixtures)
    del payload["method"]  # fixed does not imply min 1
    outcome = r4_fixtures.validate_data(payload, [PROFILE])
    assert r4_fixtures.problems(outcome) == []
