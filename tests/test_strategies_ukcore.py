"""The strategies on UK Core STU2: every resource profile, generated instances and single-defect variants.

For each of the 31 resource profiles of fhir.r4.ukcore.stu2#2.0.2, a few instances are generated (the
draws are derandomized, so a run is reproducible); each must validate with no errors against its
profile, and each single-defect variant of each instance must give the message id it is labelled with,
in at least 95% of the variants overall. The variants the engine misses are listed below, each with the
reason checked against the definitions; a miss not listed fails the test.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.testing.strategies import defects, resources
from conformance.validation import Validator

pytestmark = pytest.mark.shared

UKCORE = "fhir.r4.ukcore.stu2#2.0.2"
UK = "https://fhir.hl7.org.uk/StructureDefinition/"
PROFILES = (
    "UKCore-AllergyIntolerance",
    "UKCore-Appointment",
    "UKCore-Composition",
    "UKCore-Condition",
    "UKCore-DiagnosticReport",
    "UKCore-DiagnosticReport-Lab",
    "UKCore-Encounter",
    "UKCore-FamilyMemberHistory",
    "UKCore-HealthcareService",
    "UKCore-Immunization",
    "UKCore-List",
    "UKCore-Location",
    "UKCore-Medication",
    "UKCore-MedicationAdministration",
    "UKCore-MedicationDispense",
    "UKCore-MedicationRequest",
    "UKCore-MedicationStatement",
    "UKCore-Observation",
    "UKCore-Observation-Group-Lab",
    "UKCore-Observation-Lab",
    "UKCore-Organization",
    "UKCore-Patient",
    "UKCore-Practitioner",
    "UKCore-PractitionerRole",
    "UKCore-Procedure",
    "UKCore-RelatedPerson",
    "UKCore-Schedule",
    "UKCore-ServiceRequest",
    "UKCore-ServiceRequest-Lab",
    "UKCore-Slot",
    "UKCore-Specimen",
)
EXAMPLES_PER_PROFILE = 3
REQUIRED_RATE = 0.95

# Variants the engine does not report, by where the defect is; each checked against the definitions.
# None today (defects under contentReference elements, once missed, are now reported).
ENGINE_MISSES: dict[str, re.Pattern[str]] = {}


@dataclass
class ProfileRun:
    instances: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    variants: int = 0
    missed: Counter[str] = field(default_factory=Counter)
    excused: Counter[str] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def ukcore(shared_settings: Settings) -> Validator:
    return Validator(Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE]))


@pytest.fixture(scope="module")
def runs() -> dict[str, ProfileRun]:
    return {}


def _excuse(location: str) -> str | None:
    return next((name for name, where in ENGINE_MISSES.items() if where.search(location)), None)


def _run(name: str, validator: Validator, runs: dict[str, ProfileRun]) -> ProfileRun:
    if name in runs:
        return runs[name]
    url = UK + name
    run = runs[name] = ProfileRun()

    @settings(
        max_examples=EXAMPLES_PER_PROFILE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(resources(url, validator))
    def collect(instance: dict[str, Any]) -> None:
        run.instances.append(instance)
        outcome = validator.validate(instance, profiles=[url])
        run.errors.extend(f"{i.message_id} @ {i.location}: {i.message}" for i in outcome.errors)
        for defect in defects(instance, url, validator):
            run.variants += 1
            found = {issue.message_id for issue in validator.validate(defect.instance, profiles=[url]).errors}
            if defect.message_id in found:
                continue
            key = f"{defect.kind} -> {defect.message_id} at {defect.location} (got {sorted(found)})"
            excuse = _excuse(defect.location)
            (run.excused if excuse else run.missed)[key] += 1

    collect()
    return run


def test_the_resource_profiles_of_the_package_are_these(ukcore: Validator) -> None:
    found = {
        entry.url
        for entry in ukcore.context.structure_definitions(derivation="constraint", kind="resource")
        if entry.package == UKCORE
    }
    assert found == {UK + name for name in PROFILES}


@pytest.mark.parametrize("name", PROFILES)
def test_generated_instances_have_no_errors(
    name: str, ukcore: Validator, runs: dict[str, ProfileRun]
) -> None:
    run = _run(name, ukcore, runs)
    assert run.instances
    assert run.errors == []


def test_single_defects_give_their_message_id(ukcore: Validator, runs: dict[str, ProfileRun]) -> None:
    results = {name: _run(name, ukcore, runs) for name in PROFILES}
    variants = sum(run.variants for run in results.values())
    missed = {name: run.missed for name, run in results.items() if run.missed}
    excused = sum(sum(run.excused.values()) for run in results.values())
    reported = variants - excused - sum(sum(counter.values()) for counter in missed.values())
    assert variants > 30 * len(PROFILES)
    assert reported / variants >= REQUIRED_RATE, (reported, variants)
    assert missed == {}, "variants the engine does not report, not explained in ENGINE_MISSES"


def test_defects_of_several_kinds_are_made(ukcore: Validator, runs: dict[str, ProfileRun]) -> None:
    kinds: Counter[str] = Counter()
    for name in ("UKCore-Patient", "UKCore-Observation-Lab", "UKCore-Organization"):
        instance = _run(name, ukcore, runs).instances[-1]
        kinds.update(defect.kind for defect in defects(instance, UK + name, ukcore))
    assert {"remove-required", "bad-lexical", "wrong-json-type", "code-not-in-value-set"} <= set(kinds)
