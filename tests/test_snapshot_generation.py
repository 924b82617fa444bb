"""Snapshot generation on small profiles written for the test, over the real R4 and STU3 core definitions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from conformance.definitions.snapshot import SnapshotResult, Snapshots, generate_snapshot
from conformance.definitions.snapshot_compare import compare_snapshots
from conformance.fhirversion import FhirVersion
from conformance.outcome import Severity
from test_snapshot_support import CORE_PREFIX, R3_CORE, R4_CORE, TarballSource, by_id, fixture, profile

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def r4() -> TarballSource:
    return TarballSource.of(R4_CORE)


@pytest.fixture(scope="module")
def stu3() -> TarballSource:
    return TarballSource.of(R3_CORE)


def generate(source: TarballSource, sd: Mapping[str, Any], *extra: Mapping[str, Any]) -> SnapshotResult:
    """`sd`'s snapshot over `source` plus `extra` definitions (which a profile may use as base or type)."""
    overlay = TarballSource([sd, *extra, *source.definitions()])
    version = FhirVersion.STU3 if str(sd.get("fhirVersion", "")).startswith("3") else FhirVersion.R4
    return generate_snapshot(sd, overlay, version)


def ids(result: SnapshotResult) -> list[str]:
    return [str(e["id"]) for e in result.elements]


def messages(result: SnapshotResult) -> list[tuple[str, str | None]]:
    return sorted((i.message_id, i.element_id) for i in result.issues)


def patient(*elements: Mapping[str, Any]) -> dict[str, Any]:
    return profile("test-patient", "Patient", [{"id": "Patient", "path": "Patient"}, *elements])


def observation(*elements: Mapping[str, Any]) -> dict[str, Any]:
    return profile(
        "test-observation", "Observation", [{"id": "Observation", "path": "Observation"}, *elements]
    )


# --- published snapshots and plain copies ------------------------------------------------------------


def test_published_snapshot_is_returned_unchanged(r4: TarballSource) -> None:
    snapshots = Snapshots(r4, FhirVersion.R4)
    result = snapshots.snapshot("Patient")
    assert result is not None
    published = r4.structure_definition("Patient")
    assert published is not None
    assert result.structure_definition == published
    assert result.issues == ()
    assert snapshots.snapshot(CORE_PREFIX + "Patient") is not None
    assert snapshots.snapshot("http://example.org/unknown") is None


def test_profile_with_an_empty_differential_is_its_base(r4: TarballSource) -> None:
    result = generate(r4, patient())
    base = r4.structure_definition("Patient")
    assert base is not None
    assert ids(result) == [e["id"] for e in base["snapshot"]["element"]]
    assert result.issues == ()
    assert compare_snapshots(base["snapshot"]["element"], result.elements).same


def test_regenerating_a_core_profile_matches_its_published_snapshot(r4: TarballSource) -> None:
    vitalsigns = r4.structure_definition("vitalsigns")
    assert vitalsigns is not None
    result = generate_snapshot(vitalsigns, r4, FhirVersion.R4)
    assert result.issues == ()
    assert ids(result) == [e["id"] for e in vitalsigns["snapshot"]["element"]]
    assert compare_snapshots(vitalsigns["snapshot"]["element"], result.elements).same


def test_elements_carry_base_and_consistent_ids(r4: TarballSource) -> None:
    result = generate(r4, patient({"id": "Patient.name", "path": "Patient.name", "min": 1}))
    elements = by_id(result.elements)
    assert elements["Patient.name"]["base"] == {"path": "Patient.name", "min": 0, "max": "*"}
    assert elements["Patient.id"]["base"]["path"] == "Resource.id"
    assert all(str(e["id"]).split(":")[0].count(".") == str(e["path"]).count(".") for e in result.elements)


# --- tightening and loosening -------------------------------------------------------------------------


def test_cardinality_is_tightened(r4: TarballSource) -> None:
    result = generate(
        r4,
        patient(
            {"id": "Patient.name", "path": "Patient.name", "min": 1, "max": "2"},
            {"id": "Patient.gender", "path": "Patient.gender", "min": 1, "mustSupport": True},
        ),
    )
    elements = by_id(result.elements)
    assert (elements["Patient.name"]["min"], elements["Patient.name"]["max"]) == (1, "2")
    assert elements["Patient.name"]["base"]["max"] == "*"
    assert elements["Patient.gender"]["mustSupport"] is True
    assert result.issues == ()


