"""NHS England STU3 examples: each validates against the profile it claims with no errors, unless wrong.

The 189 examples and the example -> claimed profile map (meta.profile[0]; 10 examples claim none and are
checked against their core type and the profiles their contents declare) are in
../shared/fhir-packages/_examples (see SOURCES.md there). The profiles come from
nhsconnect.stu3-fhir-assets, whose dependencies bring in the Care Connect base (careconnect.stu3) and the
STU3 core.

Examples that are wrong are listed in WRONG_EXAMPLES with the faults they have. Each fault in FAULTS quotes
the rule it breaks, as read in the definitions (element id, cardinality, binding, invariant, extension
context), says which message ids it gives, and, where a fault can be seen in the file itself, a text the file
must contain. Some faults are in the definitions rather than the example (a profile contradicting an
extension's context, a value set that includes the wrong code system); they are listed all the same, since
no example can be valid against them. The lists are exact: an example that becomes clean, or gives other
message ids, fails its test, so the lists cannot go stale. docs/stu3.md carries the same table for users.

Where the engine, not the example, is wrong, the example is in ENGINE_BUGS and its test is a strict xfail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.validation import Validator

if TYPE_CHECKING:
    from conformance.outcome import Outcome
    from conformance.settings import Settings

pytestmark = pytest.mark.shared

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PACKAGES = SHARED / "fhir-packages"
EXAMPLES = PACKAGES / "_examples" / "careconnect-stu3"
PROFILE_MAP = PACKAGES / "_examples" / "careconnect-stu3-profiles.json"
NHS_ASSETS = "nhsconnect.stu3-fhir-assets#0.0.0-develop.20241024"
NHS_ASSETS_PACKAGE = PACKAGES / f"{NHS_ASSETS}.tgz"


@dataclass(frozen=True)
class Fault:
    """A rule an example breaks, quoted from the definitions; the error ids it gives; a text that shows it."""

    rule: str
    ids: tuple[str, ...]
    evidence: str | None = None


CC = "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
NHS = "https://fhir.nhs.uk/STU3/StructureDefinition/"

FAULTS: dict[str, Fault] = {
    # ---- the JSON format
    "fhir_comments": Fault(
        "`fhir_comments` properties: DSTU2's JSON comment convention, not part of STU3 JSON (the HL7 "
        "validator "
        "accepts it for DSTU2 only and reports 'Unrecognised property' for STU3)",
        ("structure.unknown-property",),
        '"fhir_comments"',
    ),
    "numbers_as_strings": Fault(
        'decimal and integer values written as JSON strings (Quantity.value "40", multipleBirthInteger "1"); '
        "their XML twins are right",
        ("type.json-type",),
    ),
    "empty_system": Fault(
        '`"system": ""`: an empty string is not a valid uri value', ("type.empty-string",), '"system": ""'
    ),
    "code_whitespace": Fault(
        "code ' 169922007' (leading space) breaks the code type's regex, and so is not in "
        "DCH-APGARScoreObservation-1 "
        "(required)",
        ("binding.required.not-in-valueset", "type.code"),
        '" 169922007"',
    ),
    "bad_uuid": Fault(
        "fullUrl urn:uuid:ea41d09b-8c90-4856-9955-4d318ee890e99 has 13 hex digits in its last group",
        ("type.uuid",),
        "ea41d09b-8c90-4856-9955-4d318ee890e99",
    ),
    "attachment_indexed": Fault(
        "DocumentReference.indexed is an instant (1..1): 2017-08-14T02:47:12 has no timezone",
        ("type.datetime.timezone",),
        '"2017-08-14T02:47:12"',
    ),
    # ---- identifiers and codes checked offline (see docs/terminology.md)
    "nhs_number_check_digit": Fault(
        "an NHS number whose Modulus 11 check digit is wrong (NHS Data Dictionary, which the Care Connect "
        "NamingSystem uk-nhs-number refers to; profiles/identifiers/uk-identifiers.toml makes it an error; "
        "the HL7 validator does not check it)",
        ("identifier.nhs-number.check-digit",),
    ),
    "sct_check_digit": Fault(
        "SNOMED CT code 71078501000000104 whose Verhoeff check digit is wrong",
        ("identifier.sct.check-digit",),
        "71078501000000104",
    ),
    "display_mismatch": Fault(
        "a display that is not the code system's (NDOP-OptOutSource-1 OP is 'Online Process', not 'Online "
        "Portal'; DCH-ChildHealthEventType-1 CH019 is 'Medication Statement', CH024 'NIPE outcome', CH026 "
        "'Professional Summary')",
        ("terminology.display-mismatch",),
    ),
    "display_whitespace": Fault(
        "a display with a leading or trailing space (' General Medical Practitioner', 'Patient no longer at "
        "this "
        "clinical setting ')",
        ("terminology.display-whitespace",),
    ),
    # ---- versions of FHIR
    "dstu2_practitioner_role": Fault(
        "Practitioner.practitionerRole is DSTU2; STU3 moved it to the PractitionerRole resource",
        ("structure.unknown-property",),
        '"practitionerRole"',
    ),
    # ---- definitions that are not there
    "undefined_profile": Fault(
        "meta.profile claims a profile no package defines (Audit-Organization-1, Audit-Patient-1, "
        "Audit-Practitioner-1; NRLS-DocumentReference-1, where the package has NRL-DocumentReference-1)",
        ("profile.unknown",),
    ),
    "undefined_extension": Fault(
        "an extension no package defines (Extension-CareConnect-CareSettingType-1, Extension-NDOP-Proxy-1): "
        "an unknown extension is not allowed (the HL7 validator's default)",
        ("extension.unknown-not-allowed",),
    ),
    "nhs_net_extensions": Fault(
        "extension urls under https://fhir.nhs.net/STU3/ (the DCH extensions are "
        "https://fhir.nhs.uk/STU3/...): "
        "undefined, so not allowed",
        ("extension.unknown-not-allowed",),
        "https://fhir.nhs.net/STU3/StructureDefinition/Extension-DCH",
    ),
    "verification_status_domain": Fault(
        f"{NHS}Extension-CareConnect-NHSNumberVerificationStatus-1 instead of {CC}"
        "Extension-CareConnect-NHSNumberVerificationStatus-1: undefined, and so the slice "
        "Patient.identifier:nhsNumber.extension:nhsNumberVerificationStatus (1..1) is missing",
        ("extension.unknown-not-allowed", "slice.min"),
        f"{NHS}Extension-CareConnect-NHSNumberVerificationStatus-1",
    ),
    "codesystem_url_without_codesystem": Fault(
        "coding system https://fhir.hl7.org.uk/STU3/CareConnect-NHSNumberVerificationStatus-1 (and "
        "...CareConnect-EthnicCategory-1) without /CodeSystem/: not in the required CareConnect value sets",
        ("binding.required.not-in-valueset",),
        "https://fhir.hl7.org.uk/STU3/CareConnect-",
    ),
    "rarecord_codesystems": Fault(
        "coding systems https://fhir.nhs.uk/STU3/CodeSystem/CodeSystem-RARecord-... where the profiles fix "
        "https://fhir.nhs.uk/STU3/CodeSystem/RARecord-... (fixedUri) and bind the RARecord value sets "
        "(required)",
        ("binding.required.not-in-valueset", "fixed.mismatch"),
        "CodeSystem/CodeSystem-RARecord-",
    ),
    "referral_letter_intention": Fault(
        "code NEED_TO_ADD_LATER, with the value set url as its system: not in eRS-ReferralLetterIntention-1 "
        "(required)",
        ("binding.required.not-in-valueset",),
        "NEED_TO_ADD_LATER",
    ),
    "specialty_valueset": Fault(
        "eRS-Specialty-1 (required) includes only the code system eRS-ReferralType-1 (a fault in the value "
        "set): "
        "no specialty code can be in it",
        ("binding.required.not-in-valueset",),
        "DIAGNOSTIC_PATHOLOGY",
    ),
    # ---- cardinalities
    "messageheader_id": Fault(
        "DCH-MessageHeader-1 MessageHeader.id 1..1: the JSON original's resources have no ids (its XML twin "
        "has)",
        ("cardinality.min",),
    ),
    "messageheader_destination": Fault(
        "DCH-MessageHeader-1 MessageHeader.destination 1..1", ("cardinality.min",)
    ),
    "provenance_activity": Fault(
        "the contained RARecord-Provenance-1 Provenance has no activity: Provenance.activity 1..1",
        ("cardinality.min",),
    ),
    "consent_provenance_target": Fault(
        "the contained RARecord-Provenance-1 Provenance targets its Consent: RARecord-Provenance-1 "
        "Provenance.target allows only Condition and Flag",
        ("reference.target-type",),
    ),
    "asserted_date": Fault(
        "CareConnect-ITK-AllergyIntolerance-1 AllergyIntolerance.assertedDate 1..1 (from "
        "CareConnect-AllergyIntolerance-1)",
        ("cardinality.min",),
    ),
    "ems_birthdate": Fault("CareConnect-EMS-Patient-1 Patient.birthDate 1..1", ("cardinality.min",)),
    "communication_sent": Fault("EMS-Communication-1 Communication.sent 1..1", ("cardinality.min",)),
    "dch_vital_signs": Fault(
        "CareConnect-HeartRate-Observation-1 Observation.basedOn 1..1, and Observation.effective[x] 1..1 in "
        "the "
        "HeartRate, RespiratoryRate and BloodPressure profiles",
        ("cardinality.min",),
    ),
    "mrs_vital_signs": Fault(
        "vital-sign Observations without valueQuantity.code (1..1, fixed per profile), HeartRate without "
        "basedOn "
        "(1..1), and an OxygenSaturation SNOMED CT display other than the fixed 'Blood oxygen saturation'",
        ("cardinality.min", "fixed.mismatch"),
        "Hemoglobin saturation with oxygen",
    ),
    "itk_message_handling": Fault(
        "ITK-MessageHeader-2 MessageHeader.extension:ITKMessageHandling 1..1 is missing", ("slice.min",)
    ),
    "request_flow_type": Fault(
        "Extension-eRS-ServiceSummaryView-1 sub-extension supportedRequestFlowType 1..2: the JSON original "
        "calls "
        "it requestFlowType (its XML twin is right)",
        ("slice.min",),
        '"requestFlowType"',
    ),
    "payload_removed": Fault(
        'an entry holding an empty {"resourceType": "Bundle"}: Bundle.type 1..1, and bdl-9 (evaluated on a '
        "Bundle with no type, as the HL7 validator does)",
        ("cardinality.min", "invariant.failed"),
    ),
    "sds_job_role": Fault(
        "CareConnect-DCH-PractitionerRole-1 slices PractitionerRole.code by value:coding.system; slice "
        "sdsJobRoleName has coding 1..1 with system fixed to CareConnect-SDSJobRoleName-1. One "
        "CodeableConcept "
        "holds the SDS job role and the DCH key worker code, so it matches two slices and breaks the first",
        ("cardinality.max", "fixed.mismatch", "slice.ambiguous"),
    ),
    "patient_name_slices": Fault(
        "CareConnect-DCH-Patient-1, CareConnect-EMS-Patient-1 and the EMS-PDS Baby and Mother profiles slice "
        "Patient.name by value:use into official (use fixed 'official') and other (use 1..1, bound required "
        "to "
        "CareConnect-NameUse-1, which includes official). A value discriminator also matches by a required "
        "binding (as in the HL7 validator), so every official name matches both slices: a fault in the "
        "profiles",
        ("slice.ambiguous",),
    ),
    "care_provision_type": Fault(
        "EpisodeOfCare.type coding fixed to EMS-PDS-PatientCareProvisionType-1#1 'Primary care' (required "
        "binding); the example has SNOMED CT 408443003",
        ("binding.required.not-in-valueset", "fixed.mismatch"),
        "408443003",
    ),
    "nullify_task": Fault(
        "EMS-FailsafeAlertNullify-Task-1 Task.focus 1..1 is missing, and Task.reason's system is "
        "EMS-NullifyFailsafeAlertReason-1 where EMS-FailsafeAlertNullifyReason-1 is fixed (required binding)",
        ("binding.required.not-in-valueset", "cardinality.min", "fixed.mismatch"),
        "EMS-NullifyFailsafeAlertReason-1",
    ),
    "ers_bundle": Fault(
        "eRS-ServiceSearchResponse-Bundle-1 Bundle.total 1..1; Extension-eRS-ServiceSearchResponse-Bundle-1 "
        "(context Bundle) on Bundle.entry; commissioningType and capacityStatus sub-extensions valueCoding "
        "only, "
        "given valueCodeableConcept; eRS-AdditionalRequirementType-1 codes 01 and 02 (unknown: the code "
        "system "
        "has TRANSPORT, INTERPRETER, ADVOCACY); eRS-HealthcareService-1 identifier.system 1..1 and specialty "
        "0..0",
        (
            "binding.required.not-in-valueset",
            "cardinality.max",
            "cardinality.min",
            "extension.context",
            "terminology.unknown-code",
            "type.choice.not-allowed",
        ),
    ),
    # ---- types of references and of choice elements
    "service_provider_target": Fault(
        "Encounter.serviceProvider is Reference(Organization) (core; CareConnect-DCH-Encounter-1 narrows it "
        "to "
        "CareConnect-Organization-1); the example points at a HealthcareService or a Location",
        ("reference.target-type",),
    ),
    "role_organization_target": Fault(
        "PractitionerRole.organization is Reference(Organization); the example points at a Location",
        ("reference.target-type",),
    ),
    "practitioner_target": Fault(
        "PractitionerRole.practitioner is Reference(Practitioner); the example points at an Organization",
        ("reference.target-type",),
    ),
    "communication_sender": Fault(
        "the DCH Communication profiles restrict Communication.sender to Practitioner; the example points "
        "at a "
        "RelatedPerson or a HealthcareService (not even allowed by the core)",
        ("reference.target-type",),
    ),
    "diagnosis_subject_profile": Fault(
        "CareConnect-DCH-Diagnosis-Condition-1 Condition.subject lists Reference(Group) and a Reference "
        "whose "
        "`profile` (not targetProfile) is CareConnect-DCH-Patient-1, so Group is the only allowed target (a "
        "fault "
        "in the profile); the example's subject is a Patient",
        ("reference.target-type",),
    ),
    "feeding_date": Fault(
        "DCH-FeedingStatus-QuestionnaireResponse-1 item:introductionOfSolids.answer.valueDateTime 1..1 "
        "(dateTime only); the example answers valueDate",
        ("type.choice.not-allowed",),
    ),
    # ---- extension contexts
    "birthtime_context": Fault(
        "patient-birthTime (context Patient.birthDate) on RelatedPerson.birthDate",
        ("extension.context",),
        "patient-birthTime",
    ),
    "admission_method_context": Fault(
        "Extension-CareConnect-AdmissionMethod-1 (context Encounter.hospitalization) on Encounter",
        ("extension.context",),
        "Extension-CareConnect-AdmissionMethod-1",
    ),
    "qr_note_context": Fault(
        "DCH-SocialContextHousehold-QuestionnaireResponse-1 puts questionnaireresponse-note on "
        "QuestionnaireResponse.item.answer, but the extension's context is QuestionnaireResponse and "
        "QuestionnaireResponse.item (a fault in the profile)",
        ("extension.context",),
        "questionnaireresponse-note",
    ),
    "system_effective_period_context": Fault(
        "Extension-PDS-SystemEffectivePeriod-1 has context StructureDefinition (a fault in the definition); "
        "it is "
        "used on an EpisodeOfCare",
        ("extension.context",),
        "Extension-PDS-SystemEffectivePeriod-1",
    ),
    "shortlist_context": Fault(
        "Extension-eRS-PathwayServiceFor-Shortlist-1 has contextType extension with context List.entry.item "
        "(a "
        "path, not an extension url: a fault in the definition), so it is allowed nowhere",
        ("extension.context",),
        "Extension-eRS-PathwayServiceFor-Shortlist-1",
    ),
    # ---- invariants
    "con3": Fault(
        "con-3: Condition.clinicalStatus SHALL be present if verificationStatus is not entered-in-error",
        ("invariant.failed",),
    ),
    # ---- Bundles
    "fullurl_missing": Fault(
        "an entry without fullUrl in a Bundle that is not a transaction or batch", ("bundle.fullurl-missing",)
    ),
    "fullurl_relative": Fault(
        "fullUrl not absolute ('[baseURL]/Patient/...', a bare uuid)", ("bundle.fullurl-relative",)
    ),
    "bundle_reference_missing": Fault(
        "in a message Bundle, MessageHeader.focus names an urn:uuid that no entry has (the HL7 validator "
        "requires the focus to resolve; other references no entry has, such as MessageHeader.receiver, get a "
        "warning)",
        ("reference.bundle-not-found",),
    ),
}

# Examples that are wrong: file -> its faults (keys of FAULTS). Every other example must have no errors.
WRONG_EXAMPLES: dict[str, tuple[str, ...]] = {
    "Audit-Organization-Example-1.json": ("undefined_profile",),
    "Audit-Patient-Example-1.json": ("undefined_profile", "nhs_number_check_digit"),
    "Audit-Practitioner-Example-1a.json": ("undefined_profile",),
    "Audit-Practitioner-Example-1b.json": ("undefined_profile", "dstu2_practitioner_role"),
    "CareConnect-ITK-DM-AllergyIntolerance-1-Example1.json": ("asserted_date",),
    "CareConnect-RARecord-Condition-1-example1.json": ("provenance_activity",),
    "CareConnect-RARecord-Condition-1-example1.xml.json": ("provenance_activity",),
    "CareConnect-RARecord-Condition-1-example2.json": ("provenance_activity",),
    "CareConnect-RARecord-Condition-1-example2.xml.json": ("provenance_activity",),
    "CareConnect-RARecord-List-1-example.json": ("fhir_comments",),
    "Consent-Example-1.json": ("fhir_comments", "display_mismatch"),
    "Consent-Example-2.json": ("fhir_comments", "display_mismatch", "undefined_extension"),
    "Consent-Example-2.xml.json": ("undefined_extension",),
    "DCH-AdditionalDemographics-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_destination",
        "messageheader_id",
        "patient_name_slices",
    ),
    "DCH-AdditionalDemographics-Bundle-Example-1.xml.json": (
        "messageheader_destination",
        "patient_name_slices",
    ),
    "DCH-AdmissionDetails-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "patient_name_slices",
    ),
    "DCH-AdmissionDetails-Bundle-Example-1.xml.json": ("patient_name_slices",),
    "DCH-AllergiesAndAdverseReactions-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "verification_status_domain",
        "service_provider_target",
        "patient_name_slices",
    ),
    "DCH-AllergiesAndAdverseReactions-Bundle-Example-1.xml.json": (
        "verification_status_domain",
        "service_provider_target",
        "patient_name_slices",
    ),
    "DCH-AssessmentScales-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-AssessmentScales-Bundle-Example-1.xml.json": ("role_organization_target", "patient_name_slices"),
    "DCH-BirthDetails-Bundle-Example-1.json": (
        "numbers_as_strings",
        "code_whitespace",
        "patient_name_slices",
    ),
    "DCH-BirthDetails-Bundle-Example-1.xml.json": ("code_whitespace", "patient_name_slices"),
    "DCH-BloodSpotCardReceived-Bundle-Example-1.json": ("service_provider_target", "patient_name_slices"),
    "DCH-BloodSpotCardReceived-Bundle-Example-1.xml.json": ("service_provider_target", "patient_name_slices"),
    "DCH-BloodSpotSampleTaken-Bundle-Example-1.json": ("service_provider_target", "patient_name_slices"),
    "DCH-BloodSpotSampleTaken-Bundle-Example-1.xml.json": ("service_provider_target", "patient_name_slices"),
    "DCH-BloodSpotTestOutcome-Bundle-Example-1.json": ("service_provider_target", "patient_name_slices"),
    "DCH-BloodSpotTestOutcome-Bundle-Example-1.xml.json": ("service_provider_target", "patient_name_slices"),
    "DCH-ClinicalRiskFactors-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "sct_check_digit",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-ClinicalRiskFactors-Bundle-Example-1.xml.json": (
        "sct_check_digit",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-DevelopmentalSkills-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "con3",
        "patient_name_slices",
    ),
    "DCH-DevelopmentalSkills-Bundle-Example-1.xml.json": ("con3", "patient_name_slices"),
    "DCH-DischargeDetails-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "patient_name_slices",
    ),
    "DCH-DischargeDetails-Bundle-Example-1.xml.json": ("patient_name_slices",),
    "DCH-EarlyYearsProgress-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "patient_name_slices",
    ),
    "DCH-EarlyYearsProgress-Bundle-Example-1.xml.json": ("patient_name_slices",),
    "DCH-EducationalHistory-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "sct_check_digit",
        "birthtime_context",
        "communication_sender",
        "patient_name_slices",
    ),
    "DCH-EducationalHistory-Bundle-Example-1.xml.json": (
        "sct_check_digit",
        "birthtime_context",
        "communication_sender",
        "patient_name_slices",
    ),
    "DCH-EmergencyCareAttendance-Bundle-Example-1.json": (
        "service_provider_target",
        "fullurl_missing",
        "patient_name_slices",
    ),
    "DCH-EmergencyCareAttendance-Bundle-Example-1.xml.json": (
        "service_provider_target",
        "fullurl_missing",
        "patient_name_slices",
    ),
    "DCH-ExaminationFindings-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "patient_name_slices",
    ),
    "DCH-ExaminationFindings-Bundle-Example-1.xml.json": ("patient_name_slices",),
    "DCH-FamilyHistory-Bundle-Example-1.json": (
        "messageheader_destination",
        "service_provider_target",
        "patient_name_slices",
    ),
    "DCH-FamilyHistory-Bundle-Example-1.xml.json": (
        "messageheader_destination",
        "service_provider_target",
        "patient_name_slices",
    ),
    "DCH-FeedingStatus-Bundle-Example-1.json": (
        "messageheader_destination",
        "sct_check_digit",
        "feeding_date",
        "patient_name_slices",
    ),
    "DCH-FeedingStatus-Bundle-Example-1.xml.json": (
        "messageheader_destination",
        "sct_check_digit",
        "feeding_date",
        "patient_name_slices",
    ),
    "DCH-IndividualRequirements-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "patient_name_slices",
    ),
    "DCH-IndividualRequirements-Bundle-Example-1.xml.json": ("patient_name_slices",),
    "DCH-InformationandAdviceGiven-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "sct_check_digit",
        "patient_name_slices",
    ),
    "DCH-InformationandAdviceGiven-Bundle-Example-1.xml.json": ("sct_check_digit", "patient_name_slices"),
    "DCH-InvestigationResults-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-InvestigationResults-Bundle-Example-1.xml.json": ("role_organization_target", "patient_name_slices"),
    "DCH-LegalInformation-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "patient_name_slices",
    ),
    "DCH-LegalInformation-Bundle-Example-1.xml.json": ("patient_name_slices",),
    "DCH-Medication-Bundle-Example-1.json": (
        "display_mismatch",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-Medication-Bundle-Example-1.xml.json": (
        "display_mismatch",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-MedicationAdministration-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "patient_name_slices",
    ),
    "DCH-MedicationAdministration-Bundle-Example-1.xml.json": ("patient_name_slices",),
    "DCH-MedicationStatement-Bundle-Example-1-.json": (
        "fhir_comments",
        "messageheader_id",
        "patient_name_slices",
    ),
    "DCH-MedicationStatement-Bundle-Example-1-.xml.json": ("patient_name_slices",),
    "DCH-NIPE-Outcome-Bundle-Example-1.json": ("fhir_comments", "messageheader_id", "patient_name_slices"),
    "DCH-NIPE-Outcome-Bundle-Example-1.xml.json": ("patient_name_slices",),
    "DCH-NewbornHearing-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-NewbornHearing-Bundle-Example-1.xml.json": ("role_organization_target", "patient_name_slices"),
    "DCH-Observation-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "dch_vital_signs",
        "patient_name_slices",
    ),
    "DCH-Observation-Bundle-Example-1.xml.json": ("dch_vital_signs", "patient_name_slices"),
    "DCH-ParentGuardianorPersonalComment-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "birthtime_context",
        "communication_sender",
        "patient_name_slices",
    ),
    "DCH-ParentGuardianorPersonalComment-Bundle-Example-1.xml.json": (
        "birthtime_context",
        "communication_sender",
        "patient_name_slices",
    ),
    "DCH-PersonalContacts-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-PersonalContacts-Bundle-Example-1.xml.json": (
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-PhysicalExamination-Bundle-Example-1.json": (
        "display_mismatch",
        "empty_system",
        "service_provider_target",
        "patient_name_slices",
    ),
    "DCH-PhysicalExamination-Bundle-Example-1.xml.json": (
        "display_mismatch",
        "empty_system",
        "service_provider_target",
        "patient_name_slices",
    ),
    "DCH-PlanandRequestedActions-Bundle-Example-1.json": (
        "messageheader_destination",
        "sct_check_digit",
        "nhs_net_extensions",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-PlanandRequestedActions-Bundle-Example-1.xml.json": (
        "messageheader_destination",
        "sct_check_digit",
        "nhs_net_extensions",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-ProblemList-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "con3",
        "diagnosis_subject_profile",
        "patient_name_slices",
    ),
    "DCH-ProblemList-Bundle-Example-1.xml.json": ("con3", "diagnosis_subject_profile", "patient_name_slices"),
    "DCH-ProfessionalComment-Bundle-Example-1.json": (
        "messageheader_destination",
        "display_mismatch",
        "communication_sender",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-ProfessionalComment-Bundle-Example-1.xml.json": (
        "messageheader_destination",
        "display_mismatch",
        "communication_sender",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-ProfessionalContact-Professional-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "sct_check_digit",
        "sds_job_role",
        "patient_name_slices",
    ),
    "DCH-ProfessionalContact-Professional-Bundle-Example-1.xml.json": (
        "sct_check_digit",
        "sds_job_role",
        "patient_name_slices",
    ),
    "DCH-ProfessionalContact-Team-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "sct_check_digit",
        "sds_job_role",
        "patient_name_slices",
    ),
    "DCH-ProfessionalContact-Team-Bundle-Example-1.xml.json": (
        "sct_check_digit",
        "sds_job_role",
        "patient_name_slices",
    ),
    "DCH-Referral-Bundle-Example-1.json": ("service_provider_target", "empty_system", "patient_name_slices"),
    "DCH-SafetyAlerts-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "sct_check_digit",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-SafetyAlerts-Bundle-Example-1.xml.json": (
        "sct_check_digit",
        "service_provider_target",
        "role_organization_target",
        "patient_name_slices",
    ),
    "DCH-SocialContext-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "service_provider_target",
        "patient_name_slices",
    ),
    "DCH-SocialContext-Bundle-Example-1.xml.json": ("service_provider_target", "patient_name_slices"),
    "DCH-SocialContextHousehold-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "sct_check_digit",
        "qr_note_context",
        "patient_name_slices",
    ),
    "DCH-SocialContextHousehold-Bundle-Example-1.xml.json": (
        "sct_check_digit",
        "qr_note_context",
        "patient_name_slices",
    ),
    "DCH-Vaccination-Bundle-Example-1.json": (
        "fhir_comments",
        "messageheader_id",
        "display_whitespace",
        "patient_name_slices",
    ),
    "DCH-Vaccination-Bundle-Example-1.xml.json": ("display_whitespace", "patient_name_slices"),
    "EMS-FailsafeAlert-Bundle-Example-1.json": ("codesystem_url_without_codesystem", "patient_name_slices"),
    "EMS-FailsafeAlert-Bundle-Example-2.json": ("codesystem_url_without_codesystem", "patient_name_slices"),
    "EMS-FailsafeAlert-Bundle-Example-3.json": ("codesystem_url_without_codesystem", "patient_name_slices"),
    "EMS-FailsafeAlert-Bundle-Example-4.json": ("codesystem_url_without_codesystem", "patient_name_slices"),
    "EMS-FailsafeAlert-Bundle-Example-5.json": ("codesystem_url_without_codesystem", "patient_name_slices"),
    "EMS-FailsafeAlert-Bundle-Example-6.json": ("codesystem_url_without_codesystem", "patient_name_slices"),
    "EMS-FailsafeAlertNullify-Bundle-Example-1.json": (
        "codesystem_url_without_codesystem",
        "nullify_task",
        "patient_name_slices",
    ),
    "EMS-PDS-BirthNotification-Bundle-Example-1.json": (
        "codesystem_url_without_codesystem",
        "nhs_number_check_digit",
        "patient_name_slices",
    ),
    "EMS-PDS-ChangeOfAddress-Bundle-Example-1.json": (
        "fullurl_relative",
        "codesystem_url_without_codesystem",
        "patient_name_slices",
    ),
    "EMS-PDS-ChangeOfGP-Bundle-Example-1.json": (
        "bundle_reference_missing",
        "communication_sent",
        "codesystem_url_without_codesystem",
        "system_effective_period_context",
        "care_provision_type",
        "patient_name_slices",
    ),
    "EMS-PDS-PersonDeath-Bundle-Example-1a.json": (
        "ems_birthdate",
        "codesystem_url_without_codesystem",
        "nhs_number_check_digit",
        "patient_name_slices",
    ),
    "EMS-PDS-PersonDeath-Bundle-Example-1b.json": (
        "ems_birthdate",
        "codesystem_url_without_codesystem",
        "nhs_number_check_digit",
        "patient_name_slices",
    ),
    "EMS-PDS-PersonDeath-Bundle-Example-1c.json": (
        "ems_birthdate",
        "codesystem_url_without_codesystem",
        "nhs_number_check_digit",
        "patient_name_slices",
    ),
    "ITK-EC-Document-Bundle-1-Example-1.json": (
        "undefined_extension",
        "asserted_date",
        "nhs_number_check_digit",
    ),
    "ITK-EDIS-Example-1.json": ("undefined_extension", "admission_method_context", "nhs_number_check_digit"),
    "ITK-EMS-PDSBirthNotification-MessageBundle-Example-1.json": (
        "codesystem_url_without_codesystem",
        "nhs_number_check_digit",
        "patient_name_slices",
    ),
    "ITK-MH-Document-Bundle-Example-1.json": (
        "undefined_extension",
        "admission_method_context",
        "nhs_number_check_digit",
    ),
    "ITK-MH-Document-Bundle-Example-2.json": (
        "undefined_extension",
        "admission_method_context",
        "asserted_date",
        "nhs_number_check_digit",
    ),
    "ITK-OPL-Document-Bundle-1-Example-1.json": (
        "undefined_extension",
        "asserted_date",
        "nhs_number_check_digit",
    ),
    "ITK-OPL-Document-Bundle-1-Example-2.json": ("undefined_extension", "asserted_date"),
    "ITK-OPL-Document-Bundle-1-Example-3.json": (
        "undefined_extension",
        "asserted_date",
        "nhs_number_check_digit",
    ),
    "ITK-OPL-Document-Bundle-1-Example-4.json": (
        "undefined_extension",
        "asserted_date",
        "bad_uuid",
        "nhs_number_check_digit",
    ),
    "ITK-OPL-Document-Bundle-1-Example-5.json": ("undefined_extension", "asserted_date"),
    "ITK-OPL-Document-Bundle-1-Example-6.json": (
        "undefined_extension",
        "asserted_date",
        "nhs_number_check_digit",
        "practitioner_target",
    ),
    "ITK-OPL-Document-Bundle-1-Example-7.json": (
        "undefined_extension",
        "asserted_date",
        "nhs_number_check_digit",
    ),
    "ITK-Response-20009-Example-2.json": ("itk_message_handling",),
    "ITK-Response-30003-Example-1.json": ("display_whitespace",),
    "ITK-SendPayload-Payload-Removed-Example-1.json": ("payload_removed",),
    "MrS-Bundle(ScoreObs).json": ("fullurl_relative", "mrs_vital_signs", "nhs_number_check_digit"),
    "MrS-Bundle(ScoreOnly).json": ("fullurl_relative", "nhs_number_check_digit"),
    "MrS-Bundle(ScoreSScore).json": ("fullurl_relative", "mrs_vital_signs", "nhs_number_check_digit"),
    "NRLS-DocumentReference-Example-1.json": ("undefined_profile",),
    "RARecord-Consent-1-example-1.json": (
        "fhir_comments",
        "provenance_activity",
        "rarecord_codesystems",
        "consent_provenance_target",
    ),
    "RARecord-Consent-1-example-1.xml.json": (
        "provenance_activity",
        "rarecord_codesystems",
        "consent_provenance_target",
    ),
    "RARecord-Consent-1-example-2.json": (
        "fhir_comments",
        "provenance_activity",
        "rarecord_codesystems",
        "consent_provenance_target",
    ),
    "RARecord-Consent-1-example-2.xml.json": (
        "provenance_activity",
        "rarecord_codesystems",
        "consent_provenance_target",
    ),
    "RARecord-Flag-1-example-1.json": ("provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-1.xml.json": ("provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-2.json": ("fhir_comments", "provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-2.xml.json": ("provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-3.json": ("fhir_comments", "provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-3.xml.json": ("provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-4.json": ("fhir_comments", "provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-4.xml.json": ("provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-5.json": ("fhir_comments", "provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-5.xml.json": ("provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-6.json": ("fhir_comments", "provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-6.xml.json": ("provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-7.json": ("fhir_comments", "provenance_activity", "rarecord_codesystems"),
    "RARecord-Flag-1-example-7.xml.json": ("provenance_activity", "rarecord_codesystems"),
    "eRS-Attachments-Example-1.json": ("attachment_indexed",),
    "eRS-BookAppointment-Example-1.json": ("referral_letter_intention",),
    "eRS-BookAppointment-Example-1.xml.json": ("referral_letter_intention",),
    "eRS-Bundle-Example-1.json": ("ers_bundle", "fullurl_missing"),
    "eRS-Bundle-Example-1.xml.json": ("ers_bundle", "fullurl_missing"),
    "eRS-FetchServices-Example-1.json": ("request_flow_type",),
    "eRS-SearchCriteria-Parameters-Example-1.json": ("specialty_valueset",),
    "eRS-Shortlist-List-Example-1.json": ("shortlist_context",),
}

# Engine faults (reported to the lead), each with the rule the engine gets wrong.
FHIR_COMMENTS = (
    "engine: `fhir_comments` accepted in STU3 JSON; the HL7 validator accepts it only for DSTU2 (and "
    "2016May) "
    "and reports 'Unrecognised property' in STU3, whose JSON format dropped the convention"
)
FORGE_TYPE_SLICE = (
    "engine: a Forge type slice with no slicing in a published STU3 snapshot (`Condition.note.author[x]:"
    "authorReference`, path `...author[x]`, no unsliced `author[x]` element) stops the profile compiling "
    "(CareConnect-ITK-AllergyIntolerance-1, -Condition-1, -MedicationStatement-1...): its rules are lost"
)
RENAMED_CHOICE = (
    "engine: a Forge renamed choice (`valueDateTime` with sliceName valueDateTime) is kept as a literal "
    "property, so another type of the same choice is an unknown property plus a missing element, where the "
    "rule broken is the choice's type (type.choice.not-allowed)"
)
RESOURCE_ID_EXTENSION = (
    "engine: `_id` on a resource is reported as structure.resource-id-extension in STU3, where Resource.id "
    "is of type id and may carry extensions (the rule is R4's, where Resource.id became System.String)"
)
OTHER_TYPE_PROFILE = (
    "engine: a type profile for another type (Extension-eRS-ServiceSummaryView-1 location.valueReference "
    "has type Reference with profile eRS-Location-1, a Location profile) is applied to the Reference value, "
    "giving unknown-property errors for reference and display; it should be ignored, as snapshot generation "
    "does (snapshot.profile-type-mismatch)"
)
AMBIGUOUS_SLICE_PREFERENCE = (
    "engine: an item matching two slices is assigned to the one that fixes the discriminating value, with no "
    "error; the HL7 validator matches a value discriminator by fixed value, pattern or required binding "
    "alike and reports 'Element matches more than one slice' (official, other on Patient.name)"
)
ENGINE_FAULTS: dict[str, str] = {}

# Examples whose outcome the engine gets wrong today: file -> the engine faults (keys of ENGINE_FAULTS).
ENGINE_BUGS: dict[str, tuple[str, ...]] = {}


def _example_names() -> list[str]:
    return sorted(path.name for path in EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []


def _params() -> list[Any]:
    names = _example_names()
    if not names:
        return [
            pytest.param(
                "", marks=pytest.mark.skip(reason=f"needs the NHS England STU3 examples at {EXAMPLES}")
            )
        ]
    return [pytest.param(name, id=name.removesuffix(".json"), marks=_engine_mark(name)) for name in names]


def _engine_mark(name: str) -> Any:
    faults = ENGINE_BUGS.get(name)
    if not faults:
        return ()
    reason = "; ".join(ENGINE_FAULTS[fault] for fault in faults)
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


@pytest.fixture(scope="module")
def profiles() -> dict[str, str | None]:
    if not PROFILE_MAP.is_file():
        pytest.skip(f"needs {PROFILE_MAP}")
    mapping: dict[str, str | None] = json.loads(PROFILE_MAP.read_text(encoding="utf-8"))
    return mapping


@pytest.fixture(scope="module")
def nhs_assets(shared_settings: Settings) -> Validator:
    """The NHS England STU3 profiles, with Care Connect and the STU3 core as their dependencies."""
    if not NHS_ASSETS_PACKAGE.is_file():
        pytest.skip(f"needs {NHS_ASSETS_PACKAGE}")
    return Validator(Context.build(shared_settings, FhirVersion.STU3, igs=[NHS_ASSETS]))


def _validate(validator: Validator, name: str, profile: str | None) -> Outcome:
    return validator.validate(EXAMPLES / name, profiles=[profile] if profile else [])


def expected_ids(name: str) -> list[str]:
    return sorted({message_id for fault in WRONG_EXAMPLES.get(name, ()) for message_id in FAULTS[fault].ids})


@pytest.mark.parametrize("name", _params())
def test_example_errors_are_exactly_its_known_faults(
    nhs_assets: Validator, profiles: dict[str, str | None], name: str
) -> None:
    outcome = _validate(nhs_assets, name, profiles[name])
    assert sorted({issue.message_id for issue in outcome.errors}) == expected_ids(name)


def test_lists_name_real_files_and_faults(profiles: dict[str, str | None]) -> None:
    names = set(_example_names())
    assert set(profiles) == names
    assert set(WRONG_EXAMPLES) <= names
    assert set(ENGINE_BUGS) <= names
    assert {fault for faults in WRONG_EXAMPLES.values() for fault in faults} == set(FAULTS)
    assert {fault for faults in ENGINE_BUGS.values() for fault in faults} == set(ENGINE_FAULTS)


@pytest.mark.parametrize(
    ("name", "fault"),
    [
        pytest.param(name, fault, id=f"{name.removesuffix('.json')}-{fault}")
        for name, faults in sorted(WRONG_EXAMPLES.items())
        for fault in faults
        if FAULTS[fault].evidence is not None
    ],
)
def test_fault_is_visible_in_the_example(name: str, fault: str) -> None:
    # the reason for listing an example is a fact about its text, not only what the engine says of it
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"needs {path}")
    evidence = FAULTS[fault].evidence
    assert evidence is not None and evidence in path.read_text(encoding="utf-8")


def test_xml_twins_have_the_faults_of_their_json_originals_but_the_json_only_ones() -> None:
    # `X.xml.json` is NHS England's XML converted, `X.json` their JSON: the two were edited apart, and the
    # JSON files have faults of their own (comments, missing ids, strings for numbers, stale displays)
    json_only = {
        "fhir_comments",
        "messageheader_id",
        "numbers_as_strings",
        "request_flow_type",
        "display_mismatch",
    }
    for twin in sorted(EXAMPLES.glob("*.xml.json")):
        original = twin.name.removesuffix(".xml.json") + ".json"
        in_json, in_xml = set(WRONG_EXAMPLES.get(original, ())), set(WRONG_EXAMPLES.get(twin.name, ()))
        assert in_xml <= in_json and in_json - in_xml <= json_only, (original, in_json ^ in_xml)


NHS_NUMBER_SYSTEMS = {"https://fhir.nhs.uk/Id/nhs-number", "https://fhir.nhs.net/Id/nhs-number"}


def _nhs_numbers(value: Any) -> list[str]:
    """Every NHS number identifier value anywhere in a JSON document."""
    if isinstance(value, list):
        return [number for item in value for number in _nhs_numbers(item)]
    if not isinstance(value, dict):
        return []
    found = [value["value"]] if value.get("system") in NHS_NUMBER_SYSTEMS and "value" in value else []
    return found + [number for item in value.values() for number in _nhs_numbers(item)]


def _modulus_11_ok(number: str) -> bool:
    if len(number) != 10 or not number.isdigit():
        return False
    remainder = (
        sum(int(digit) * weight for digit, weight in zip(number[:9], range(10, 1, -1), strict=True)) % 11
    )
    check = (11 - remainder) % 11
    return check != 10 and check == int(number[9])


def test_nhs_number_fault_is_listed_exactly_where_a_check_digit_is_wrong() -> None:
    # worked out here, independently of the engine's own check-digit code
    names = _example_names()
    if not names:
        pytest.skip(f"needs the NHS England STU3 examples at {EXAMPLES}")
    wrong = {
        name
        for name in names
        if not all(_modulus_11_ok(n) for n in _nhs_numbers(json.loads((EXAMPLES / name).read_text("utf-8"))))
    }
    assert wrong == {name for name, faults in WRONG_EXAMPLES.items() if "nhs_number_check_digit" in faults}


@pytest.mark.parametrize(
    ("number", "ok"), [("9449306060", True), ("9434765919", True), ("9900002831", False)]
)
def test_modulus_11_helper(number: str, ok: bool) -> None:
    assert _modulus_11_ok(number) is ok
