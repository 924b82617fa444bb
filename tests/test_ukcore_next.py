"""The UK Core line after STU2 (`../shared/fhir-packages-ukcore-next`, package fhir.r4.ukcore.staging).

Every StructureDefinition gets a snapshot from our own generator with no problem; every example is validated
against the profile it exemplifies (the example -> profile map shipped beside the examples), JSON and XML.
The examples that are wrong are listed with the exact errors they give and why (docs/upgrading.md, "The
next UK Core's own examples", quotes the rule each breaks). The lists are exact: an example that becomes
clean, or one that gains an error, fails its test. Skipped, with the reason, when the folder is absent.
"""

from __future__ import annotations

import json

import pytest

from conformance.context import AmbiguousPackagesError, Context
from conformance.definitions.profiles import Definitions
from conformance.fhirversion import FhirVersion
from conformance.outcome import Outcome, Severity
from conformance.settings import Settings
from conformance.validation import Validator
from packages_support import SHARED, SHARED_PACKAGES, session_work_cache

pytestmark = pytest.mark.shared

NEXT = SHARED / "fhir-packages-ukcore-next"
NEXT_PACKAGE = "fhir.r4.ukcore.staging#0.0.0-main.20250620"
STU2_PACKAGE = "fhir.r4.ukcore.stu2#2.0.2"
EXAMPLES = NEXT / "_examples" / "ukcore-staging"
XML_EXAMPLES = NEXT / "_examples" / "ukcore-staging-xml"
PROFILE_MAP = NEXT / "_examples" / "ukcore-staging-profiles.json"
UK = "https://fhir.hl7.org.uk/StructureDefinition/"


def _relative_full_urls(count: int) -> tuple[str, ...]:
    return tuple(f"bundle.fullurl-relative @ Bundle.entry[{i}].fullUrl" for i in range(count))


# Examples that are wrong, with their exact errors (`message id @ location`). Why, briefly:
WRONG_EXAMPLES: dict[str, tuple[str, ...]] = {
    # valueCode and valueCodeableConcept together; the extension allows one value, a CodeableConcept
    "Extension-UKCore-ConditionEpisode-Example.json": (
        "cardinality.max @ Condition.extension[0]",
        "type.choice.not-allowed @ Condition.extension[0].value",
    ),
    # UKCore-DeliveryChannel#In-person displays 'In-person'; these say 'In person'
    "Extension-UKCore-DeliveryChannel-Example.json": (
        "terminology.display-mismatch @ Appointment.extension[0].value",
    ),
    "UKCore-Appointment-OrthopaedicSurgery-Example.json": (
        "terminology.display-mismatch @ Appointment.extension[1].value",
    ),
    # Extension-UKCore-RcordingSetting (sic): no definition has that url
    "Extension-UKCore-RecordingSetting-Example.json": (
        "extension.unknown-not-allowed @ Observation.extension[0]",
    ),
    # fullUrl 'Observation/<uuid>': a Bundle entry's fullUrl must be absolute; and the respiratory and heart
    # rates give their unit as '{Breaths}/min' and '{beats}/min' where FHIR R4's vital signs profiles for
    # those codes (resprate, heartrate), which apply to every Observation with the code, fix '/min'
    "UKCore-Bundle-NEWS2Observations-Example.json": (
        *_relative_full_urls(2),
        "fixed.mismatch @ Bundle.entry[1].resource.value.code",
        *_relative_full_urls(3)[2:],
        "fixed.mismatch @ Bundle.entry[2].resource.value.code",
        *_relative_full_urls(8)[3:],
    ),
    # UKCore-Observation-Lab slices code.coding by type on $this: both slices are Coding, so every coding
    # matches both
    "UKCore-Observation-Lab-Albumin-Example.json": (
        "slice.ambiguous @ Observation.code.coding[0]",
        "slice.ambiguous @ Observation.code.coding[1]",
    ),
    "UKCore-Observation-Lab-RedCellCount-Example.json": ("slice.ambiguous @ Observation.code.coding[0]",),
    "UKCore-Observation-Lab-Sn-AbsentData-Example.json": ("slice.ambiguous @ Observation.code.coding[0]",),
    "UKCore-Observation-Lab-WhiteCellCount-Example.json": ("slice.ambiguous @ Observation.code.coding[0]",),
    # the SystolicBP/DiastolicBP re-slices of code.coding by system fix no system on either slice
    "UKCore-Observation-VitalSigns-BloodPressure-Example.json": (
        "slice.ambiguous @ Observation.component[0].code.coding[1]",
        "slice.ambiguous @ Observation.component[1].code.coding[1]",
    ),
    # a height in metres: FHIR R4's bodyheight profile (applied to every Observation with LOINC 8302-2) binds
    # the unit to ucum-bodylength (cm or [in_i]), required
    "UKCore-Observation-VitalSigns-BodyHeight-Example.json": (
        "binding.code.system-unknown @ Observation.value.code",
        "binding.required.not-in-valueset @ Observation.value.code",
    ),
    # NHS number 9912003890: the Modulus 11 check digit of 991200389 is 6, not 0
    "UKCore-Patient-BabyPatient-Example.json": (
        "identifier.nhs-number.check-digit @ Patient.identifier[0].value",
    ),
}


