"""Context.build over the tiny fixture packages: resolution order, warnings, precedence, extras."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.context import AmbiguousPackagesError, Context, ResourceOrigin
from conformance.errors import (
    ConformanceError,
    FhirVersionError,
    InputError,
    PackageNotFoundError,
    UsageError,
)
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from packages_support import FIXTURE_PACKAGES, copy_fixtures, offline_settings

ALL_FIXTURES = (
    "hl7.fhir.r4.core#4.0.1",
    "hl7.fhir.r3.core#3.0.1",
    "example.profiles#1.0.0",
    "example.terms#1.0.0",
    "example.terms#1.1.0",
    "example.dup#1.0.0",
    "example.stu3#1.0.0",
)
PROFILE = "http://example.org/fhir/StructureDefinition/ExamplePatient"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return offline_settings(tmp_path, copy_fixtures(tmp_path / "path", *ALL_FIXTURES))


def _ids(context: Context) -> list[str]:
    return [package.id for package in context.packages]


def test_dependencies_resolve_breadth_first_with_core_last(settings: Settings) -> None:
    context = Context.build(settings, FhirVersion.R4, igs=["example.profiles#1.0.0"])
    assert _ids(context) == ["example.profiles#1.0.0", "example.terms#1.1.0", "hl7.fhir.r4.core#4.0.1"]
    assert context.fhir_version is FhirVersion.R4


def test_a_missing_dependency_is_a_warning_naming_who_needs_it(settings: Settings) -> None:
    context = Context.build(settings, FhirVersion.R4, igs=["example.profiles"])
    [warning] = [w for w in context.warnings if "example.missing" in w]
    assert "example.terms#1.1.0 needs example.missing#2.0.0" in warning
    assert "offline" in warning


def test_a_missing_requested_package_is_an_error(settings: Settings) -> None:
    with pytest.raises(PackageNotFoundError, match=r"example\.absent#1\.0\.0: not found"):
        Context.build(settings, FhirVersion.R4, igs=["example.absent#1.0.0"])


def test_a_missing_core_package_is_an_error_naming_who_needs_it(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "path", "example.terms#1.0.0")
    with pytest.raises(
        PackageNotFoundError, match=r"example\.terms#1\.0\.0 needs the core package hl7\.fhir\.r4\.core"
    ):
        Context.build(offline_settings(tmp_path, folder), FhirVersion.R4, igs=["example.terms#1.0.0"])
    with pytest.raises(PackageNotFoundError, match="a FHIR R4 context needs the core package"):
        Context.build(offline_settings(tmp_path, folder), FhirVersion.R4)


def test_versions_are_never_mixed(settings: Settings) -> None:
    with pytest.raises(FhirVersionError, match=r"example\.stu3#1\.0\.0 is for FHIR 3\.0\.1, not FHIR R4"):
        Context.build(settings, FhirVersion.R4, igs=["example.stu3#1.0.0"])
    stu3 = Context.build(settings, FhirVersion.STU3, igs=["example.stu3"])
    assert _ids(stu3) == ["example.stu3#1.0.0", "hl7.fhir.r3.core#3.0.1"]
    assert stu3.structure_definition("Patient")["version"] == "3.0.1"  # type: ignore[index]


def test_a_version_range_in_a_request_picks_the_highest_match(settings: Settings) -> None:
    older = Context.build(settings, FhirVersion.R4, igs=["example.terms#1.0.x"])
    assert _ids(older) == ["example.terms#1.0.0", "hl7.fhir.r4.core#4.0.1"]
    newest = Context.build(settings, FhirVersion.R4, igs=["example.terms#>=1.0.0 <2.0.0"])
    assert _ids(newest)[0] == "example.terms#1.1.0"


def test_an_earlier_chosen_version_that_fits_is_reused(settings: Settings) -> None:
    context = Context.build(settings, FhirVersion.R4, igs=["example.terms#1.0.0", "example.profiles#1.0.0"])
    assert _ids(context) == ["example.terms#1.0.0", "example.profiles#1.0.0", "hl7.fhir.r4.core#4.0.1"]


def test_two_versions_of_one_package_are_loaded_with_a_warning(settings: Settings) -> None:
    context = Context.build(settings, FhirVersion.R4, igs=["example.terms#1.1.0", "example.terms#1.0.0"])
    assert _ids(context)[:2] == ["example.terms#1.1.0", "example.terms#1.0.0"]
    assert any("loaded beside example.terms 1.1.0" in w for w in context.warnings)
    cs = "http://example.org/fhir/CodeSystem/colours"
    assert context.resolve(cs)["version"] == "1.1.0"  # type: ignore[index]
    assert context.resolve(f"{cs}|1.0.0")["version"] == "1.0.0"  # type: ignore[index]
    assert context.resolve(cs, "1.0")["version"] == "1.0.0"  # type: ignore[index]
    assert context.resolve(f"{cs}|3.0") is None


def test_explicit_package_paths_come_first(settings: Settings) -> None:
    context = Context.build(
        settings,
        FhirVersion.R4,
        igs=["example.profiles#1.0.0"],
        packages=[FIXTURE_PACKAGES / "example.dup#1.0.0"],
    )
    assert _ids(context)[0] == "example.dup#1.0.0"
    resource, origin = context.resolve_with_origin(PROFILE)  # type: ignore[misc]
    assert resource["title"] == "the duplicate"
    assert origin == ResourceOrigin("example.dup#1.0.0", "StructureDefinition-ExamplePatient.json")


def test_duplicate_canonicals_are_reported_with_where(settings: Settings) -> None:
    context = Context.build(settings, FhirVersion.R4, igs=["example.profiles#1.0.0", "example.dup#1.0.0"])
    [duplicate] = context.duplicates()
    assert duplicate.canonical == f"{PROFILE}|1.0.0"
    assert [origin.package for origin in duplicate.origins] == ["example.profiles#1.0.0", "example.dup#1.0.0"]
    assert any(
        "1 canonical(s) defined more than once" in w and "example.dup#1.0.0" in w for w in context.warnings
    )
    assert "title" not in context.resolve(PROFILE)  # type: ignore[operator]


def test_structure_definition_by_type_and_queries(settings: Settings) -> None:
    context = Context.build(settings, FhirVersion.R4, igs=["example.profiles#1.0.0"])
    assert context.structure_definition("Patient")["url"] == "http://hl7.org/fhir/StructureDefinition/Patient"  # type: ignore[index]
    assert context.structure_definition("NoSuchType") is None
    assert context.structure_definition("http://example.org/fhir/CodeSystem/colours") is None
    profiles = context.structure_definitions(type="Patient", derivation="constraint")
    assert [entry.url for entry in profiles] == [PROFILE]
    extensions = context.structure_definitions(base="http://hl7.org/fhir/StructureDefinition/Extension")
    assert [entry.id for entry in extensions] == ["ExampleExtension"]
    assert [e.id for e in context.structure_definitions(kind="complex-type")] == [
        "ExampleExtension",
        "Extension",
    ]
    assert [r["id"] for r in context.resources("ValueSet")] == ["colours", "administrative-gender"]
    assert [r["id"] for r in context.resources("Patient")] == ["example"]
    assert context.counts()["StructureDefinition"] == 5


def test_implicit_packages_come_after_core_and_only_the_extensions_pack_asks_the_registry(
    tmp_path: Path, settings: Settings
) -> None:
    folder = copy_fixtures(tmp_path / "implicit", "hl7.fhir.r4.core#4.0.1")
    terminology = folder / "hl7.terminology.r4#9.0.0" / "package"
    terminology.mkdir(parents=True)
    (terminology / "package.json").write_text(
        json.dumps(
            {
                "name": "hl7.terminology.r4",
                "version": "9.0.0",
                "fhirVersions": ["4.0.1"],
                "dependencies": {"hl7.fhir.r4.core": "4.0.1", "hl7.fhir.uv.extensions.r4": "5.2.0"},
            }
        )
    )
    online = Settings(
        package_path=(folder,),
        package_cache=tmp_path / "c",
        work_cache=tmp_path / "w",
        registry_url="http://127.0.0.1:9",
        offline=False,
    )
    context = Context.build(online, FhirVersion.R4)
    assert _ids(context) == ["hl7.fhir.r4.core#4.0.1", "hl7.terminology.r4#9.0.0"]
    # The extensions pack was asked of the registry (unreachable here) and its absence is not a warning.
    assert context.warnings == ()
    assert {str(u.requirement) for u in context.unavailable} == {
        "hl7.fhir.uv.extensions.r4#latest",
        "hl7.fhir.uv.extensions.r4#5.2.0",
    }
    assert "registry asked" in (context.missing_definition_note(PACK_EXTENSION) or "")
    assert _ids(Context.build(online, FhirVersion.R4, implicit_packages=False)) == ["hl7.fhir.r4.core#4.0.1"]
    # Without it nothing is asked of anyone: the fixture set has no terminology package.
    assert "hl7.terminology.r4" not in " ".join(_ids(Context.build(settings, FhirVersion.R4)))


# --- extra resources ------------------------------------------------------------------------------


def _profile_dict(title: str) -> dict[str, object]:
    return {"resourceType": "StructureDefinition", "url": PROFILE, "version": "1.0.0", "title": title}


def test_extras_come_first_and_the_last_given_wins(settings: Settings, tmp_path: Path) -> None:
    file = tmp_path / "overlay.json"
    file.write_text(json.dumps(_profile_dict("from a file")))
    context = Context.build(
        settings, FhirVersion.R4, igs=["example.profiles"], extra_resources=[_profile_dict("first"), file]
    )
    resource, origin = context.resolve_with_origin(PROFILE)  # type: ignore[misc]
    assert resource["title"] == "from a file"
    assert origin == ResourceOrigin(None, str(file))
    assert len(context.duplicates()) == 1
    layered = context.with_resources([_profile_dict("top layer")])
    assert layered.resolve(PROFILE)["title"] == "top layer"  # type: ignore[index]
    assert context.resolve(PROFILE)["title"] == "from a file"  # type: ignore[index]
    assert layered.packages == context.packages


def test_extra_folders_are_read_recursively_with_bundle_entries(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "extras" / "deeper"
    folder.mkdir(parents=True)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "ValueSet", "url": "http://example.org/vs/b", "id": "b"}},
            {"x": 1},
        ],
    }
    (folder / "bundle.json").write_text(json.dumps(bundle))
    (folder / "notes.txt").write_text("ignored")
    context = Context.build(settings, FhirVersion.R4, extra_resources=[tmp_path / "extras"])
    found = context.resolve_with_origin("http://example.org/vs/b")
    assert found is not None and found[1].path.endswith("bundle.json#entry[0]")
    assert context.resolve_with_origin("http://example.org/vs/b|2.0") is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{ not json", "not valid JSON"),
        ('{"id": "x"}', "not a FHIR resource"),
        ("[1]", "not a FHIR resource"),
    ],
)
def test_bad_extra_files_are_errors_naming_the_file(
    settings: Settings, tmp_path: Path, content: str, message: str
) -> None:
    file = tmp_path / "bad-extra.json"
    file.write_text(content)
    with pytest.raises(InputError, match=rf"bad-extra\.json: {message}"):
        Context.build(settings, FhirVersion.R4, extra_resources=[file])


def test_bad_extra_values_are_errors(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such extra resource"):
        Context.build(settings, FhirVersion.R4, extra_resources=[tmp_path / "absent.json"])
    with pytest.raises(InputError, match="extra resource #1: not a FHIR resource"):
        Context.build(settings, FhirVersion.R4, extra_resources=[{"id": "no type"}])
    with pytest.raises(ConformanceError, match="not a package reference"):
        Context.build(settings, FhirVersion.R4, igs=["bad name"])


def test_with_packages_defining_adds_what_a_profile_needs(tmp_path: Path) -> None:
    folder = copy_fixtures(
        tmp_path / "one", "hl7.fhir.r4.core#4.0.1", "example.profiles#1.0.0", "example.terms#1.1.0"
    )
    context = Context.build(offline_settings(tmp_path, folder), FhirVersion.R4)
    assert context.structure_definition(PROFILE) is None
    extended = context.with_packages_defining([PROFILE, "http://nowhere.example/x"])
    assert extended.structure_definition(PROFILE) is not None
    assert _ids(extended) == ["hl7.fhir.r4.core#4.0.1", "example.profiles#1.0.0", "example.terms#1.1.0"]
    assert context.with_packages_defining(["http://hl7.org/fhir/StructureDefinition/Patient"]) is context


def test_two_packages_nobody_named_defining_a_wanted_url_are_refused_naming_the_ig_to_use(
    settings: Settings,
) -> None:
    # example.profiles and example.dup both define PROFILE: folder order must never decide.
    context = Context.build(settings, FhirVersion.R4)
    with pytest.raises(AmbiguousPackagesError) as raised:
        context.with_packages_defining([PROFILE])
    message = str(raised.value)
    assert message == (
        f"{PROFILE} is defined by 2 packages on the package path "
        "(example.dup#1.0.0, example.profiles#1.0.0); "
        "name the one to use with --ig example.dup#1.0.0 or --ig example.profiles#1.0.0"
    )
    named = Context.build(settings, FhirVersion.R4, igs=["example.dup#1.0.0"])
    assert named.with_packages_defining([PROFILE]) is named


def test_of_one_package_line_nobody_named_the_highest_version_is_taken(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "path", "hl7.fhir.r4.core#4.0.1")
    for version, title in (("1.10.0", "newest"), ("1.9.0", "older"), ("1.10.0-ballot", "prerelease")):
        _write_package(folder, "example.line", version, [_profile_dict(title)])
    context = Context.build(offline_settings(tmp_path, folder), FhirVersion.R4)
    extended = context.with_packages_defining([PROFILE])
    assert _ids(extended) == ["hl7.fhir.r4.core#4.0.1", "example.line#1.10.0"]
    assert extended.resolve(PROFILE)["title"] == "newest"  # type: ignore[index]


def _write_package(folder: Path, name: str, version: str, resources: list[dict[str, object]]) -> Path:
    package = folder / f"{name}#{version}" / "package"
    package.mkdir(parents=True)
    manifest = {
        "name": name,
        "version": version,
        "fhirVersions": ["4.0.1"],
        "dependencies": {"hl7.fhir.r4.core": "4.0.1"},
    }
    (package / "package.json").write_text(json.dumps(manifest))
    for position, resource in enumerate(resources):
        (package / f"{resource['resourceType']}-{position}.json").write_text(json.dumps(resource))
    return package


# --- the HL7 extensions pack, loaded implicitly -----------------------------------------------------

PACK = "hl7.fhir.uv.extensions.r4"
PACK_EXTENSION = "http://hl7.org/fhir/StructureDefinition/example-pack-extension"


def _pack_extension() -> dict[str, object]:
    return {
        "resourceType": "StructureDefinition",
        "url": PACK_EXTENSION,
        "version": "5.3.0",
        "type": "Extension",
        "kind": "complex-type",
        "derivation": "constraint",
    }


def test_the_extensions_pack_is_loaded_after_core_and_can_be_turned_off(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "path", "hl7.fhir.r4.core#4.0.1")
    _write_package(folder, PACK, "5.3.0", [_pack_extension()])
    settings = offline_settings(tmp_path, folder)
    context = Context.build(settings, FhirVersion.R4)
    assert _ids(context) == ["hl7.fhir.r4.core#4.0.1", f"{PACK}#5.3.0"]
    assert context.resolve(PACK_EXTENSION) is not None
    assert [u.requirement.name for u in context.unavailable] == ["hl7.terminology.r4"]
    assert context.warnings == ()
    assert context.missing_definition_note(PACK_EXTENSION + "-unknown") is None

    off = Context.build(replace(settings, extensions_pack=False), FhirVersion.R4)
    assert _ids(off) == ["hl7.fhir.r4.core#4.0.1"]
    assert off.missing_definition_note(PACK_EXTENSION) == (
        f"the HL7 extensions pack ({PACK}) is turned off by "
        "CONFORMANCE_EXTENSIONS_PACK=off or --no-extensions-pack"
    )
    assert off.missing_definition_note("http://example.org/fhir/StructureDefinition/x") is None
    assert _ids(Context.build(settings, FhirVersion.R4, implicit_packages=False)) == [
        "hl7.fhir.r4.core#4.0.1"
    ]


def test_the_packs_copy_of_a_core_extension_wins_over_the_core_packages_only(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "path", "hl7.fhir.r4.core#4.0.1")
    core_extension = "http://hl7.org/fhir/StructureDefinition/patient-example-core-ext"
    core = folder / "hl7.fhir.r4.core#4.0.1" / "package"
    core_copy = {**_pack_extension(), "url": core_extension, "version": "4.0.1", "title": "core"}
    (core / "StructureDefinition-patient-example-core-ext.json").write_text(json.dumps(core_copy))
    index = json.loads((core / ".index.json").read_text())
    index["files"].append({"filename": "StructureDefinition-patient-example-core-ext.json", **core_copy})
    (core / ".index.json").write_text(json.dumps(index))
    _write_package(folder, PACK, "5.3.0", [{**core_copy, "version": "5.3.0", "title": "pack"}])
    settings = offline_settings(tmp_path, folder)
    context = Context.build(settings, FhirVersion.R4)
    assert context.resolve(core_extension)["title"] == "pack"  # type: ignore[index]
    assert context.resolve(core_extension, "4.0.1")["title"] == "core"  # type: ignore[index]
    # A copy given as an extra resource (or by a package the user names) still comes first.
    overlay = {**core_copy, "version": "9.9.9", "title": "mine"}
    assert context.with_resources([overlay]).resolve(core_extension)["title"] == "mine"  # type: ignore[index]


def test_a_missing_extensions_pack_is_said_where_it_matters_not_as_a_warning(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "path", "hl7.fhir.r4.core#4.0.1")
    context = Context.build(offline_settings(tmp_path, folder), FhirVersion.R4)
    assert context.warnings == ()
    assert [u.requirement.name for u in context.unavailable] == [PACK, "hl7.terminology.r4"]
    note = context.missing_definition_note(PACK_EXTENSION)
    assert note is not None and note.startswith(
        f"the HL7 extensions pack ({PACK}), which defines most of these"
    )
    assert "searched 1 package folder(s)" in note and "offline" in note
    # Outside the pack's canonical space nothing is said.
    assert context.missing_definition_note("https://fhir.hl7.org.uk/StructureDefinition/Extension-X") is None


def test_the_environment_switches_the_extensions_pack(tmp_path: Path) -> None:
    assert Settings.from_environment({}).extensions_pack is True
    assert Settings.from_environment({"CONFORMANCE_EXTENSIONS_PACK": "off"}).extensions_pack is False
    assert Settings.from_environment({"CONFORMANCE_EXTENSIONS_PACK": "1"}).extensions_pack is True
    with pytest.raises(UsageError, match="CONFORMANCE_EXTENSIONS_PACK must be on or off"):
        Settings.from_environment({"CONFORMANCE_EXTENSIONS_PACK": "maybe"})
    assert Settings().with_options(extensions_pack=False).extensions_pack is False
    assert replace(Settings(), extensions_pack=False).with_options().extensions_pack is False


def test_building_reads_no_resource(settings: Settings) -> None:
    context = Context.build(settings, FhirVersion.R4, igs=["example.profiles#1.0.0"])
    assert [package.parsed_count for package in context.packages] == [0, 0, 0]
    context.resolve(PROFILE)
    assert [package.parsed_count for package in context.packages] == [1, 0, 0]
