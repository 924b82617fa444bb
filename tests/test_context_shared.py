"""Context over the real packages in ../shared/fhir-packages (skipped when that folder is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.context import CORE_SD_PREFIX, Context
from conformance.errors import FhirVersionError
from conformance.fhirversion import FhirVersion
from conformance.packages.store import PackageStore
from conformance.settings import Settings
from packages_support import session_work_cache, shared_packages

pytestmark = pytest.mark.shared

CORE_PATIENT = "http://hl7.org/fhir/StructureDefinition/Patient"
UKCORE_PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
CARECONNECT_PATIENT = "https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Patient-1"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("shared-packages")
    return Settings(
        package_path=(shared_packages(),),
        package_cache=root / "cache",
        work_cache=session_work_cache(tmp_path_factory),
        offline=True,
    )


@pytest.fixture(scope="module")
def r4(settings: Settings) -> Context:
    return Context.build(settings, FhirVersion.R4, igs=["fhir.r4.ukcore.stu2#2.0.2"])


@pytest.fixture(scope="module")
def stu3(settings: Settings) -> Context:
    return Context.build(settings, FhirVersion.STU3, igs=["nhsconnect.stu3-fhir-assets"])


def test_every_shared_package_loads(settings: Settings) -> None:
    packages = PackageStore(settings).local_packages()
    ids = {package.id for package in packages}
    assert ids == {
        "careconnect.stu3#1.0.0",
        "fhir.r4.ukcore.stu2#2.0.2",
        "hl7.fhir.r3.core#3.0.1",
        "hl7.fhir.r4.core#4.0.1",
        "hl7.fhir.r4.examples#4.0.1",
        "hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1",
        "hl7.terminology.r4#7.0.1",
        "nhsconnect.stu3-fhir-assets#0.0.0-develop.20241024",
    }
    counts = {package.id: package.counts() for package in packages}
    assert counts["hl7.fhir.r4.core#4.0.1"]["StructureDefinition"] == 658
    assert counts["hl7.fhir.r3.core#3.0.1"]["StructureDefinition"] == 585
    assert counts["fhir.r4.ukcore.stu2#2.0.2"] == {
        "CapabilityStatement": 1,
        "CodeSystem": 49,
        "StructureDefinition": 78,
        "ValueSet": 70,
    }
    # No .index.json there: the index is built from the top-level files, other folders left out.
    terminology = counts["hl7.terminology.r4#7.0.1"]
    assert (terminology["ValueSet"], terminology["CodeSystem"], terminology["NamingSystem"]) == (
        2499,
        897,
        660,
    )
    assert all(package.parsed_count == 0 for package in packages)


def test_r4_context_resolves_core_and_uk_core(r4: Context) -> None:
    assert [p.id for p in r4.packages] == [
        "fhir.r4.ukcore.stu2#2.0.2",
        "hl7.fhir.r4.core#4.0.1",
        "hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1",
        "hl7.terminology.r4#7.0.1",
    ]
    patient = r4.structure_definition("Patient")
    assert patient is not None and patient["url"] == CORE_PATIENT and patient["fhirVersion"] == "4.0.1"
    assert len(patient["snapshot"]["element"]) > 40
    uk = r4.resolve_with_origin(UKCORE_PATIENT)
    assert uk is not None
    assert uk[0]["baseDefinition"] == CORE_PATIENT and uk[1].package == "fhir.r4.ukcore.stu2#2.0.2"
    assert r4.resolve(CARECONNECT_PATIENT) is None


def test_the_extensions_pack_is_loaded_by_default_and_fills_gaps_only(settings: Settings) -> None:
    # A context of its own, so the parse counts below are this test's alone.
    r4 = Context.build(settings, FhirVersion.R4, igs=["fhir.r4.ukcore.stu2#2.0.2"])
    # hl7.terminology.r4#7.0.1 names extensions 5.2.0 and the pack names terminology 6.5.0: the versions
    # there satisfy each other, so nothing is warned about and nothing is missing.
    assert not [w for w in r4.warnings if "extensions" in w] and r4.unavailable == ()
    pack = "hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1"
    only_there = r4.resolve_with_origin(f"{CORE_SD_PREFIX}individual-genderIdentity")
    assert only_there is not None and only_there[1].package == pack
    # The pack publishes the core's extensions too: its copy wins over the core package's, as in the HL7
    # validator; the core's stays reachable by version.
    birth_place = r4.resolve_with_origin(f"{CORE_SD_PREFIX}patient-birthPlace")
    assert birth_place is not None and birth_place[1].package == pack
    core_copy = r4.resolve_with_origin(f"{CORE_SD_PREFIX}patient-birthPlace|4.0.1")
    assert core_copy is not None and core_copy[1].package == "hl7.fhir.r4.core#4.0.1"
    assert r4.missing_definition_note(f"{CORE_SD_PREFIX}no-such-extension") is None
    # Read lazily: only the two definitions resolved above were parsed.
    assert r4.package(pack).parsed_count == 2  # type: ignore[union-attr]


def test_terminology_fills_gaps_only(r4: Context) -> None:
    # Only in hl7.terminology.r4 (UK Core binds to it).
    only_there = r4.resolve_with_origin("http://terminology.hl7.org/ValueSet/v2-0936")
    assert only_there is not None and only_there[1].package == "hl7.terminology.r4#7.0.1"


def test_r4_profiles_queries(r4: Context) -> None:
    uk_profiles = [
        entry
        for entry in r4.structure_definitions(type="Patient", derivation="constraint")
        if entry.package.startswith("fhir.r4.ukcore")
    ]
    assert [entry.url for entry in uk_profiles] == [UKCORE_PATIENT]
    derived = r4.structure_definitions(base=CORE_PATIENT)
    assert UKCORE_PATIENT in {entry.url for entry in derived}


def test_stu3_context_resolves_core_and_care_connect(stu3: Context) -> None:
    assert [p.id for p in stu3.packages] == [
        "nhsconnect.stu3-fhir-assets#0.0.0-develop.20241024",
        "careconnect.stu3#1.0.0",
        "hl7.fhir.r3.core#3.0.1",
    ]
    patient = stu3.structure_definition(CORE_PATIENT)
    assert patient is not None and patient["fhirVersion"] == "3.0.1"
    care_connect = stu3.resolve(CARECONNECT_PATIENT)
    assert care_connect is not None and care_connect["version"] == "1.3.0"
    assert stu3.resolve(UKCORE_PATIENT) is None
    assert stu3.duplicates(), "nhsconnect redefines a few core extensions"
    assert all(d.origins[0].package for d in stu3.duplicates())


def test_a_context_refuses_another_versions_packages(settings: Settings) -> None:
    with pytest.raises(FhirVersionError, match=r"careconnect\.stu3#1\.0\.0 is for FHIR 3\.0\.1"):
        Context.build(settings, FhirVersion.R4, igs=["careconnect.stu3"])
    with pytest.raises(FhirVersionError, match=r"fhir\.r4\.ukcore\.stu2#2\.0\.2"):
        Context.build(settings, FhirVersion.STU3, igs=["fhir.r4.ukcore.stu2"])


def test_a_tgz_given_explicitly_loads(settings: Settings) -> None:
    tgz = Path(settings.package_path[0]) / "careconnect.stu3#1.0.0.tgz"
    context = Context.build(settings, FhirVersion.STU3, packages=[tgz])
    assert [p.id for p in context.packages] == ["careconnect.stu3#1.0.0", "hl7.fhir.r3.core#3.0.1"]
    assert context.structure_definition(CARECONNECT_PATIENT) is not None