def test_loosened_cardinality_is_reported_and_the_base_kept(r4: TarballSource) -> None:
    result = generate(
        r4,
        patient(
            {"id": "Patient.active", "path": "Patient.active", "max": "*"},
            {"id": "Patient.link", "path": "Patient.link"},
            {"id": "Patient.link.other", "path": "Patient.link.other", "min": 0},
        ),
    )
    assert messages(result) == [
        ("snapshot.loosens-cardinality", "Patient.active"),
        ("snapshot.loosens-cardinality", "Patient.link.other"),
    ]
    elements = by_id(result.elements)
    assert elements["Patient.active"]["max"] == "1"
    assert elements["Patient.link.other"]["min"] == 1
    issue = result.issues[0]
    assert issue.severity is Severity.ERROR
    assert issue.profile == "http://example.org/fhir/StructureDefinition/test-patient"
    assert issue.location == "StructureDefinition.differential.element[1]"


def test_min_above_max_is_reported(r4: TarballSource) -> None:
    result = generate(r4, patient({"id": "Patient.name", "path": "Patient.name", "min": 2, "max": "1"}))
    assert messages(result) == [("snapshot.invalid-cardinality", "Patient.name")]


def test_element_missing_from_the_base_is_reported(r4: TarballSource) -> None:
    result = generate(
        r4,
        patient(
            {"id": "Patient.nickname", "path": "Patient.nickname", "min": 1},
            {"id": "Patient.name.nickname", "path": "Patient.name.nickname"},
        ),
    )
    assert messages(result) == [
        ("snapshot.no-base-element", "Patient.name.nickname"),
        ("snapshot.no-base-element", "Patient.nickname"),
    ]
    assert "Patient.nickname" not in ids(result)


def test_type_outside_the_base_is_reported(r4: TarballSource) -> None:
    result = generate(
        r4, patient({"id": "Patient.birthDate", "path": "Patient.birthDate", "type": [{"code": "string"}]})
    )
    assert messages(result) == [("snapshot.type-not-in-base", "Patient.birthDate")]
    assert by_id(result.elements)["Patient.birthDate"]["type"] == [{"code": "date"}]


def test_types_are_narrowed_to_the_differential(r4: TarballSource) -> None:
    target = [CORE_PREFIX + "Patient"]
    result = generate(
        r4,
        observation(
            {
                "id": "Observation.subject",
                "path": "Observation.subject",
                "type": [{"code": "Reference", "targetProfile": target}],
            },
            {
                "id": "Observation.effective[x]",
                "path": "Observation.effective[x]",
                "type": [{"code": "dateTime"}, {"code": "Period"}],
            },
        ),
    )
    elements = by_id(result.elements)
    assert elements["Observation.subject"]["type"] == [{"code": "Reference", "targetProfile": target}]
    assert [t["code"] for t in elements["Observation.effective[x]"]["type"]] == ["dateTime", "Period"]


def test_a_type_named_by_code_only_keeps_what_the_base_said(r4: TarballSource) -> None:
    result = generate(
        r4,
        observation(
            {"id": "Observation.subject", "path": "Observation.subject", "type": [{"code": "Reference"}]}
        ),
    )
    base = by_id(r4.structure_definition("Observation")["snapshot"]["element"])  # type: ignore[index]
    assert by_id(result.elements)["Observation.subject"]["type"] == base["Observation.subject"]["type"]


def test_bindings_strengthen_and_weakening_is_reported(r4: TarballSource) -> None:
    result = generate(
        r4,
        patient(
            {
                "id": "Patient.maritalStatus",
                "path": "Patient.maritalStatus",
                "binding": {"strength": "required"},
            },
            {"id": "Patient.gender", "path": "Patient.gender", "binding": {"strength": "example"}},
        ),
    )
    elements = by_id(result.elements)
    marital = elements["Patient.maritalStatus"]["binding"]
    assert marital["strength"] == "required"
    assert marital["valueSet"] == "http://hl7.org/fhir/ValueSet/marital-status"
    assert elements["Patient.gender"]["binding"]["strength"] == "required"
    assert messages(result) == [("snapshot.weakens-binding", "Patient.gender")]


