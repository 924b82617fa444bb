"""Care Connect (FHIR STU3): the project's own payloads against the Care Connect base profiles.

The payloads are in fixtures/stu3: `valid/` holds one valid payload per resource type (with a few XML
twins), `invalid/` holds payloads that each break exactly one Care Connect rule of their valid twin. Every
rule named below was read from the differential of the profile in careconnect.stu3#1.0.0 (the package is
differential-only, so the engine generates the snapshots itself).

Tests compare errors as sorted `"<message id> @ <location>"` strings; warnings are allowed in valid payloads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.outcome import Severity
from conformance.validation import Validator

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conformance.outcome import Outcome
    from conformance.settings import Settings

pytestmark = pytest.mark.shared

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CARECONNECT_PACKAGE = SHARED / "fhir-packages" / "careconnect.stu3#1.0.0.tgz"
FIXTURES = REPO / "fixtures" / "stu3"
VALID = FIXTURES / "valid"
INVALID = FIXTURES / "invalid"
CARECONNECT = "careconnect.stu3#1.0.0"
CC = "https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-"

# Engine faults met by a payload would be named here; a test that meets one is a strict xfail (none today).

# Valid payloads: file -> the engine fault that stops it being clean today (None: clean).
VALID_PAYLOADS: dict[str, str | None] = {
    "patient.json": None,
    "practitioner.json": None,
    "organization.json": None,
    "encounter.json": None,
    "condition.json": None,
    "allergyintolerance.json": None,
    "medication.json": None,
    "medicationstatement.json": None,
    "observation.json": None,
    "observation-quantity.json": None,
    "bundle.json": None,
}


@dataclass(frozen=True)
class Defect:
    """A payload that breaks one rule of its valid twin: the rule, and the errors it must give."""

    twin: str
    rule: str
    errors: tuple[str, ...]
    engine_fault: str | None = None


DEFECTS: dict[str, Defect] = {
    "patient-nhs-number-unverified.json": Defect(
        "patient.json",
        "Patient.identifier:nhsNumber.extension:nhsNumberVerificationStatus 1..1",
        ("slice.min @ Patient.identifier[0]",),
    ),
    "patient-no-official-name.json": Defect(
        "patient.json",
        "Patient.name:official 1..1 (sliced by value of use)",
        ("slice.min @ Patient",),
    ),
    "patient-gender-not-in-valueset.json": Defect(
        "patient.json",
        "Patient.gender required binding CareConnect-AdministrativeGender-1 (and core administrative-gender)",
        # once per binding (core and Care Connect), each with the system a bare code cannot be given
        (
            "binding.code.system-unknown @ Patient.gender",
            "binding.code.system-unknown @ Patient.gender",
            "binding.required.not-in-valueset @ Patient.gender",
            "binding.required.not-in-valueset @ Patient.gender",
        ),
    ),
    "patient-marital-status-two-codings.json": Defect(
        "patient.json",
        "Patient.maritalStatus.coding 1..1",
        ("cardinality.max @ Patient.maritalStatus.coding[1]",),
    ),
    "patient-communication.json": Defect(
        "patient.json", "Patient.communication 0..0", ("cardinality.max @ Patient.communication[0]",)
    ),
    "practitioner-sds-user-id-no-value.json": Defect(
        "practitioner.json",
        "Practitioner.identifier:sdsUserID.value 1..",
        ("cardinality.min @ Practitioner.identifier[0]",),
    ),
    "practitioner-two-sds-user-ids.json": Defect(
        "practitioner.json", "Practitioner.identifier:sdsUserID 0..1", ("slice.max @ Practitioner",)
    ),
    "practitioner-communication.json": Defect(
        "practitioner.json",
        "Practitioner.communication 0..0",
        ("cardinality.max @ Practitioner.communication[0]",),
    ),
    "organization-two-ods-codes.json": Defect(
        "organization.json", "Organization.identifier:odsOrganisationCode 0..1", ("slice.max @ Organization",)
    ),
    "organization-contact-no-family.json": Defect(
        "organization.json",
        "Organization.contact.name.family 1..",
        ("cardinality.min @ Organization.contact[0].name",),
    ),
    "encounter-type-two-codings.json": Defect(
        "encounter.json", "Encounter.type.coding 0..1", ("cardinality.max @ Encounter.type[0].coding[1]",)
    ),
    "encounter-type-no-display.json": Defect(
        "encounter.json",
        "Encounter.type.coding:snomedCT.display 1..",
        ("cardinality.min @ Encounter.type[0].coding[0]",),
    ),
    "encounter-identifier-no-system.json": Defect(
        "encounter.json", "Encounter.identifier.system 1..", ("cardinality.min @ Encounter.identifier[0]",)
    ),
    "condition-verification-status.json": Defect(
        "condition.json",
        "Condition.verificationStatus 0..0",
        ("cardinality.max @ Condition.verificationStatus",),
    ),
    "condition-category-no-display.json": Defect(
        "condition.json",
        "Condition.category.coding.display 1..",
        ("cardinality.min @ Condition.category[0].coding[0]",),
    ),
    "allergyintolerance-no-asserted-date.json": Defect(
        "allergyintolerance.json",
        "AllergyIntolerance.assertedDate 1..",
        ("cardinality.min @ AllergyIntolerance",),
    ),
    "allergyintolerance-refuted.json": Defect(
        "allergyintolerance.json",
        "AllergyIntolerance.verificationStatus required binding CareConnect-AllergyVerificationStatus-1 "
        "(unconfirmed, confirmed: no refuted)",
        (
            "binding.code.system-unknown @ AllergyIntolerance.verificationStatus",
            "binding.required.not-in-valueset @ AllergyIntolerance.verificationStatus",
        ),
    ),
    "medication-form-not-snomed.json": Defect(
        "medication.json",
        "Medication.form.coding.system fixed http://snomed.info/sct",
        # the dm+d system is also outside the SNOMED CT-only CareConnect-MedicationForm-1 (required)
        (
            "binding.required.not-in-valueset @ Medication.form",
            "fixed.mismatch @ Medication.form.coding[0].system",
        ),
    ),
    "medication-form-no-display.json": Defect(
        "medication.json",
        "Medication.form.coding.display 1..",
        ("cardinality.min @ Medication.form.coding[0]",),
    ),
    "medicationstatement-two-last-issue-dates.json": Defect(
        "medicationstatement.json",
        "MedicationStatement.extension:lastIssueDate 0..1",
        ("slice.max @ MedicationStatement",),
    ),
    "medicationstatement-last-issue-date-as-string.json": Defect(
        "medicationstatement.json",
        "Extension-CareConnect-MedicationStatementLastIssueDate-1 value[x] is dateTime",
        ("type.choice.not-allowed @ MedicationStatement.extension[0].value",),
    ),
    "medicationstatement-route-no-display.json": Defect(
        "medicationstatement.json",
        "MedicationStatement.dosage.route.coding:snomedCT.display 1..",
        ("cardinality.min @ MedicationStatement.dosage[0].route.coding[0]",),
    ),
    "observation-snomed-version.json": Defect(
        "observation.json",
        "Observation.code.coding:snomedCT.version 0..0",
        ("cardinality.max @ Observation.code.coding[0].version",),
    ),
    "observation-identifier-no-value.json": Defect(
        "observation.json",
        "Observation.identifier.value 1..",
        ("cardinality.min @ Observation.identifier[0]",),
    ),
    "bundle-entry-no-fullurl.json": Defect(
        "bundle.json",
        "Bundle.entry.fullUrl, required outside transactions and batches",
        ("bundle.fullurl-missing @ Bundle.entry[1]",),
    ),
    "bundle-patient-nhs-number-unverified.json": Defect(
        "bundle.json",
        "Patient.identifier:nhsNumber.extension:nhsNumberVerificationStatus 1..1, inside a Bundle entry",
        ("slice.min @ Bundle.entry[0].resource.identifier[0]",),
    ),
}

# XML twins of JSON payloads: the same verdict, issue for issue.
XML_TWINS = {
    "valid/patient.xml": "valid/patient.json",
    "valid/condition.xml": "valid/condition.json",
    "valid/bundle.xml": "valid/bundle.json",
    "invalid/patient-nhs-number-unverified.xml": "invalid/patient-nhs-number-unverified.json",
}


@pytest.fixture(scope="module")
def careconnect(shared_settings: Settings) -> Validator:
    if not CARECONNECT_PACKAGE.is_file():
        pytest.skip(f"needs the Care Connect package at {CARECONNECT_PACKAGE}")
    return Validator(Context.build(shared_settings, FhirVersion.STU3, igs=[CARECONNECT]))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _profiles_for(path: Path) -> list[str]:
    """The Care Connect profile of the payload's type; a Bundle (Care Connect has none) uses meta.profile."""
    resource_type = _load(path.with_suffix(".json"))["resourceType"]
    return [] if resource_type == "Bundle" else [f"{CC}{resource_type}-1"]


