"""Invariants: core constraints (per-1, pat-1, obs-6, obs-7, ref-1, dom-3, sqty-1, bdl-11, ext-1), own ones.

Invariants are evaluated by the FHIRPath adapter (conformance.fhirpath). Constraints are compared as
`"<severity> <key> @ <location>"`; best-practice constraints (dom-6) are warnings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from conformance.outcome import Severity
from conformance.validation import Validator

if TYPE_CHECKING:
    from conformance.context import Context
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared


@pytest.mark.parametrize(
    "name",
    [
        "invariants/encounter-valid.json",
        "invariants/patient-contact-valid.json",
        "invariants/observation-components-valid.json",
        "invariants/patient-contained-referenced.json",
        "references/observation-contained-valid.json",
        "references/document-valid.json",
        "bundles/document-valid.json",
    ],
)
def test_valid_payload_fails_no_constraint(r4_fixtures: FixtureRunner, name: str) -> None:
    outcome = r4_fixtures.validate(name)
    assert r4_fixtures.failed_constraints(outcome) == []
    assert outcome.valid


FAILING = [
    pytest.param("invariants/encounter-period-reversed.json", ["error per-1 @ Encounter.period"], id="per-1"),
    pytest.param("invariants/patient-contact-empty.json", ["error pat-1 @ Patient.contact[0]"], id="pat-1"),
    pytest.param("invariants/observation-obs-6.json", ["error obs-6 @ Observation"], id="obs-6"),
    pytest.param("invariants/observation-obs-7.json", ["error obs-7 @ Observation"], id="obs-7"),
    pytest.param("invariants/patient-contained-unreferenced.json", ["error dom-3 @ Patient"], id="dom-3"),
    pytest.param(
        "references/observation-contained-missing.json", ["error ref-1 @ Observation.subject"], id="ref-1"
    ),
    pytest.param(
        "types/observation-simplequantity-comparator.json",
        ["error sqty-1 @ Observation.referenceRange[0].low"],
        id="sqty-1",
    ),
    pytest.param("bundles/document-first-entry.json", ["error bdl-11 @ Bundle"], id="bdl-11"),
    pytest.param(
        "invariants/patient-extension-value-and-children.json",
        ["error ext-1 @ Patient.extension[0]"],
        id="ext-1",
    ),
]


@pytest.mark.parametrize(("name", "expected"), FAILING)
def test_core_constraint_fails(r4_fixtures: FixtureRunner, name: str, expected: list[str]) -> None:
    outcome = r4_fixtures.validate(name)
    assert r4_fixtures.failed_constraints(outcome) == expected
    assert not outcome.valid


def test_invariant_issue_names_its_constraint_and_element(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("invariants/encounter-period-reversed.json")
    (issue,) = [issue for issue in outcome.issues if issue.message_id == "invariant.failed"]
    assert (issue.constraint, issue.code, issue.severity) == ("per-1", "invariant", Severity.ERROR)
    assert issue.element_id == "Encounter.period"


def test_profile_constraints_error_warning_and_not_checked(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("invariants/patient-no-name.json", ["test-patient-own-invariants"])
    failed = r4_fixtures.failed_constraints(outcome)
    assert failed == ["error test-name @ Patient", "warning test-warn @ Patient"]
    not_checked = [issue for issue in outcome.issues if issue.message_id == "invariant.not-checked"]
    assert [(i.constraint, i.severity) for i in not_checked] == [("test-broken", Severity.INFORMATION)]


def test_best_practice_constraint_is_only_a_warning(r4_fixtures: FixtureRunner) -> None:
    payload = r4_fixtures.load("invariants/encounter-valid.json")
    del payload["text"]  # dom-6: a resource should have narrative
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.failed_constraints(outcome) == ["warning dom-6 @ Encounter"]
    assert outcome.valid


def test_an_expression_the_engine_cannot_evaluate_is_reported_not_checked(r4_context: Context) -> None:
    profile = {
        "resourceType": "StructureDefinition",
        "url": "http://example.org/fhir/StructureDefinition/unevaluable",
        "name": "Unevaluable",
        "status": "draft",
        "kind": "resource",
        "abstract": False,
        "type": "Encounter",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Encounter",
        "derivation": "constraint",
        "differential": {
            "element": [
                {
                    "id": "Encounter",
                    "path": "Encounter",
                    "constraint": [
                        {
                            "key": "x-1",
                            "severity": "error",
                            "human": "uses a function no engine here supports",
                            "expression": "hasTemplateIdOf('urn:x')",
                        }
                    ],
                }
            ]
        },
    }
    context = r4_context.with_resources([profile])
    encounter = {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}}
    outcome = Validator(context).validate(encounter, profiles=[profile["url"]])
    not_checked = [issue for issue in outcome.issues if issue.message_id == "invariant.not-checked"]
    assert [issue.constraint for issue in not_checked] == ["x-1"]
    assert outcome.valid


def _patient_with_div(div: str) -> dict[str, object]:
    return {"resourceType": "Patient", "text": {"status": "generated", "div": div}}


@pytest.mark.parametrize(
    ("div", "expected"),
    [
        (
            '<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></div>',
            ["error txt-1 @ Patient.text.div"],
        ),
        (
            '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">a</p></div>',
            ["error txt-1 @ Patient.text.div"],
        ),
        ('<div xmlns="http://www.w3.org/1999/xhtml">  </div>', ["error txt-2 @ Patient.text.div"]),
        ('<div xmlns="http://www.w3.org/1999/xhtml"><p>Fine</p></div>', []),
    ],
)
def test_narrative_div_invariants_are_evaluated_on_the_primitive(
    r4_context: Context, div: str, expected: list[str]
) -> None:
    outcome = Validator(r4_context).validate(_patient_with_div(div))
    failed = [
        f"{issue.severity.value} {issue.constraint} @ {issue.location}"
        for issue in outcome.issues
        if issue.message_id == "invariant.failed"
    ]
    assert failed == expected


def test_profile_constraint_on_a_primitive_element_is_evaluated(r4_context: Context) -> None:
    profile = {
        "resourceType": "StructureDefinition",
        "url": "http://example.org/fhir/StructureDefinition/short-family",
        "name": "ShortFamily",
        "status": "draft",
        "kind": "resource",
        "abstract": False,
        "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "derivation": "constraint",
        "differential": {
            "element": [
                {
                    "id": "Patient.birthDate",
                    "path": "Patient.birthDate",
                    "constraint": [
                        {
                            "key": "bd-1",
                            "severity": "error",
                            "human": "born this millennium",
                            "expression": "$this >= @2000-01-01",
                        }
                    ],
                }
            ]
        },
    }
    context = r4_context.with_resources([profile])
    validator = Validator(context)
    old = validator.validate(
        {"resourceType": "Patient", "birthDate": "1970-01-01"}, profiles=[profile["url"]]
    )
    young = validator.validate(
        {"resourceType": "Patient", "birthDate": "2001-01-01"}, profiles=[profile["url"]]
    )
    assert [(i.constraint, i.location) for i in old.issues if i.severity is Severity.ERROR] == [
        ("bd-1", "Patient.birthDate")
    ]
    assert young.valid


def test_a_primitive_with_only_extensions_breaks_no_element_invariant(r4_context: Context) -> None:
    payload = {
        "resourceType": "Patient",
        "_birthDate": {
            "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
            ]
        },
    }
    outcome = Validator(r4_context).validate(payload)
    assert [i.constraint for i in outcome.issues if i.message_id == "invariant.failed"] == ["dom-6"]
    assert outcome.valid


def test_one_element_checked_as_different_types_gets_each_types_invariants(
    r4_fixtures: FixtureRunner,
) -> None:
    """value[x] as a Quantity (qty-3), then as a Period (per-1), then as a Quantity again, in one validator:
    what is worked out once per element and type must not leak from one type to the other."""
    narrative = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}
    base = {"resourceType": "Observation", "text": narrative, "status": "final", "code": {"text": "x"}}
    quantity = {**base, "valueQuantity": {"value": 1, "code": "mg"}}
    period = {**base, "valuePeriod": {"start": "2020-02-01", "end": "2020-01-01"}}
    runs = [
        r4_fixtures.failed_constraints(r4_fixtures.validate_data(data))
        for data in (quantity, period, quantity)
    ]
    assert runs == [
        ["error qty-3 @ Observation.value"],
        ["error per-1 @ Observation.value"],
        ["error qty-3 @ Observation.value"],
    ]
