"""UK Core STU2: every published example validates with no errors against its UK Core profile.

The examples and the example -> profile map are in ../shared/fhir-packages/_examples (see SOURCES.md there).
The UK Core StructureDefinitions are differential-only: the engine generates their snapshots itself. The
third-party snapshots in _generated-snapshots/ukcore-stu2 are used only for comparison: validating with
them gives the same verdicts, except where FAULTY_SNAPSHOTS shows theirs is wrong.

Examples that are themselves wrong are listed, each with the reason as checked against the definitions.
The lists are exact: a listed example that becomes clean fails its test, so the list cannot go stale.
Warnings are allowed (unknown extensions, extensible bindings); errors are not.
"""

from __future__ import annotations

import json
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
EXAMPLES = PACKAGES / "_examples" / "ukcore-stu2"
XML_EXAMPLES = PACKAGES / "_examples" / "ukcore-stu2-xml"
PROFILE_MAP = PACKAGES / "_examples" / "ukcore-stu2-profiles.json"
SNAPSHOTS = PACKAGES / "_generated-snapshots" / "ukcore-stu2"
UKCORE = "fhir.r4.ukcore.stu2#2.0.2"
UK = "https://fhir.hl7.org.uk/StructureDefinition/"

# Third-party snapshots known to be wrong: file -> element id -> what is wrong.
FAULTY_SNAPSHOTS = {
    # The differential puts min 2 on Extension.extension and only max 1 on the 'reason' slice; the generator
    # copied the min into the slice, giving reason 2..1, which no instance can meet.
    "StructureDefinition-Extension-UKCore-ObservationTriggeredBy.json": "Extension.extension:reason",
}


# XML originals that are wrong in themselves: their root element is not in the FHIR namespace
# (checked: these nine files have no xmlns="http://hl7.org/fhir"; SOURCES.md says the same).
NO_FHIR_NAMESPACE = frozenset(
    {
        "UKCore-Composition-Discharge-Example.xml",
        "UKCore-Observation-DrugUse-Example.xml",
        "UKCore-Observation-Extension-TriggeredBy-Example.xml",
        "UKCore-Observation-FingerJointInflamed-Example.xml",
        "UKCore-Observation-Group-FullBloodCount-Example.xml",
        "UKCore-Observation-Lab-RedCellCount-Example.xml",
        "UKCore-Observation-Lab-Sn-AbsentData-Example.xml",
        "UKCore-Observation-Lab-WhiteCellCount-Example.xml",
        "UKCore-Patient-Extension-PreferredDispenserOrganization-Example.xml",
    }
)

# Extensions the examples use that UK Core STU2 does not define (SOURCES.md lists them): a warning each.
UNDEFINED_EXTENSIONS = {
    "UKCore-Encounter-Extension-OutcomeofAttendance-Example.json": (
        UK + "Extension-UKCore-OutcomeofAttendance"  # note the case: STU2 defines ...OutcomeOfAttendance
    ),
    "UKCore-Extension-MedicationChangeSummary-Example.json": UK + "Extension-UKCore-MedicationChangeSummary",
    "UKCore-Patient-Extension-MedicalApplianceSupplier-Example.json": (
        UK + "Extension-UKCore-MedicalApplianceSupplier"
    ),
    "UKCore-Patient-Extension-OverseasVisitorChargingCategory-Example.json": (
        UK + "Extension-UKCore-OverseasVisitorChargingCategory"
    ),
    "UKCore-Patient-Extension-PreferredDispenserOrganization-Example.json": (
        UK + "Extension-UKCore-PreferredDispenserOrganization"
    ),
    "UKCore-RelatedPerson-Extension-EffectivePeriod-Example.json": UK + "Extension-UKCore-EffectivePeriod",
}