def next_settings(factory: pytest.TempPathFactory) -> Settings:
    if not (NEXT / f"{NEXT_PACKAGE}.tgz").is_file() or not SHARED_PACKAGES.is_dir():
        pytest.skip(f"needs the next UK Core at {NEXT} and the shared packages at {SHARED_PACKAGES} (absent)")
    return Settings(
        package_path=(SHARED_PACKAGES, NEXT),
        package_cache=factory.mktemp("next-cache"),
        work_cache=session_work_cache(factory),
        registry_url="http://127.0.0.1:9",
        offline=True,
    )


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return next_settings(tmp_path_factory)


@pytest.fixture(scope="module")
def context(settings: Settings) -> Context:
    return Context.build(settings, FhirVersion.R4, igs=[NEXT_PACKAGE])


@pytest.fixture(scope="module")
def validator(context: Context) -> Validator:
    return Validator(context)


@pytest.fixture(scope="module")
def profiles() -> dict[str, str]:
    if not PROFILE_MAP.is_file():
        pytest.skip(f"needs {PROFILE_MAP} (absent)")
    mapping: dict[str, str] = json.loads(PROFILE_MAP.read_text(encoding="utf-8"))
    return mapping


def _errors(outcome: Outcome) -> tuple[str, ...]:
    return tuple(
        f"{issue.message_id} @ {issue.location}"
        for issue in outcome.issues
        if issue.severity in (Severity.ERROR, Severity.FATAL)
    )


def test_every_structure_definition_gets_a_snapshot_without_problems(context: Context) -> None:
    definitions = Definitions(context)
    own = [entry for entry in context.entries("StructureDefinition") if entry.package == NEXT_PACKAGE]
    assert len(own) == 153
    failing = {
        entry.url: [issue.message for issue in definitions.problems(entry.url or "")]
        for entry in own
        if definitions.plan(entry.url or "") is None or definitions.problems(entry.url or "")
    }
    assert failing == {}


def test_every_example_gets_exactly_its_listed_errors(validator: Validator, profiles: dict[str, str]) -> None:
    assert len(profiles) == 215
    found = {}
    for name, profile in sorted(profiles.items()):
        outcome = validator.validate((EXAMPLES / name).read_bytes(), profiles=[profile])
        found[name] = _errors(outcome)
        assert outcome.valid is not bool(found[name]), name
    assert {name: errors for name, errors in found.items() if errors} == WRONG_EXAMPLES


def test_the_xml_originals_give_the_same_verdicts(validator: Validator, profiles: dict[str, str]) -> None:
    verdicts = {}
    for name, profile in sorted(profiles.items()):
        xml = XML_EXAMPLES / name.replace(".json", ".xml")
        verdicts[name] = validator.validate(xml.read_bytes(), profiles=[profile]).valid
    assert {name for name, valid in verdicts.items() if not valid} == set(WRONG_EXAMPLES)


def test_both_uk_core_lines_on_the_path_with_nothing_named_is_refused(settings: Settings) -> None:
    core_only = Context.build(settings, FhirVersion.R4)
    with pytest.raises(AmbiguousPackagesError) as raised:
        core_only.with_packages_defining([f"{UK}UKCore-Patient"])
    assert str(raised.value) == (
        f"{UK}UKCore-Patient is defined by 2 packages on the package path ({NEXT_PACKAGE}, {STU2_PACKAGE}); "
        f"name the one to use with --ig {NEXT_PACKAGE} or --ig {STU2_PACKAGE}"
    )
    # Only in the next line: nothing to decide.
    weight = f"{UK}UKCore-Observation-VitalSigns-BodyWeight"
    assert [p.id for p in core_only.with_packages_defining([weight]).packages][-1] == NEXT_PACKAGE