def test_fixed_values_pattern_constraints_and_documentation(r4: TarballSource) -> None:
    constraint = {"key": "tst-1", "severity": "error", "human": "has a name", "expression": "name.exists()"}
    result = generate(
        r4,
        profile(
            "test-patient",
            "Patient",
            [
                {"id": "Patient", "path": "Patient", "constraint": [constraint]},
                {
                    "id": "Patient.language",
                    "path": "Patient.language",
                    "fixedCode": "en-GB",
                    "short": "Always English",
                },
                {
                    "id": "Patient.maritalStatus",
                    "path": "Patient.maritalStatus",
                    "patternCodeableConcept": {"text": "x"},
                },
            ],
        ),
    )
    elements = by_id(result.elements)
    root_keys = [c["key"] for c in elements["Patient"]["constraint"]]
    assert root_keys[-1] == "tst-1" and "dom-2" in root_keys
    assert (
        elements["Patient"]["constraint"][-1]["source"]
        == "http://example.org/fhir/StructureDefinition/test-patient"
    )
    assert elements["Patient.language"]["fixedCode"] == "en-GB"
    assert elements["Patient.language"]["short"] == "Always English"
    assert elements["Patient.language"]["definition"].startswith("The base language")
    assert elements["Patient.maritalStatus"]["patternCodeableConcept"] == {"text": "x"}


def test_a_second_fixed_value_that_conflicts_is_reported(r4: TarballSource) -> None:
    base = profile(
        "fixed-base", "Patient", [{"id": "Patient.language", "path": "Patient.language", "fixedCode": "en"}]
    )
    child = profile(
        "fixed-child",
        base["url"],
        [{"id": "Patient.language", "path": "Patient.language", "fixedCode": "fr"}],
        type_name="Patient",
    )
    result = generate(r4, child, base)
    assert messages(result) == [("snapshot.conflicting-value", "Patient.language")]
    assert by_id(result.elements)["Patient.language"]["fixedCode"] == "en"


def test_modifier_flag_cannot_be_dropped(r4: TarballSource) -> None:
    result = generate(r4, patient({"id": "Patient.active", "path": "Patient.active", "isModifier": False}))
    assert messages(result) == [("snapshot.loosens-modifier", "Patient.active")]
    assert by_id(result.elements)["Patient.active"]["isModifier"] is True


# --- slicing --------------------------------------------------------------------------------------------


def nhs_number_profile() -> dict[str, Any]:
    return fixture("r4-patient-nhs-number.json")


def test_slices_unfold_the_children_they_constrain(r4: TarballSource) -> None:
    result = generate(r4, nhs_number_profile())
    assert result.issues == ()
    elements = by_id(result.elements)
    nhs = elements["Patient.identifier:nhsNumber"]
    assert (nhs["sliceName"], nhs["path"], nhs["min"], nhs["max"]) == (
        "nhsNumber",
        "Patient.identifier",
        0,
        "1",
    )
    system = elements["Patient.identifier:nhsNumber.system"]
    assert system["path"] == "Patient.identifier.system"
    assert system["fixedUri"] == "https://fhir.nhs.uk/Id/nhs-number"
    assert system["base"]["path"] == "Identifier.system"
    assert elements["Patient.identifier:nhsNumber.value"]["min"] == 1
    assert elements["Patient.identifier"]["slicing"]["rules"] == "open"
    order = ids(result)
    identifier_block = order[order.index("Patient.identifier") : order.index("Patient.active")]
    assert identifier_block[:3] == [
        "Patient.identifier",
        "Patient.identifier:nhsNumber",
        "Patient.identifier:nhsNumber.id",
    ]
    assert "Patient.identifier.system" not in order