# JSON examples that are wrong in themselves: file -> the error message ids they must report. Six use an
# extension that UK Core STU2 does not define (above), which the HL7 validator's default policy, and ours,
# does not allow: an extension must have a definition to be checked.
WRONG_EXAMPLES: dict[str, tuple[str, ...]] = {
    **{name: ("extension.unknown-not-allowed",) for name in UNDEFINED_EXTENSIONS},
    # the display of UKCore-DeliveryChannel#In-person is 'In-person'; these say 'In person'
    "UKCore-Appointment-Extension-DeliveryChannel-Example.json": ("terminology.display-mismatch",),
    "UKCore-Appointment-OrthopaedicSurgery-Example.json": ("terminology.display-mismatch",),
    # NHS number 9912003890: the Modulus 11 check digit of 991200389 is 6, not 0
    "UKCore-Patient-BabyPatient-Example.json": ("identifier.nhs-number.check-digit",),
}

# Examples that fail only because of a known engine fault: file -> the fault (the test is a strict xfail).
ENGINE_BUGS: dict[str, str] = {}


def _example_names() -> list[str]:
    return sorted(path.name for path in EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []


def _params(names: list[str], bugs: dict[str, str]) -> list[Any]:
    if not names:
        return [pytest.param("", marks=pytest.mark.skip(reason=f"needs the UK Core examples at {EXAMPLES}"))]
    return [
        pytest.param(name, id=name.removesuffix(".json"), marks=_bug_mark(bugs.get(name))) for name in names
    ]


def _bug_mark(reason: str | None) -> Any:
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason) if reason else ()


@pytest.fixture(scope="module")
def profiles() -> dict[str, str | None]:
    if not PROFILE_MAP.is_file():
        pytest.skip(f"needs {PROFILE_MAP}")
    mapping: dict[str, str | None] = json.loads(PROFILE_MAP.read_text(encoding="utf-8"))
    return mapping


@pytest.fixture(scope="module")
def ukcore(shared_settings: Settings) -> Validator:
    """UK Core with the project's own snapshots, generated from the differentials."""
    return Validator(Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE]))


@pytest.fixture(scope="module")
def ukcore_third_party(shared_settings: Settings) -> Validator:
    """UK Core with the third-party snapshots loaded over the differentials, for comparison."""
    if not SNAPSHOTS.is_dir():
        pytest.skip(f"needs the generated UK Core snapshots at {SNAPSHOTS}")
    overlay = sorted(SNAPSHOTS.glob("*.json"))
    return Validator(Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE], extra_resources=overlay))


# Examples whose verdict differs between our snapshots and the third-party ones, and which one is right.
VERDICT_DIFFERS = {
    # Third-party snapshot faulty (see FAULTY_SNAPSHOTS): its 2..1 'reason' slice rejects a valid example.
    "UKCore-Observation-Extension-TriggeredBy-Example.json": "ours",
}


@pytest.mark.parametrize("name", _params(_example_names(), {}))
def test_own_snapshots_give_the_third_party_verdicts(
    ukcore: Validator, ukcore_third_party: Validator, profiles: dict[str, str | None], name: str
) -> None:
    ours = _errors(_validate(ukcore, EXAMPLES / name, profiles[name]))
    theirs = _errors(_validate(ukcore_third_party, EXAMPLES / name, profiles[name]))
    if name in VERDICT_DIFFERS:
        assert ours == [] and theirs != [], f"{name}: the verdicts now agree: take it off VERDICT_DIFFERS"
    else:
        assert (ours == []) == (theirs == [])


def _errors(outcome: Outcome) -> list[str]:
    return sorted(f"{issue.message_id} @ {issue.location}" for issue in outcome.errors)


def _validate(ukcore: Validator, path: Path, profile: str | None) -> Outcome:
    return ukcore.validate(path, profiles=[profile] if profile else [])


@pytest.mark.parametrize("name", _params(_example_names(), ENGINE_BUGS))
def test_example_has_no_errors(ukcore: Validator, profiles: dict[str, str | None], name: str) -> None:
    outcome = _validate(ukcore, EXAMPLES / name, profiles[name])
    if name in WRONG_EXAMPLES:
        assert outcome.errors, f"{name} is listed as wrong but is now clean: take it off WRONG_EXAMPLES"
        assert sorted({issue.message_id for issue in outcome.errors}) == sorted(WRONG_EXAMPLES[name])
    else:
        assert _errors(outcome) == []


