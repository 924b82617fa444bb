"""Standards as data: the shipped definitions, the file format, and every way a definition can be wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.context import Context
from conformance.errors import InputError
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.standards import (
    available_standards,
    builtin_folder,
    load_standard,
    read_standard,
    standard_from_dict,
)
from statements_support import REPO, UK, shared_packages_or_skip

UKCORE = "fhir.r4.ukcore.stu2#2.0.2"

MINIMAL = """
format = 1
id = "mine"
title = "My standard"
publisher = "Me"
fhir_version = "4.0"

[[packages]]
name = "hl7.fhir.r4.core"
version = "4.0.1"

[[profiles]]
url = "http://hl7.org/fhir/StructureDefinition/Patient"
type = "Patient"
"""


def _minimal() -> dict[str, object]:
    return {
        "format": 1,
        "id": "mine",
        "title": "My standard",
        "publisher": "Me",
        "fhir_version": "4.0.1",
        "packages": [{"name": "hl7.fhir.r4.core", "version": "4.0.1"}],
        "profiles": [{"url": "http://hl7.org/fhir/StructureDefinition/Patient", "type": "Patient"}],
    }


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# --- the shipped standards ------------------------------------------------------------------------


def test_shipped_standards_are_found_by_id_and_all_valid() -> None:
    found = dict(available_standards())
    assert {"shared-care-record", "uk-core-stu2"} <= set(found)
    assert all(
        path.parent.resolve() == (REPO / "profiles" / "standards").resolve() for path in found.values()
    )
    assert builtin_folder().resolve() == (REPO / "profiles" / "standards").resolve()
    for standard_id, path in found.items():
        standard = load_standard(standard_id)
        assert (standard.id, standard.source) == (standard_id, str(path))


def test_uk_core_stu2_names_every_resource_profile_of_the_package(shared_settings: Settings) -> None:
    shared_packages_or_skip()
    standard = load_standard("uk-core-stu2")
    context = Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE])
    in_package = {
        (entry.url, entry.type)
        for entry in context.structure_definitions(derivation="constraint")
        if entry.package == UKCORE and entry.type != "Extension"
    }
    assert len(in_package) == 31
    assert {(profile.url, profile.type) for profile in standard.profiles} == in_package
    assert standard.fhir_version is FhirVersion.R4
    assert [package.reference for package in standard.packages] == [UKCORE, "hl7.fhir.r4.core#4.0.1"]


def test_uk_core_assigns_shared_types_to_the_base_profile() -> None:
    standard = load_standard("uk-core-stu2")
    for resource_type in ("Observation", "DiagnosticReport", "ServiceRequest"):
        default = standard.default_profile_for(resource_type)
        assert default is not None and default.url == f"{UK}UKCore-{resource_type}"
    assert not standard.profile(f"{UK}UKCore-Observation-Lab").default_for_type  # type: ignore[union-attr]
    assert standard.default_profile_for("Bundle") is None


def test_shared_care_record_requires_its_eight_profiles() -> None:
    standard = load_standard("shared-care-record")
    assert sorted(profile.type for profile in standard.profiles) == [
        "AllergyIntolerance", "Condition", "Encounter", "MedicationStatement",
        "Observation", "Organization", "Patient", "Practitioner",
    ]  # fmt: skip
    assert all(profile.required for profile in standard.profiles)
    assert standard.profile(f"{UK}UKCore-Patient|2.5.0").min_samples == 2  # type: ignore[union-attr]
    assert standard.profile(f"{UK}UKCore-Organization").min_samples == 1  # type: ignore[union-attr]


# --- reading definitions --------------------------------------------------------------------------


def test_toml_and_json_forms_read_alike(tmp_path: Path) -> None:
    from_toml = read_standard(_write(tmp_path, "mine.toml", MINIMAL))
    from_json = read_standard(_write(tmp_path, "mine.json", json.dumps(_minimal())))
    assert from_toml.to_dict() == from_json.to_dict()
    assert from_toml.sha256 == from_json.sha256
    profile = from_toml.profiles[0]
    assert (profile.required, profile.min_samples, profile.default_for_type) == (False, 1, True)


def test_digest_ignores_layout_but_not_content(tmp_path: Path) -> None:
    standard = read_standard(_write(tmp_path, "a.toml", MINIMAL))
    relaid = read_standard(_write(tmp_path, "b.toml", "# a comment\n" + MINIMAL.replace(" = ", "=")))
    changed = read_standard(
        _write(tmp_path, "c.toml", MINIMAL.replace('type = "Patient"', 'type = "Patient"\nmin_samples = 3'))
    )
    assert relaid.sha256 == standard.sha256
    assert changed.sha256 != standard.sha256


def test_definition_round_trips_through_its_dict_form() -> None:
    standard = load_standard("uk-core-stu2")
    again = standard_from_dict(standard.to_dict())
    assert again.to_dict() == standard.to_dict() and again.sha256 == standard.sha256


def test_a_search_folder_comes_before_the_shipped_ones(tmp_path: Path) -> None:
    _write(tmp_path, "uk-core-stu2.toml", MINIMAL.replace('id = "mine"', 'id = "uk-core-stu2"'))
    mine = load_standard("uk-core-stu2", search_path=[tmp_path])
    assert len(mine.profiles) == 1 and mine.source == str(tmp_path / "uk-core-stu2.toml")
    assert len(load_standard("uk-core-stu2").profiles) == 31


def test_unknown_id_lists_the_known_ones() -> None:
    known = r"\(known: (.*, )?shared-care-record, (.*, )?uk-core-stu2"
    with pytest.raises(InputError, match=r"unknown standard 'nope' " + known):
        load_standard("nope")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the standard"):
        load_standard(str(tmp_path / "absent.toml"))


# --- wrong definitions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, r"at \.format: 1 was expected"),
        ({"id": "Has Spaces"}, r"at \.id: 'Has Spaces' does not match"),
        ({"fhir_version": "5.0"}, r"at \.fhir_version: '5.0' is not one of"),
        ({"packages": []}, r"at \.packages: \[\] should be non-empty"),
        ({"extra": True}, r"Additional properties are not allowed \('extra' was unexpected\)"),
        ({"profiles": [{"url": "not a url", "type": "Patient"}]}, r"at \.profiles\[0\]\.url"),
        ({"profiles": [{"url": "http://x.org/P", "type": "Patient", "min_samples": 0}]}, r"min_samples: 0"),
        ({"profiles": [{"url": "http://x.org/P", "type": "Patient", "required": "yes"}]}, r"'yes' is not"),
        ({"title": 7}, r"at \.title: 7 is not of type 'string'"),
    ],
)
def test_shape_errors_name_the_place(change: dict[str, object], message: str) -> None:
    data = {**_minimal(), **change}
    with pytest.raises(InputError, match=message):
        standard_from_dict(data, where="mine.json")


def test_missing_fields_are_named() -> None:
    data = _minimal()
    del data["publisher"]
    with pytest.raises(InputError, match="'publisher' is a required property"):
        standard_from_dict(data)


def test_a_repeated_profile_is_refused() -> None:
    profile = {"url": "http://x.org/P", "type": "Patient"}
    with pytest.raises(InputError, match=r"http://x\.org/P is listed more than once"):
        standard_from_dict({**_minimal(), "profiles": [profile, profile]})


def test_two_defaults_for_one_type_are_refused() -> None:
    profiles = [
        {"url": "http://x.org/A", "type": "Observation", "default_for_type": True},
        {"url": "http://x.org/B", "type": "Observation", "default_for_type": True},
    ]
    with pytest.raises(InputError, match="2 profiles of type Observation have default_for_type"):
        standard_from_dict({**_minimal(), "profiles": profiles})


def test_several_profiles_of_a_type_have_no_default_unless_marked() -> None:
    profiles = [
        {"url": "http://x.org/A", "type": "Observation"},
        {"url": "http://x.org/B", "type": "Observation"},
    ]
    standard = standard_from_dict({**_minimal(), "profiles": profiles})
    assert standard.default_profile_for("Observation") is None


def test_a_package_version_that_is_not_a_range_is_refused() -> None:
    with pytest.raises(InputError, match="not a name with a version range"):
        standard_from_dict(
            {**_minimal(), "packages": [{"name": "hl7.fhir.r4.core", "version": "4.0.1/../.."}]}
        )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.toml", "format = = 1", "not valid TOML"),
        ("bad.json", "{", "not valid JSON"),
        ("bad.json", "[1, 2]", "at the top: \\[1, 2\\] is not of type 'object'"),
        ("bad.toml", b'id = "\xff"', "must be UTF-8"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply|not valid JSON|is not of type"),
    ],
)
def test_unreadable_definitions_are_input_errors(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        read_standard(_write(tmp_path, name, content))


def test_a_huge_definition_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    with path.open("wb") as stream:
        stream.truncate(64 * 1024 * 1024)
    with pytest.raises(InputError, match="may not exceed"):
        read_standard(path)
