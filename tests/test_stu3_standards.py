"""The shipped STU3 standards load, and the packages they name define every profile they list.

- care-connect-stu3: every resource profile of careconnect.stu3 1.0.0 (44), all optional.
- gp-connect-structured-stu3: an example of a narrower standard on NHS England's CareConnect-GPC profiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conformance.context import Context
from conformance.errors import ConformanceError
from conformance.fhirversion import FhirVersion
from conformance.standards import load_standard, standard_from_dict
from conformance.statements.assess import standard_record
from conformance.validation.engine import Engine

if TYPE_CHECKING:
    from conformance.settings import Settings
    from conformance.standards import Standard

pytestmark = pytest.mark.shared

PACKAGES = Path(__file__).resolve().parents[1].parent / "shared" / "fhir-packages"
CARECONNECT = "careconnect.stu3#1.0.0"
NHS_ASSETS = "nhsconnect.stu3-fhir-assets#0.0.0-develop.20241024"


def _context(settings: Settings, package: str) -> Context:
    if not (PACKAGES / f"{package}.tgz").is_file():
        pytest.skip(f"needs {PACKAGES / package}.tgz")
    return Context.build(settings, FhirVersion.STU3, igs=[package])


@pytest.fixture(scope="module")
def careconnect(shared_settings: Settings) -> Context:
    return _context(shared_settings, CARECONNECT)


@pytest.fixture(scope="module")
def nhs_assets(shared_settings: Settings) -> Context:
    return _context(shared_settings, NHS_ASSETS)


def test_both_load_as_stu3_standards() -> None:
    care_connect = load_standard("care-connect-stu3")
    gp_connect = load_standard("gp-connect-structured-stu3")
    assert care_connect.fhir_version is FhirVersion.STU3 is gp_connect.fhir_version
    assert (len(care_connect.profiles), len(gp_connect.profiles)) == (44, 9)


def test_care_connect_lists_every_resource_profile_of_the_package(careconnect: Context) -> None:
    package = careconnect.package(CARECONNECT)
    assert package is not None
    resource_profiles = {
        entry.url
        for entry in package.index
        if entry.resource_type == "StructureDefinition"
        and entry.url
        and _is_resource_profile(careconnect, entry.url)
    }
    assert {profile.url for profile in load_standard("care-connect-stu3").profiles} == resource_profiles


def _is_resource_profile(context: Context, url: str) -> bool:
    definition = context.structure_definition(url)
    return (
        definition is not None
        and definition.get("kind") == "resource"
        and definition.get("derivation") == "constraint"
    )


def test_care_connect_is_all_optional_with_general_defaults() -> None:
    standard = load_standard("care-connect-stu3")
    assert not any(profile.required for profile in standard.profiles)
    defaults = {kind: standard.default_profile_for(kind) for kind in ("Observation", "Condition", "Flag")}
    assert {kind: profile.url.rsplit("/", 1)[1] for kind, profile in defaults.items() if profile} == {
        "Observation": "CareConnect-Observation-1",
        "Condition": "CareConnect-Condition-1",
        "Flag": "CareConnect-Flag-1",
    }


def test_gp_connect_example_is_all_required_gpc_profiles() -> None:
    standard = load_standard("gp-connect-structured-stu3")
    assert all(profile.required for profile in standard.profiles)
    assert all("/CareConnect-GPC-" in profile.url for profile in standard.profiles)


@pytest.mark.parametrize(
    ("standard_id", "fixture"),
    [("care-connect-stu3", "careconnect"), ("gp-connect-structured-stu3", "nhs_assets")],
)
def test_packages_define_every_profile_with_its_type(
    request: pytest.FixtureRequest, standard_id: str, fixture: str
) -> None:
    context: Context = request.getfixturevalue(fixture)
    standard: Standard = load_standard(standard_id)
    record = standard_record(standard, context)  # raises when a package, profile or type does not match
    assert [profile.url for profile in record.profiles] == [profile.url for profile in standard.profiles]


@pytest.mark.parametrize(
    ("standard_id", "fixture"),
    [("care-connect-stu3", "careconnect"), ("gp-connect-structured-stu3", "nhs_assets")],
)
def test_every_profile_compiles(request: pytest.FixtureRequest, standard_id: str, fixture: str) -> None:
    # a profile that cannot be compiled would be reported as unknown for every payload that claims it
    definitions = Engine(request.getfixturevalue(fixture)).definitions
    assert [p.url for p in load_standard(standard_id).profiles if definitions.plan(p.url) is None] == []


def test_standard_for_the_wrong_package_version_is_refused(careconnect: Context) -> None:
    data = load_standard("care-connect-stu3").to_dict()
    data["packages"][0]["version"] = "2.0.0"
    with pytest.raises(ConformanceError, match=r"careconnect\.stu3 2\.0\.0"):
        standard_record(standard_from_dict(data), careconnect)
