"""Terminology over the real packages in ../shared/fhir-packages (skipped when that folder is absent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.terminology import CodeCheck, LocalTerminology, sctid_problem
from test_terminology_support import SNOMED, UCUM, require_shared

pytestmark = pytest.mark.shared

FHIR_VS = "http://hl7.org/fhir/ValueSet/"
UK_VS = "https://fhir.hl7.org.uk/ValueSet/"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    packages = require_shared()
    root = tmp_path_factory.mktemp("terminology-packages")
    return Settings(
        package_path=(packages,),
        package_cache=root / "cache",
        work_cache=tmp_path_factory.getbasetemp() / "session-work-cache",
        offline=True,
    )


@pytest.fixture(scope="module")
def r4_context(settings: Settings) -> Context:
    return Context.build(settings, FhirVersion.R4, igs=["fhir.r4.ukcore.stu2#2.0.2"])


@pytest.fixture(scope="module")
def r4(r4_context: Context) -> LocalTerminology:
    return LocalTerminology(r4_context, FhirVersion.R4)


@pytest.fixture(scope="module")
def stu3_context(settings: Settings) -> Context:
    return Context.build(settings, FhirVersion.STU3, igs=["nhsconnect.stu3-fhir-assets"])


@pytest.fixture(scope="module")
def stu3(stu3_context: Context) -> LocalTerminology:
    return LocalTerminology(stu3_context, FhirVersion.STU3)


# --- FHIR core value sets ----------------------------------------------------------------------


def test_administrative_gender(r4: LocalTerminology) -> None:
    expansion = r4.expand(FHIR_VS + "administrative-gender")
    assert expansion is not None and expansion.complete
    assert {c.code for c in expansion.contains} == {"male", "female", "other", "unknown"}
    male = r4.validate_code(FHIR_VS + "administrative-gender", system=None, code="male", display="Male")
    assert male.valid and male.system == "http://hl7.org/fhir/administrative-gender"
    assert "administrative-gender|4.0.1" in male.message


def test_a_bad_gender_gives_the_two_errors_the_reference_validator_gives(r4: LocalTerminology) -> None:
    result = r4.validate_code(FHIR_VS + "administrative-gender", system=None, code="asdfafafafd")
    assert result.message_ids == ("terminology.not-in-valueset", "terminology.system-undetermined")


def test_observation_status_lacks_bogus(r4: LocalTerminology) -> None:
    result = r4.validate_code(
        FHIR_VS + "observation-status", system="http://hl7.org/fhir/observation-status", code="bogus"
    )
    assert result.status is CodeCheck.INVALID
    assert result.message_ids == ("terminology.not-in-valueset", "terminology.unknown-code")
    assert r4.validate_code(FHIR_VS + "observation-status", system=None, code="final").valid


def test_ucum_age_units_reject_metres(r4: LocalTerminology) -> None:
    assert r4.validate_code(FHIR_VS + "age-units", system=UCUM, code="m").invalid
    assert r4.validate_code(FHIR_VS + "age-units", system=UCUM, code="a").valid
    assert r4.validate_code(FHIR_VS + "ucum-units", system=UCUM, code="mmol/L").valid
    assert r4.validate_code(FHIR_VS + "ucum-units", system=UCUM, code="mmol/ L").invalid


def test_mime_types_and_languages(r4: LocalTerminology) -> None:
    assert r4.validate_code(FHIR_VS + "mimetypes", system=None, code="application/pdf").valid
    assert r4.validate_code(FHIR_VS + "mimetypes", system=None, code="[%payloadFormat%]").invalid
    assert r4.validate_code(FHIR_VS + "languages", system="urn:ietf:bcp:47", code="en-GB").valid
    assert r4.validate_code(FHIR_VS + "all-languages", system="urn:ietf:bcp:47", code="cy-GB").valid


def test_identifier_type_display_and_deprecated_codes(r4: LocalTerminology) -> None:
    vs = FHIR_VS + "identifier-type"
    assert r4.validate_code(vs, system=V2_0203, code="MR", display="medical record number").issues == ()
    wrong = r4.validate_code(vs, system=V2_0203, code="MR", display="Hospital number")
    assert wrong.valid and [f.message_id for f in wrong.issues] == ["terminology.display-mismatch"]
    deprecated = r4.validate_coding_in_codesystem(
        "http://terminology.hl7.org/CodeSystem/v2-0003", "A18", None
    )
    assert deprecated.valid and [f.message_id for f in deprecated.issues] == ["terminology.deprecated"]


def test_every_value_set_of_the_r4_context_compiles(r4_context: Context, r4: LocalTerminology) -> None:
    outcomes = {"complete": 0, "decidable": 0, "undecidable": 0}
    for value_set in r4_context.resources("ValueSet"):
        expansion = r4.expansion_of(value_set["url"])
        assert expansion is not None, value_set["url"]
        kind = "complete" if expansion.complete else "decidable" if expansion.decidable else "undecidable"
        outcomes[kind] += 1
    assert outcomes["complete"] > 3000 and outcomes["undecidable"] > 100


# --- UK Core -------------------------------------------------------------------------------------


def test_uk_core_value_sets_expand(r4_context: Context, r4: LocalTerminology) -> None:
    uk = [vs["url"] for vs in r4_context.resources("ValueSet") if vs["url"].startswith(UK_VS)]
    assert len(uk) == 70
    expanded = [url for url in uk if r4.expand(url) is not None]
    assert len(expanded) > 50
    ethnic = r4.expand(UK_VS + "UKCore-EthnicCategory")
    assert ethnic is not None and ethnic.complete and len(ethnic) == 35
    birth_sex = r4.expand(UK_VS + "UKCore-BirthSex")
    assert birth_sex is not None and {c.code for c in birth_sex.contains} >= {"M", "F", "UNK"}


def test_uk_core_snomed_bindings_are_not_checked_offline(r4: LocalTerminology) -> None:
    vs = UK_VS + "UKCore-ConditionCode"
    assert r4.expand(vs) is None
    result = r4.validate_code(vs, system=SNOMED, code="22298006", display="Myocardial infarction")
    assert result.unknown and result.issues == ()
    assert "snomed.info/sct" in result.message
    assert r4.validate_code(vs, system=SNOMED, code="22298007").invalid


def test_uk_core_published_expansions_help_but_do_not_close_snomed(r4: LocalTerminology) -> None:
    vs = UK_VS + "UKCore-CareSettingType"
    expansion = r4.expand(vs)
    assert expansion is not None and len(expansion) > 400 and not expansion.complete
    listed = expansion.contains[0]
    assert r4.validate_code(vs, system=listed.system, code=listed.code).valid
    assert r4.validate_code(vs, system=SNOMED, code="73211009").unknown


def test_uk_core_medication_codes_check_dmd_ids(r4: LocalTerminology) -> None:
    vs = UK_VS + "UKCore-MedicationCode"
    assert r4.validate_code(vs, system="https://dmd.nhs.uk", code="10245211000001108").unknown
    bad = r4.validate_code(vs, system="https://dmd.nhs.uk", code="10245211000001109")
    assert bad.message_ids == ("terminology.not-in-valueset", "identifier.sct.check-digit")


def _examples(folder: str) -> Iterator[dict[str, Any]]:
    path = require_shared() / "_examples" / folder
    if not path.is_dir():
        pytest.skip(f"no examples at {path}")
    for file in sorted(path.glob("*.json")):
        yield json.loads(file.read_text(encoding="utf-8"))


def _codings(node: Any, systems: frozenset[str]) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if node.get("system") in systems and isinstance(node.get("code"), str):
            yield node["system"], node["code"]
        for value in node.values():
            yield from _codings(value, systems)
    elif isinstance(node, list):
        for value in node:
            yield from _codings(value, systems)


def test_snomed_and_dmd_codes_of_the_uk_core_examples_pass_the_offline_checks() -> None:
    systems = frozenset({SNOMED, "https://dmd.nhs.uk"})
    codes = {pair for example in _examples("ukcore-stu2") for pair in _codings(example, systems)}
    assert len(codes) > 80
    numeric = {code for _, code in codes if code.isdigit()}
    assert {code for code in numeric if sctid_problem(code)} == set()


def test_two_care_connect_examples_carry_snomed_ids_with_wrong_check_digits() -> None:
    codes = {
        code
        for example in _examples("careconnect-stu3")
        for _, code in _codings(example, frozenset({SNOMED}))
    }
    wrong = {code for code in codes if code.isdigit() and sctid_problem(code)}
    assert wrong == {"86637100000010", "71078501000000104"}


def test_nhs_numbers_of_the_uk_core_examples(r4: LocalTerminology) -> None:
    identifiers = {
        identifier["value"]
        for example in _examples("ukcore-stu2")
        for identifier in example.get("identifier", [])
        if isinstance(identifier, dict) and identifier.get("system") == "https://fhir.nhs.uk/Id/nhs-number"
    }
    results = {
        value: r4.check_identifier("https://fhir.nhs.uk/Id/nhs-number", value) for value in identifiers
    }
    assert {value for value, result in results.items() if result and result.invalid} == {"9912003890"}
    assert results["9912003888"] is not None and results["9912003888"].valid


# --- STU3 ----------------------------------------------------------------------------------------


def test_stu3_core_and_care_connect(stu3_context: Context, stu3: LocalTerminology) -> None:
    assert stu3.validate_code(FHIR_VS + "administrative-gender", system=None, code="female").valid
    gender = stu3.expand("https://fhir.hl7.org.uk/STU3/ValueSet/CareConnect-AdministrativeGender-1")
    assert gender is not None and len(gender) == 4
    ethnic = stu3.expand("https://fhir.hl7.org.uk/STU3/ValueSet/CareConnect-EthnicCategory-1")
    assert ethnic is not None and ethnic.complete and len(ethnic) > 60
    for value_set in stu3_context.resources("ValueSet"):
        assert stu3.expansion_of(value_set["url"]) is not None, value_set["url"]


def test_a_path_beside_the_repository_is_used() -> None:
    assert require_shared() == Path(__file__).resolve().parents[1].parent / "shared" / "fhir-packages"