def _validate(validator: Validator, path: Path) -> Outcome:
    return validator.validate(path, profiles=_profiles_for(path))


def _errors(outcome: Outcome) -> list[str]:
    return sorted(f"{issue.message_id} @ {issue.location}" for issue in outcome.errors)


def _fault_mark(reason: str | None) -> Any:
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason) if reason else ()


def _params(table: dict[str, Any], fault: Any) -> list[Any]:
    return [
        pytest.param(name, id=name.removesuffix(".json"), marks=_fault_mark(fault(value)))
        for name, value in table.items()
    ]


@pytest.mark.parametrize("name", _params(VALID_PAYLOADS, lambda fault: fault))
def test_valid_payload_has_no_errors(careconnect: Validator, name: str) -> None:
    assert _errors(_validate(careconnect, VALID / name)) == []


@pytest.mark.parametrize("name", _params(DEFECTS, lambda defect: defect.engine_fault))
def test_defect_gives_exactly_its_errors(careconnect: Validator, name: str) -> None:
    assert _errors(_validate(careconnect, INVALID / name)) == sorted(DEFECTS[name].errors)


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_differs_from_its_twin_in_one_place(name: str) -> None:
    differences = list(_differences(_load(VALID / DEFECTS[name].twin), _load(INVALID / name)))
    assert len(differences) == 1, differences