@pytest.mark.parametrize("name", _params(_example_names(), {}))
def test_only_the_known_undefined_extensions_are_unknown(
    ukcore: Validator, profiles: dict[str, str | None], name: str
) -> None:
    path = EXAMPLES / name
    outcome = _validate(ukcore, path, profiles[name])
    resource = json.loads(path.read_text(encoding="utf-8"))
    unknown_ids = ("extension.unknown", "extension.unknown-not-allowed")
    unknown_at = [issue.location for issue in outcome.issues if issue.message_id in unknown_ids]
    urls = {_value_at(resource, location).get("url") for location in unknown_at}
    # Sub-extensions (relative urls) are left out: whether they are "unknown" is a separate engine matter.
    unknown = {url for url in urls if isinstance(url, str) and "://" in url}
    expected = {UNDEFINED_EXTENSIONS[name]} if name in UNDEFINED_EXTENSIONS else set()
    assert unknown == expected


def _value_at(resource: dict[str, Any], location: str) -> Any:
    """The JSON value at a FHIRPath-style location such as `Patient.telecom[0].system.extension[1]`."""
    value: Any = resource
    for step in location.split(".")[1:]:
        name, _, index = step.partition("[")
        # a primitive keeps its extensions in its `_name` sibling
        value = value["_" + name] if "_" + name in value else value[name]
        if index:
            value = value[int(index.rstrip("]"))]
    return value


def _xml_pairs() -> list[Any]:
    if not XML_EXAMPLES.is_dir():
        reason = f"needs the UK Core XML examples at {XML_EXAMPLES}"
        return [pytest.param("", marks=pytest.mark.skip(reason=reason))]
    names = sorted(path.name for path in XML_EXAMPLES.glob("*.xml"))
    bugs = {name: ENGINE_BUGS.get(name.removesuffix(".xml") + ".json") for name in names}
    return [pytest.param(name, id=name.removesuffix(".xml"), marks=_bug_mark(bugs[name])) for name in names]


@pytest.mark.parametrize("name", _xml_pairs())
def test_xml_original_validates_like_its_json_conversion(
    ukcore: Validator, profiles: dict[str, str | None], name: str
) -> None:
    json_name = name.removesuffix(".xml") + ".json"
    profile = profiles[json_name]
    from_xml = _errors(_validate(ukcore, XML_EXAMPLES / name, profile))
    from_json = _errors(_validate(ukcore, EXAMPLES / json_name, profile))
    if name in NO_FHIR_NAMESPACE:
        assert [error for error in from_xml if error not in from_json] == [
            f"xml.namespace @ {json.loads((EXAMPLES / json_name).read_text())['resourceType']}"
        ]
    elif json_name in WRONG_EXAMPLES:
        assert from_xml == from_json != []
    else:
        assert from_xml == from_json == []


def test_lists_name_real_files(profiles: dict[str, str | None]) -> None:
    names = set(_example_names())
    assert set(profiles) == names
    for listed in (WRONG_EXAMPLES, UNDEFINED_EXTENSIONS, ENGINE_BUGS):
        assert set(listed) <= names
    assert {path.name for path in XML_EXAMPLES.glob("*.xml")} >= NO_FHIR_NAMESPACE


@pytest.mark.parametrize(("file_name", "element_id"), sorted(FAULTY_SNAPSHOTS.items()))
def test_excluded_snapshot_is_still_faulty(file_name: str, element_id: str) -> None:
    # when the third-party snapshots are regenerated without the fault, the exclusion must go
    path = SNAPSHOTS / file_name
    if not path.is_file():
        pytest.skip(f"needs {path}")
    elements = json.loads(path.read_text(encoding="utf-8"))["snapshot"]["element"]
    (element,) = [element for element in elements if element["id"] == element_id]
    assert element["max"] != "*" and element["min"] > int(element["max"])