def test_reslices_nest_under_their_slice(r4: TarballSource) -> None:
    result = generate(
        r4,
        patient(
            {
                "id": "Patient.identifier",
                "path": "Patient.identifier",
                "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"},
            },
            {
                "id": "Patient.identifier:local",
                "path": "Patient.identifier",
                "sliceName": "local",
                "slicing": {"discriminator": [{"type": "value", "path": "type"}], "rules": "open"},
            },
            {
                "id": "Patient.identifier:local/mrn",
                "path": "Patient.identifier",
                "sliceName": "local/mrn",
                "max": "1",
            },
            {"id": "Patient.identifier:local/mrn.value", "path": "Patient.identifier.value", "min": 1},
        ),
    )
    order = ids(result)
    assert result.issues == ()
    local = order.index("Patient.identifier:local")
    assert order[local + 1 : local + 3] == ["Patient.identifier:local/mrn", "Patient.identifier:local/mrn.id"]
    assert by_id(result.elements)["Patient.identifier:local/mrn.value"]["min"] == 1


def test_slice_of_an_element_nothing_slices_constrains_the_element(r4: TarballSource) -> None:
    result = generate(
        r4,
        patient({"id": "Patient.birthDate:dob", "path": "Patient.birthDate", "sliceName": "dob", "min": 1}),
    )
    assert messages(result) == [("snapshot.slice-without-slicing", "Patient.birthDate:dob")]
    assert "Patient.birthDate" not in ids(result)
    assert by_id(result.elements)["Patient.birthDate:dob"]["min"] == 1


# --- choice types ---------------------------------------------------------------------------------------


def test_renamed_choice_narrows_the_choice_element(r4: TarballSource) -> None:
    result = generate(
        r4,
        observation(
            {"id": "Observation.valueQuantity", "path": "Observation.valueQuantity", "min": 1},
            {
                "id": "Observation.valueQuantity.system",
                "path": "Observation.valueQuantity.system",
                "fixedUri": "http://unitsofmeasure.org",
            },
        ),
    )
    assert result.issues == ()
    elements = by_id(result.elements)
    value = elements["Observation.value[x]"]
    assert (value["min"], value["type"]) == (1, [{"code": "Quantity"}])
    assert elements["Observation.value[x].system"]["fixedUri"] == "http://unitsofmeasure.org"
    assert not any("valueQuantity" in i for i in ids(result))


def test_renamed_choice_on_a_base_with_that_type_slice_constrains_the_slice(r4: TarballSource) -> None:
    comparator = "Observation.valueQuantity.comparator"
    sd = profile("heavier", CORE_PREFIX + "bodyweight", [{"id": comparator, "path": comparator, "max": "0"}])
    sd["type"] = "Observation"
    result = generate(r4, sd)
    assert result.issues == ()
    elements = by_id(result.elements)
    assert elements["Observation.value[x]:valueQuantity.comparator"]["max"] == "0"
    assert "Observation.value[x].comparator" not in elements


def test_several_type_slices_slice_the_choice_by_type(r4: TarballSource) -> None:
    result = generate(
        r4,
        observation(
            {
                "id": "Observation.value[x]:valueQuantity",
                "path": "Observation.value[x]",
                "sliceName": "valueQuantity",
            },
            {"id": "Observation.value[x]:valueQuantity.unit", "path": "Observation.value[x].unit", "min": 1},
            {
                "id": "Observation.value[x]:valueString",
                "path": "Observation.value[x]",
                "sliceName": "valueString",
                "max": "1",
            },
        ),
    )
    assert result.issues == ()
    elements = by_id(result.elements)
    assert elements["Observation.value[x]"]["slicing"]["discriminator"] == [{"type": "type", "path": "$this"}]
    assert len(elements["Observation.value[x]"]["type"]) == 11
    assert elements["Observation.value[x]:valueQuantity"]["type"] == [{"code": "Quantity"}]
    assert elements["Observation.value[x]:valueString"]["type"] == [{"code": "string"}]
    assert elements["Observation.value[x]:valueQuantity.unit"]["min"] == 1


def test_several_renamings_of_one_choice_become_type_slices(r4: TarballSource) -> None:
    result = generate(
        r4,
        observation(
            {"id": "Observation.valueQuantity", "path": "Observation.valueQuantity"},
            {"id": "Observation.valueQuantity.unit", "path": "Observation.valueQuantity.unit", "min": 1},
            {"id": "Observation.valueString", "path": "Observation.valueString", "max": "1"},
        ),
    )
    assert result.issues == ()
    elements = by_id(result.elements)
    choice = elements["Observation.value[x]"]
    assert [t["code"] for t in choice["type"]] == ["Quantity", "string"]
    assert choice["slicing"]["rules"] == "closed"
    assert elements["Observation.value[x]:valueQuantity"]["type"] == [{"code": "Quantity"}]
    assert elements["Observation.value[x]:valueString"]["type"] == [{"code": "string"}]
    assert elements["Observation.value[x]:valueQuantity.unit"]["min"] == 1