def _differences(before: Any, after: Any, path: str = "") -> Iterator[str]:
    """The JSON paths where two documents differ: a value changed, or a key or array item added or removed.

    A choice element given another type (`valueDateTime` -> `valueString`) is one difference, at `value[x]`.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        changed_keys = {f"{path}.{_choice_stem(key)}" for key in before.keys() ^ after.keys()}
        yield from sorted(changed_keys)
        for key in sorted(before.keys() & after.keys()):
            yield from _differences(before[key], after[key], f"{path}.{key}")
    elif isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            if index >= len(before) or index >= len(after):
                yield f"{path}[{index}]"
            else:
                yield from _differences(before[index], after[index], f"{path}[{index}]")
    elif before != after or type(before) is not type(after):
        yield path


def _choice_stem(key: str) -> str:
    """`valueDateTime` -> `value[x]`: the lower-case stem of a choice element's name, else the key itself."""
    stem = re.match(r"[a-z]+(?=[A-Z])", key)
    return f"{stem.group(0)}[x]" if stem else key


def test_declared_profile_alone_gives_the_same_errors(careconnect: Validator) -> None:
    # meta.profile names the Care Connect profile, so asking for it explicitly adds nothing and loses nothing
    path = INVALID / "patient-nhs-number-unverified.json"
    assert _errors(careconnect.validate(path)) == _errors(_validate(careconnect, path))


def test_errors_name_the_care_connect_rule(careconnect: Validator) -> None:
    (issue,) = _validate(careconnect, INVALID / "patient-nhs-number-unverified.json").errors
    assert issue.profile is not None and issue.profile.startswith(f"{CC}Patient-1|")
    assert issue.element_id == "Patient.identifier:nhsNumber.extension:nhsNumberVerificationStatus"
    assert issue.line is not None


@pytest.mark.parametrize(
    "xml_name",
    [
        pytest.param(
            name,
            id=name,
            marks=_fault_mark(
                VALID_PAYLOADS.get(Path(json_name).name) if name.startswith("valid/") else None
            ),
        )
        for name, json_name in XML_TWINS.items()
    ],
)
def test_xml_twin_validates_like_its_json(careconnect: Validator, xml_name: str) -> None:
    from_xml = _errors(_validate(careconnect, FIXTURES / xml_name))
    from_json = _errors(_validate(careconnect, FIXTURES / XML_TWINS[xml_name]))
    assert from_xml == from_json
    expected = DEFECTS.get(Path(XML_TWINS[xml_name]).name)
    assert from_xml == (sorted(expected.errors) if expected else [])


