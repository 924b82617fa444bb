"""The FHIR R4 specification's own examples: each validates with no errors, unless it is wrong.

The examples are the instances in ../shared/fhir-packages/hl7.fhir.r4.examples#4.0.1.tgz other than the
definitions (StructureDefinition, ValueSet, CodeSystem, SearchParameter... which the specification publishes
as its content, not as examples). Each is validated against the R4 core and what the HL7 validator loads by
default (hl7.terminology.r4 and the HL7 extensions pack), and against the profiles it declares.

Examples that are wrong are listed in WRONG_EXAMPLES with the faults they have. Each fault in FAULTS quotes
the rule it breaks and says which message ids it gives. The lists are exact: an example that becomes clean,
or gives other message ids, fails its test, so the lists cannot go stale. docs/spec-examples.md carries the
same table for users. Where the engine, not the example, is wrong, the example is in ENGINE_FAULTS and its
test is a strict xfail.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.validation import Validator
from specification_support import SPECIFICATION_CONTENT_TYPES

if TYPE_CHECKING:
    from conformance.outcome import Outcome
    from conformance.settings import Settings

pytestmark = [pytest.mark.shared, pytest.mark.slow]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
EXAMPLES_PACKAGE = SHARED / "fhir-packages" / "hl7.fhir.r4.examples#4.0.1.tgz"

DEFINITION_TYPES = SPECIFICATION_CONTENT_TYPES


@dataclass(frozen=True)
class Fault:
    """A rule an example breaks, quoted from the specification or the HL7 validator; its error ids."""

    rule: str
    ids: tuple[str, ...]


FAULTS: dict[str, Fault] = {
    # ---- datatypes
    "canonical_relative": Fault(
        "a canonical that is neither an absolute URL nor a #fragment "
        "(`Library/zika-virus-intervention-logic`, `Questionnaire/gcs`, `PlanDefinition/KDN5`...): the HL7 "
        "validator's TYPE_SPECIFIC_CHECKS_CANONICAL_ABSOLUTE, 'Canonical URLs must be absolute URLs if "
        "they are not fragment references'",
        ("type.canonical.relative",),
    ),
    "code_whitespace": Fault(
        "codes of the v2 tables ending in a no-break space (mis-encoded `KIDN\u00c2\u00a0`, "
        "`\u00c2\u00a0`): a code has no leading or trailing whitespace (the HL7 validator's "
        "TYPE_SPECIFIC_CHECKS_DT_CODE_WS; its whitespace includes U+00A0)",
        ("type.code",),
    ),
    "oid_with_version": Fault(
        "an expansion parameter valueUri `urn:oid:1.2.36.1.2001.1001.101.104.16592|4.0.1`: only a "
        "canonical may carry a `|version`, so this uri is not a valid OID "
        "(TYPE_SPECIFIC_CHECKS_DT_OID_VALID)",
        ("type.oid",),
    ),
    "oid_placeholder": Fault(
        "`urn:oid:X.Y.Z` placeholders as value set canonicals (an OID is digits and dots)", ("type.oid",)
    ),
    "narrative_no_content": Fault(
        "txt-2 on Narrative.div: 'The narrative SHALL have some non-whitespace content' (a div holding only "
        "whitespace, or an empty `<pre>`)",
        ("invariant.failed",),
    ),
    # ---- Bundles
    "fullurl_type_id": Fault(
        "a RESTful fullUrl whose last segments are not the entry's type and id "
        "(`http://test.fhir.org/r4/Observation/lri-gramstain1` for id `gramstain1`, "
        "`http://acme.com/ehr/fhir/Patient/pat12` for `pat2`): the HL7 validator's "
        "BUNDLE_ENTRY_URL_MATCHES_TYPE_ID",
        ("bundle.fullurl-mismatch",),
    ),
    "fullurl_missing": Fault(
        "a searchset entry (an OperationOutcome, search.mode outcome) without fullUrl: only transactions, "
        "batches and their responses may leave it out (BUNDLE_BUNDLE_ENTRY_FULLURL_REQUIRED)",
        ("bundle.fullurl-missing",),
    ),
    "duplicate_fullurl": Fault(
        "bdl-7: 'FullUrl must be unique in a bundle, or else entries with the same fullUrl must have "
        "different meta.versionId (except in history bundles)'",
        ("invariant.failed",),
    ),
    # ---- extensions
    "unknown_extension": Fault(
        "extensions no loaded package defines: `http://nema.org/fhir/extensions#...` (DICOM tags), US "
        "Core's `us-core-ethnicity`, `questionnaire-allowedResource` and `valueset-definition` (in neither "
        "R4 nor the extensions pack); the HL7 validator: 'The extension ... could not be found so is not "
        "allowed here'",
        ("extension.unknown-not-allowed",),
    ),
    "extension_context": Fault(
        "extensions used outside the contexts their definitions allow (both R4's and the extensions "
        "pack's): `translation` (string, code, markdown) on ValueSet.expansion.contains, "
        "`valueset-concept-comments` (ValueSet.compose.include.concept) on CodeSystem.concept, `regex` "
        "(Questionnaire.item, ElementDefinition) on ElementDefinition.type",
        ("extension.context",),
    ),
    "extension_context_moved": Fault(
        "`cqf-qualityOfEvidence` and `cqf-strengthOfRecommendation` on "
        "PlanDefinition.action.documentation.document (an Attachment): R4's copies of the definitions "
        "allowed Attachment, the extensions pack's (the latest version, which the HL7 validator uses) allow "
        "PlanDefinition.action only",
        ("extension.context",),
    ),
    "reference_target_type": Fault(
        "literal references naming a type the element does not allow (DeviceMetric.parent "
        "`DeviceDefinition/dc102`, only Device; DeviceUseStatement.reasonReference `Procedure/example`; "
        "MedicationRequest.dispenseRequest.performer `Practitioner/f001`, only Organization; "
        "Observation.performer `Encounter/example`): the HL7 validator's REFERENCE_REF_BADTARGETTYPE, "
        "checked on the type the reference names when it cannot be resolved (assume_valid_rest_references)",
        ("reference.target-type",),
    ),
    # ---- cardinality and terminology
    "vital_signs_effective": Fault(
        "a body temperature Observation (LOINC 8310-5) without effective[x]: FHIR R4 requires an Observation "
        "with a vital sign code to conform to the vital signs profile for it (bodytemp), whose "
        "Observation.effective[x] is 1..1 ('Often just a dateTime for Vital Signs'); the HL7 validator "
        "applies that profile by default",
        ("cardinality.min",),
    ),
    "questionnaire_linkid": Fault(
        "Questionnaire.item.linkId is 1..1: nested items of the qs1 questionnaire have none",
        ("cardinality.min",),
    ),
    "terminology_moved_on": Fault(
        "AdverseEvent.category `product-use-error` of "
        "http://terminology.hl7.org/CodeSystem/adverse-event-category: R4's copy of the code system had "
        "it; its current version (2.0.0 in hl7.terminology.r4, which the HL7 validator loads) does not",
        ("terminology.unknown-code",),
    ),
    "mime_type_parameters": Fault(
        "Endpoint.payloadMimeType (required binding to mimetypes, urn:ietf:bcp:13) with parameter values "
        "holding '/' or spaces (`application/dicom; variant=DICOM WADO-RS`), which RFC 7231 section "
        "3.1.1.1 allows only quoted; the HL7 validator asks its terminology server about BCP-13 codes, "
        "offline they are judged by the RFC",
        ("binding.code.system-unknown", "binding.required.not-in-valueset"),
    ),
}

# Examples that are wrong: file -> its faults (keys of FAULTS). Every other example must have no errors.
WRONG_EXAMPLES: dict[str, tuple[str, ...]] = {
    "ActivityDefinition-administer-zika-virus-exposure-assessment.json": ("canonical_relative",),
    "ActivityDefinition-blood-tubes-supply.json": ("canonical_relative", "narrative_no_content"),
    "ActivityDefinition-heart-valve-replacement.json": ("narrative_no_content",),
    "ActivityDefinition-provide-mosquito-prevention-advice.json": ("canonical_relative",),
    "ActivityDefinition-referralPrimaryCareMentalHealth-initial.json": ("canonical_relative",),
    "ActivityDefinition-referralPrimaryCareMentalHealth.json": ("canonical_relative",),
    "ActivityDefinition-serum-zika-dengue-virus-igm.json": ("canonical_relative",),
    "AdverseEvent-example.json": ("terminology_moved_on",),
    "Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json": ("fullurl_type_id",),
    "Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json": ("fullurl_type_id",),
    "Bundle-b0a5e4277-83c4-4adb-87e2-e3efe3369b6f.json": ("mime_type_parameters",),
    "Bundle-bundle-search-warning.json": ("fullurl_missing",),
    "Bundle-dataelements.json": ("duplicate_fullurl", "extension_context"),
    "Bundle-lri-example.json": ("fullurl_type_id",),
    "Bundle-types.json": ("extension_context",),
    "Bundle-v2-valuesets.json": ("code_whitespace",),
    "Bundle-valueset-expansions.json": ("extension_context", "oid_with_version", "unknown_extension"),
    "Bundle-valuesets.json": ("extension_context",),
    "DeviceMetric-example.json": ("reference_target_type",),
    "DeviceUseStatement-example.json": ("reference_target_type",),
    "EventDefinition-example.json": ("narrative_no_content",),
    "Library-composition-example.json": ("canonical_relative",),
    "Library-example.json": ("canonical_relative",),
    "Library-library-cms146-example.json": ("canonical_relative",),
    "Library-library-exclusive-breastfeeding-cds-logic.json": ("canonical_relative",),
    "Library-library-exclusive-breastfeeding-cqm-logic.json": ("canonical_relative",),
    "Library-library-fhir-helpers-predecessor.json": ("canonical_relative",),
    "Library-library-fhir-helpers.json": ("canonical_relative",),
    "Library-omtk-logic.json": ("canonical_relative",),
    "Library-opioidcds-common.json": ("canonical_relative",),
    "Library-opioidcds-recommendation-04.json": ("canonical_relative",),
    "Library-opioidcds-recommendation-05.json": ("canonical_relative",),
    "Library-opioidcds-recommendation-07.json": ("canonical_relative",),
    "Library-opioidcds-recommendation-08.json": ("canonical_relative",),
    "Library-opioidcds-recommendation-10.json": ("canonical_relative",),
    "Library-opioidcds-recommendation-11.json": ("canonical_relative",),
    "Library-suiciderisk-orderset-logic.json": ("canonical_relative",),
    "Library-zika-virus-intervention-logic.json": ("canonical_relative", "oid_placeholder"),
    "Measure-composite-example.json": ("canonical_relative",),
    "Measure-measure-cms146-example.json": ("canonical_relative",),
    "Measure-measure-exclusive-breastfeeding.json": ("canonical_relative",),
    "Measure-measure-predecessor-example.json": ("canonical_relative",),
    "MeasureReport-measurereport-cms146-cat1-example.json": ("canonical_relative",),
    "MeasureReport-measurereport-cms146-cat2-example.json": ("canonical_relative",),
    "MeasureReport-measurereport-cms146-cat3-example.json": ("canonical_relative",),
    "Media-1.2.840.11361907579238403408700.3.1.04.19970327150033.json": ("unknown_extension",),
    "MedicationRequest-medrx0301.json": ("reference_target_type",),
    "Observation-clinical-gender.json": ("reference_target_type",),
    "Observation-example-genetics-brcapat.json": ("unknown_extension",),
    "Observation-f202.json": ("vital_signs_effective",),
    "Patient-dicom.json": ("unknown_extension",),
    "PlanDefinition-chlamydia-screening-intervention.json": ("canonical_relative",),
    "PlanDefinition-exclusive-breastfeeding-intervention-01.json": ("canonical_relative",),
    "PlanDefinition-exclusive-breastfeeding-intervention-02.json": ("canonical_relative",),
    "PlanDefinition-exclusive-breastfeeding-intervention-03.json": ("canonical_relative",),
    "PlanDefinition-exclusive-breastfeeding-intervention-04.json": ("canonical_relative",),
    "PlanDefinition-low-suicide-risk-order-set.json": ("canonical_relative", "extension_context_moved"),
    "PlanDefinition-opioidcds-04.json": ("canonical_relative", "extension_context_moved"),
    "PlanDefinition-opioidcds-05.json": ("canonical_relative", "extension_context_moved"),
    "PlanDefinition-opioidcds-07.json": ("canonical_relative", "extension_context_moved"),
    "PlanDefinition-opioidcds-08.json": ("canonical_relative", "extension_context_moved"),
    "PlanDefinition-opioidcds-10.json": ("canonical_relative", "extension_context_moved"),
    "PlanDefinition-opioidcds-11.json": ("canonical_relative", "extension_context_moved"),
    "PlanDefinition-zika-virus-intervention-initial.json": ("canonical_relative",),
    "PlanDefinition-zika-virus-intervention.json": ("canonical_relative",),
    "Procedure-f201.json": ("canonical_relative",),
    "Questionnaire-phq-9-questionnaire.json": ("canonical_relative",),
    "Questionnaire-qs1.json": ("questionnaire_linkid", "unknown_extension"),
    "Questionnaire-zika-virus-exposure-assessment.json": ("narrative_no_content",),
    "QuestionnaireResponse-gcs.json": ("canonical_relative",),
    "QuestionnaireResponse-ussg-fht-answers.json": ("canonical_relative",),
    "RequestGroup-kdn5-example.json": ("canonical_relative",),
    "TestScript-testscript-example-history.json": ("canonical_relative",),
    "TestScript-testscript-example-multisystem.json": ("canonical_relative",),
    "TestScript-testscript-example-readtest.json": ("canonical_relative",),
    "TestScript-testscript-example-search.json": ("canonical_relative",),
    "TestScript-testscript-example-update.json": ("canonical_relative",),
    "TestScript-testscript-example.json": ("canonical_relative",),
}

# Examples the engine gets wrong: example -> what the engine does wrong (docs/spec-examples.md, "Open engine
# faults"). Strict xfails: fixing the engine makes them pass, and the entry must then go.
ENGINE_FAULTS: dict[str, str] = {}


def _example_names() -> list[str]:
    """Example file names, from the package listing (file names start with the resource type)."""
    if not EXAMPLES_PACKAGE.is_file():
        return []
    with tarfile.open(EXAMPLES_PACKAGE) as archive:
        names = [member.name.removeprefix("package/") for member in archive.getmembers() if member.isfile()]
    return sorted(
        name
        for name in names
        if "/" not in name
        and name.endswith(".json")
        and "-" in name
        and name.split("-", 1)[0] not in DEFINITION_TYPES
        and name[0].isupper()
    )


def _params() -> list[Any]:
    names = _example_names()
    if not names:
        reason = f"needs the FHIR R4 examples package at {EXAMPLES_PACKAGE} (absent from this checkout)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="absent")]
    return [
        pytest.param(
            name,
            id=name.removesuffix(".json"),
            marks=[pytest.mark.xfail(strict=True, reason=ENGINE_FAULTS[name])]
            if name in ENGINE_FAULTS
            else [],
        )
        for name in names
    ]


@pytest.fixture(scope="module")
def examples() -> dict[str, bytes]:
    with tarfile.open(EXAMPLES_PACKAGE) as archive:
        found: dict[str, bytes] = {}
        for member in archive.getmembers():
            name = member.name.removeprefix("package/")
            stream = archive.extractfile(member) if member.isfile() else None
            if stream is not None and "/" not in name and name.endswith(".json"):
                found[name] = stream.read()
        return found


@pytest.fixture(scope="module")
def validator(shared_settings: Settings) -> Validator:
    # what the HL7 validator loads by default for R4: the core, hl7.terminology.r4, the extensions pack
    return Validator(Context.build(shared_settings, FhirVersion.R4))


def _error_ids(outcome: Outcome) -> set[str]:
    return {issue.message_id for issue in outcome.issues if issue.severity.value in ("error", "fatal")}


def _show(outcome: Outcome, limit: int = 12) -> str:
    errors = [i for i in outcome.issues if i.severity.value in ("error", "fatal")]
    lines = [f"{i.message_id} @ {i.location}: {i.message[:160]}" for i in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more")
    return "\n".join(lines)


@pytest.mark.parametrize("name", _params())
def test_specification_example(examples: dict[str, bytes], validator: Validator, name: str) -> None:
    content = examples[name]
    resource: dict[str, Any] = json.loads(content)
    assert resource.get("resourceType") == name.split("-", 1)[0], "file names start with the resource type"
    outcome = validator.validate(content, format="json")
    expected = {i for fault in WRONG_EXAMPLES.get(name, ()) for i in FAULTS[fault].ids}
    assert _error_ids(outcome) == expected, _show(outcome)


def test_every_listed_example_exists_and_every_fault_is_used() -> None:
    names = set(_example_names())
    if not names:
        pytest.skip(f"needs the FHIR R4 examples package at {EXAMPLES_PACKAGE}")
    assert set(WRONG_EXAMPLES) <= names
    assert set(ENGINE_FAULTS) <= names
    used = {fault for faults in WRONG_EXAMPLES.values() for fault in faults}
    assert used == set(FAULTS)