def test_one_type_slice_alone_narrows_the_choice(r4: TarballSource) -> None:
    result = generate(
        r4,
        observation(
            {
                "id": "Observation.effective[x]:effectivePeriod",
                "path": "Observation.effective[x]",
                "sliceName": "effectivePeriod",
            }
        ),
    )
    assert messages(result) == [
        ("snapshot.slice-without-slicing", "Observation.effective[x]:effectivePeriod")
    ]
    assert by_id(result.elements)["Observation.effective[x]:effectivePeriod"]["type"] == [{"code": "Period"}]


def test_forge_style_choice_ids_in_stu3(stu3: TarballSource) -> None:
    sd = fixture("stu3-forge-choice.json")
    result = generate(stu3, sd)
    assert result.issues == ()
    elements = by_id(result.elements)
    value = elements["Observation.value[x]"]
    assert (value["min"], [t["code"] for t in value["type"]]) == (1, ["CodeableConcept"])
    assert elements["Observation.value[x].coding"]["max"] == "1"
    assert elements["Observation.value[x].coding.system"]["fixedUri"] == "http://snomed.info/sct"
    assert elements["Observation.value[x].text"]["max"] == "0"
    assert not any(":valueCodeableConcept" in i for i in ids(result))


# --- extensions, datatypes, content references ----------------------------------------------------------


def test_extension_slice_takes_the_extension_definition(r4: TarballSource) -> None:
    result = generate(
        r4,
        patient(
            {
                "id": "Patient.extension:birthPlace",
                "path": "Patient.extension",
                "sliceName": "birthPlace",
                "type": [{"code": "Extension", "profile": [CORE_PREFIX + "patient-birthPlace"]}],
            },
            {
                "id": "Patient.extension:nationality",
                "path": "Patient.extension",
                "sliceName": "nationality",
                "type": [{"code": "Extension", "profile": [CORE_PREFIX + "patient-nationality"]}],
            },
            {
                "id": "Patient.extension:nationality.extension:code",
                "path": "Patient.extension.extension",
                "sliceName": "code",
                "min": 1,
            },
        ),
    )
    assert result.issues == ()
    elements = by_id(result.elements)
    assert elements["Patient.extension"]["slicing"]["discriminator"] == [{"type": "value", "path": "url"}]
    birth_place = elements["Patient.extension:birthPlace"]
    assert birth_place["max"] == "1"
    assert birth_place["short"] == "Place of Birth for patient"
    assert not any(i.startswith("Patient.extension:birthPlace.") for i in elements)
    assert elements["Patient.extension:nationality.url"]["fixedUri"] == CORE_PREFIX + "patient-nationality"
    assert elements["Patient.extension:nationality.extension:code"]["min"] == 1
    assert elements["Patient.extension:nationality.extension:code.value[x]"]["type"] == [
        {"code": "CodeableConcept"}
    ]
    assert elements["Patient.extension:nationality.value[x]"]["max"] == "0"


def test_primitive_and_datatype_children_unfold(r4: TarballSource) -> None:
    result = generate(
        r4,
        patient(
            {
                "id": "Patient.birthDate.extension:birthTime",
                "path": "Patient.birthDate.extension",
                "sliceName": "birthTime",
                "type": [{"code": "Extension", "profile": [CORE_PREFIX + "patient-birthTime"]}],
            },
            {"id": "Patient.name.family", "path": "Patient.name.family", "min": 1},
        ),
    )
    assert result.issues == ()
    order = ids(result)
    assert order[order.index("Patient.birthDate") + 1 : order.index("Patient.birthDate") + 5] == [
        "Patient.birthDate.id",
        "Patient.birthDate.extension",
        "Patient.birthDate.extension:birthTime",
        "Patient.birthDate.value",
    ]
    assert by_id(result.elements)["Patient.name.family"]["base"]["path"] == "HumanName.family"