def test_every_fixture_is_listed() -> None:
    assert {path.name for path in VALID.glob("*.json")} == set(VALID_PAYLOADS)
    assert {path.name for path in INVALID.glob("*.json")} == set(DEFECTS)
    assert {str(path.relative_to(FIXTURES)) for path in FIXTURES.glob("*/*.xml")} == set(XML_TWINS)
    assert {defect.twin for defect in DEFECTS.values()} <= set(VALID_PAYLOADS)


# ---- bad input under STU3: what other FHIR versions' shapes, broken files and wrong profiles give


def _patient() -> dict[str, Any]:
    return _load(VALID / "patient.json")


def test_r4_shape_is_wrong_in_stu3(careconnect: Validator) -> None:
    # R4 made Condition.clinicalStatus a CodeableConcept; in STU3 it is a code
    condition = _load(VALID / "condition.json")
    condition["clinicalStatus"] = {
        "coding": [{"system": "http://hl7.org/fhir/condition-clinical", "code": "active"}]
    }
    outcome = careconnect.validate(condition, profiles=[f"{CC}Condition-1"])
    assert [issue.message_id for issue in outcome.errors] == ["type.json-type"]
    assert outcome.errors[0].location == "Condition.clinicalStatus"


def test_dstu2_element_is_unknown_in_stu3(careconnect: Validator) -> None:
    # DSTU2's Practitioner.practitionerRole became the PractitionerRole resource in STU3
    practitioner = _load(VALID / "practitioner.json")
    practitioner["practitionerRole"] = [{"role": {"text": "GP"}}]
    outcome = careconnect.validate(practitioner, profiles=[f"{CC}Practitioner-1"])
    assert _errors(outcome) == ["structure.unknown-property @ Practitioner.practitionerRole"]


def test_profile_for_another_type(careconnect: Validator) -> None:
    outcome = careconnect.validate(_patient(), profiles=[f"{CC}Observation-1"])
    assert "profile.wrong-type" in {issue.message_id for issue in outcome.errors}


def test_unknown_profile_asked_for_is_an_error_and_declared_is_a_warning(careconnect: Validator) -> None:
    patient = _patient()
    patient["meta"]["profile"] = [f"{CC}Patient-9"]
    outcome = careconnect.validate(patient, profiles=[f"{CC}Patient-8"])
    unknown = [issue for issue in outcome.issues if issue.message_id == "profile.unknown"]
    assert sorted((issue.severity.value, issue.location) for issue in unknown) == [
        (Severity.ERROR.value, "Patient"),
        (Severity.WARNING.value, "Patient.meta.profile"),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"resourceType": "Patient", "identifier": [', id="truncated-json"),
        pytest.param(b"<Patient xmlns='http://hl7.org/fhir'><id value='x'/>", id="truncated-xml"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"", id="empty"),
    ],
)
def test_broken_payload_is_fatal_not_an_exception(careconnect: Validator, payload: bytes) -> None:
    outcome = careconnect.validate(payload, profiles=[f"{CC}Patient-1"])
    assert not outcome.valid
    assert [issue.severity for issue in outcome.issues] == [Severity.FATAL]


def test_large_collection_reports_each_broken_entry(careconnect: Validator) -> None:
    # 400 Care Connect Patients, every 40th without its NHS number verification status: 10 errors, in order
    entries = []
    for index in range(400):
        patient = _patient()
        patient["id"] = f"p{index}"
        del patient["generalPractitioner"]  # the Organization is not in this Bundle
        if index % 40 == 39:
            del patient["identifier"][0]["extension"]
        entries.append(
            {"fullUrl": f"https://fhir.example-practice.nhs.uk/fhir/Patient/p{index}", "resource": patient}
        )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    outcome = careconnect.validate(json.dumps(bundle).encode())
    assert _errors(outcome) == sorted(
        f"slice.min @ Bundle.entry[{i}].resource.identifier[0]" for i in range(39, 400, 40)
    )