def test_content_reference_children_unfold(r4: TarballSource) -> None:
    sd = profile(
        "test-questionnaire",
        "Questionnaire",
        [{"id": "Questionnaire.item.item.text", "path": "Questionnaire.item.item.text", "min": 1}],
    )
    result = generate(r4, sd)
    assert result.issues == ()
    elements = by_id(result.elements)
    assert elements["Questionnaire.item.item"]["contentReference"] == "#Questionnaire.item"
    assert elements["Questionnaire.item.item.text"]["min"] == 1
    assert "Questionnaire.item.item.linkId" in elements


def test_children_below_a_choice_of_several_types_cannot_unfold(r4: TarballSource) -> None:
    result = generate(
        r4,
        observation(
            {"id": "Observation.effective[x].start", "path": "Observation.effective[x].start", "min": 1}
        ),
    )
    assert messages(result) == [("snapshot.cannot-unfold", "Observation.effective[x].start")]


def test_type_profile_of_another_type_is_ignored_for_unfolding(r4: TarballSource) -> None:
    result = generate(
        r4,
        observation(
            {
                "id": "Observation.subject",
                "path": "Observation.subject",
                "type": [{"code": "Reference", "profile": [CORE_PREFIX + "Patient"]}],
            },
            {"id": "Observation.subject.reference", "path": "Observation.subject.reference", "min": 1},
        ),
    )
    assert messages(result) == [("snapshot.profile-type-mismatch", "Observation.subject")]
    assert {i.severity for i in result.issues} == {Severity.WARNING}
    assert by_id(result.elements)["Observation.subject.reference"]["min"] == 1


# --- profiles on profiles ---------------------------------------------------------------------------------


def test_differential_only_base_is_generated_first(r4: TarballSource) -> None:
    base = nhs_number_profile()
    child = profile(
        "child-patient",
        base["url"],
        [
            {
                "id": "Patient.identifier:nhsNumber",
                "path": "Patient.identifier",
                "sliceName": "nhsNumber",
                "min": 1,
            }
        ],
        type_name="Patient",
    )
    result = generate(r4, child, base)
    assert result.issues == ()
    elements = by_id(result.elements)
    assert elements["Patient.identifier:nhsNumber"]["min"] == 1
    assert elements["Patient.identifier:nhsNumber.system"]["fixedUri"] == "https://fhir.nhs.uk/Id/nhs-number"


def test_circular_bases_are_reported_not_followed(r4: TarballSource) -> None:
    first = profile("loop-a", "http://example.org/fhir/StructureDefinition/loop-b", [], type_name="Patient")
    second = profile("loop-b", "http://example.org/fhir/StructureDefinition/loop-a", [], type_name="Patient")
    result = generate(r4, first, second)
    assert "snapshot" not in result.structure_definition
    assert [i.message_id for i in result.issues] == ["snapshot.circular-base"]
    assert result.issues[0].severity is Severity.FATAL


def test_missing_base_is_fatal(r4: TarballSource) -> None:
    result = generate(
        r4, profile("orphan", "http://example.org/fhir/StructureDefinition/nowhere", [], type_name="Patient")
    )
    assert [(i.message_id, i.severity) for i in result.issues] == [("snapshot.no-base", Severity.FATAL)]
    assert "snapshot" not in result.structure_definition
    assert not result.ok


def test_stu3_elements_without_base_get_one(stu3: TarballSource) -> None:
    sd = profile(
        "stu3-code",
        "Observation",
        [{"id": "Observation.code.coding", "path": "Observation.code.coding", "min": 1}],
        fhir_version="3.0.1",
    )
    result = generate(stu3, sd)
    elements = by_id(result.elements)
    assert all("base" in e for e in result.elements)
    assert elements["Observation.code.coding"]["base"] == {
        "path": "CodeableConcept.coding",
        "min": 0,
        "max": "*",
    }
    assert elements["Observation.status"]["base"] == {"path": "Observation.status", "min": 1, "max": "1"}


def test_version_mismatch_is_a_warning_and_the_snapshot_is_generated(r4: TarballSource) -> None:
    # as the HL7 tools do: a definition declared for another version is used, and the user told so
    sd = profile("old", "Patient", [], fhir_version="3.0.1")
    result = generate_snapshot(sd, r4, FhirVersion.R4)
    assert result.elements
    found = [(i.severity.value, i.message_id) for i in result.issues]
    assert found == [("warning", "snapshot.other-fhir-version")]
    assert "3.0.1" in result.issues[0].message


# --- hostile and malformed input ----------------------------------------------------------------------------


def test_malformed_differential_elements_are_reported_not_raised(r4: TarballSource) -> None:
    sd = patient(
        {"id": "Patient.name", "path": "Patient.name", "min": "one", "max": 3},
        {"id": "Patient.gender", "path": "Patient.gender", "type": "code", "binding": "required"},
        {"id": "Patient.active", "path": "Patient.active", "slicing": [], "constraint": {"key": "x"}},
        {"id": "Patient.deceased[x]", "path": "Patient.deceased[x]", "mapping": "m", "extension": 5},
        {"id": "Patient.address", "path": "Patient.address", "isModifier": "yes"},
        {"id": "Patient.birthDate", "path": "Patient.birthDate", "type": [{"profile": "nothing"}, 7]},
    )
    sd["differential"]["element"].extend(["not an element", {"id": "no-path"}, None, {"path": 42}])
    result = generate(r4, sd)
    assert "snapshot" in result.structure_definition
    assert {i.message_id for i in result.issues} == {"snapshot.invalid-value"}
    assert len(result.issues) == 11
    elements = by_id(result.elements)
    assert (elements["Patient.name"]["min"], elements["Patient.name"]["max"]) == (0, "*")


def test_duplicate_differential_elements_are_reported(r4: TarballSource) -> None:
    result = generate(
        r4,
        patient(
            {"id": "Patient.name", "path": "Patient.name", "min": 1},
            {"id": "Patient.name", "path": "Patient.name", "max": "1"},
        ),
    )
    assert messages(result) == [("snapshot.duplicate-element", "Patient.name")]
    assert by_id(result.elements)["Patient.name"]["min"] == 1


def test_no_differential_and_no_base_url(r4: TarballSource) -> None:
    sd = patient()
    del sd["differential"]
    assert generate(r4, sd).elements
    del sd["baseDefinition"]
    result = generate(r4, sd)
    assert [i.message_id for i in result.issues] == ["snapshot.no-base"]


def test_a_large_differential_is_generated_whole(r4: TarballSource) -> None:
    slices: list[dict[str, Any]] = [
        {
            "id": "Patient.identifier",
            "path": "Patient.identifier",
            "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"},
        },
    ]
    for number in range(1500):
        slices.append(
            {
                "id": f"Patient.identifier:s{number}",
                "path": "Patient.identifier",
                "sliceName": f"s{number}",
                "max": "1",
            }
        )
        slices.append(
            {
                "id": f"Patient.identifier:s{number}.system",
                "path": "Patient.identifier.system",
                "fixedUri": f"urn:s:{number}",
            }
        )
    result = generate(r4, patient(*slices))
    assert result.issues == ()
    elements = by_id(result.elements)
    assert elements["Patient.identifier:s1499.system"]["fixedUri"] == "urn:s:1499"
    assert sum(1 for e in result.elements if e.get("sliceName")) == 1500


def test_deep_paths_are_rejected_or_followed_without_recursion_errors(r4: TarballSource) -> None:
    deep = "Patient" + ".contact" * 400
    result = generate(r4, patient({"id": deep, "path": deep, "min": 1}))
    assert "snapshot" in result.structure_definition
    assert [(i.message_id, i.location) for i in result.issues] == [
        ("snapshot.invalid-value", "StructureDefinition.differential.element[1]")
    ]
    nested = "Questionnaire" + ".item" * 40
    items = profile(
        "deep-items", "Questionnaire", [{"id": nested + ".text", "path": nested + ".text", "min": 1}]
    )
    deep_result = generate(r4, items)
    assert deep_result.issues == ()
    assert by_id(deep_result.elements)[nested + ".text"]["min"] == 1


def elements_named(result: SnapshotResult, names: Sequence[str]) -> list[Mapping[str, Any]]:
    elements = by_id(result.elements)
    return [elements[name] for name in names]
