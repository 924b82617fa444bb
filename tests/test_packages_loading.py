"""Loading single packages: folders, archives, indexes, lazy resources, and the package store's search."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conformance.errors import PackageError
from conformance.packages.loading import PackageLoader
from conformance.packages.store import PackageStore
from conformance.packages.versions import VersionSpec
from packages_support import FIXTURE_PACKAGES, copy_fixtures, offline_settings, pack, tarball


def _archive(tmp_path: Path, package_id: str, name: str | None = None) -> Path:
    path = tmp_path / "archives" / (name or f"{package_id}.tgz")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pack(package_id))
    return path


def test_a_folder_without_an_index_is_indexed_from_its_files(tmp_path: Path) -> None:
    package = PackageLoader(tmp_path / "work").load(FIXTURE_PACKAGES / "example.profiles#1.0.0")
    assert package.id == "example.profiles#1.0.0"
    by_id = {entry.id: entry for entry in package.index}
    assert set(by_id) == {"ExamplePatient", "ExampleExtension", "example"}
    profile = by_id["ExamplePatient"]
    assert profile.url == "http://example.org/fhir/StructureDefinition/ExamplePatient"
    assert (profile.type, profile.derivation, profile.kind) == ("Patient", "constraint", "resource")
    assert profile.base_definition == "http://hl7.org/fhir/StructureDefinition/Patient"
    assert package.manifest.dependencies == (("hl7.fhir.r4.core", "4.0.1"), ("example.terms", "1.x"))
    assert package.parsed_count == 0


def test_a_package_index_is_used_and_enriched_with_base_definitions(tmp_path: Path) -> None:
    package = PackageLoader(tmp_path / "work").load(FIXTURE_PACKAGES / "hl7.fhir.r4.core#4.0.1")
    patient = next(entry for entry in package.index if entry.id == "Patient")
    assert patient.base_definition == "http://hl7.org/fhir/StructureDefinition/DomainResource"
    assert package.counts() == {"StructureDefinition": 3, "ValueSet": 1}


def test_resources_are_parsed_on_first_use_and_kept(tmp_path: Path) -> None:
    package = PackageLoader(tmp_path / "work").load(FIXTURE_PACKAGES / "example.terms#1.0.0")
    entry = package.index[0]
    first = package.resource(entry)
    assert first["resourceType"] == entry.resource_type
    assert package.resource(entry) is first
    assert package.parsed_count == 1


def test_the_enriched_index_is_reused_until_the_folder_changes(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "pkgs", "example.profiles#1.0.0") / "example.profiles#1.0.0"
    PackageLoader(tmp_path / "work").load(folder)
    profile = folder / "package" / "StructureDefinition-ExamplePatient.json"
    stat = profile.stat()
    # Same size and times, other content: a warm load must not even read the file.
    profile.write_bytes(profile.read_bytes().replace(b'"constraint"', b'"specialize"'))
    os.utime(profile, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    warm = PackageLoader(tmp_path / "work").load(folder)
    assert {e.derivation for e in warm.index if e.id == "ExamplePatient"} == {"constraint"}
    # A new file changes the listing, so the index is rebuilt and sees both changes.
    (folder / "package" / "ValueSet-new.json").write_text('{"resourceType": "ValueSet", "id": "new"}')
    cold = PackageLoader(tmp_path / "work").load(folder)
    assert {e.id for e in cold.index} >= {"new"}
    assert {e.derivation for e in cold.index if e.id == "ExamplePatient"} == {"specialize"}


def test_an_archive_is_extracted_once_into_the_work_cache(tmp_path: Path) -> None:
    archive = _archive(tmp_path, "example.terms#1.1.0")
    package = PackageLoader(tmp_path / "work").load(archive)
    assert package.source == archive
    extracted = tmp_path / "work" / "extracted"
    assert package.directory.parent.parent == extracted
    assert len(list(extracted.iterdir())) == 1
    marker = package.directory / "marker"
    marker.write_text("still here")
    again = PackageLoader(tmp_path / "work").load(archive)
    assert again.directory == package.directory and marker.exists()
    assert again.resource(again.index[0])["id"] == "colours"


def test_an_unwritable_work_cache_costs_speed_not_correctness(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.write_text("a file where the work cache folder should be")
    package = PackageLoader(work).load(FIXTURE_PACKAGES / "example.profiles#1.0.0")
    assert len(package.index) == 3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "nothing-here", "no such package"),
        (lambda root: FIXTURE_PACKAGES / "not-a-package", "not a FHIR package"),
        (lambda root: FIXTURE_PACKAGES / "README.md", "not a package archive"),
    ],
    ids=["missing", "folder-without-manifest", "plain-file"],
)
def test_things_that_are_not_packages_give_clear_errors(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PackageError, match=message):
        PackageLoader(tmp_path / "work").load(make(tmp_path))


def test_a_corrupt_archive_names_the_file(tmp_path: Path) -> None:
    archive = tmp_path / "broken#1.0.0.tgz"
    archive.write_bytes(pack("example.terms#1.0.0")[:300])
    with pytest.raises(PackageError, match=r"broken#1\.0\.0\.tgz"):
        PackageLoader(tmp_path / "work").load(archive)
    assert list((tmp_path / "work" / "extracted").iterdir()) == []


def test_an_archive_that_is_not_a_fhir_package_is_refused_and_not_kept(tmp_path: Path) -> None:
    archive = tmp_path / "npm-thing.tgz"
    archive.write_bytes(tarball([("package/index.js", b"module.exports = 1")]))
    with pytest.raises(PackageError, match=r"no package/package\.json"):
        PackageLoader(tmp_path / "work").load(archive)
    assert list((tmp_path / "work" / "extracted").iterdir()) == []


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"name": "x"}', "no name or no version"),
        (b'{"name": "x", "version": "1.0.0", "dependencies": ["a"]}', "dependencies"),
    ],
)
def test_broken_manifests_are_named(tmp_path: Path, manifest: bytes, message: str) -> None:
    folder = tmp_path / "x#1.0.0" / "package"
    folder.mkdir(parents=True)
    (folder / "package.json").write_bytes(manifest)
    with pytest.raises(PackageError, match=message):
        PackageLoader(tmp_path / "work").load(tmp_path / "x#1.0.0")


def test_a_broken_resource_file_fails_when_used_naming_it(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "pkgs", "example.terms#1.0.0") / "example.terms#1.0.0"
    (folder / "package" / "ValueSet-colours.json").write_text("{ broken")
    package = PackageLoader(tmp_path / "work").load(folder)  # the package's own index lists it
    entry = next(e for e in package.index if e.resource_type == "ValueSet")
    with pytest.raises(PackageError, match=r"ValueSet-colours\.json is not valid JSON"):
        package.resource(entry)


def test_an_index_pointing_outside_the_package_is_ignored(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "pkgs", "example.terms#1.0.0") / "example.terms#1.0.0" / "package"
    (folder / ".index.json").write_text(
        '{"index-version": 1, "files": [{"filename": "../../secret.json", "resourceType": "ValueSet"},'
        ' {"filename": "CodeSystem-colours.json", "resourceType": "CodeSystem", "url": "u"}, 7]}'
    )
    package = PackageLoader(tmp_path / "work").load(folder.parent)
    assert [entry.filename for entry in package.index] == ["CodeSystem-colours.json"]


# --- the store: where packages are found -----------------------------------------------------------


def test_the_package_path_comes_before_the_cache(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "path", "example.terms#1.0.0")
    settings = offline_settings(tmp_path, folder)
    copy_fixtures(settings.package_cache, "example.terms#1.1.0")
    store = PackageStore(settings)
    assert store.find_local("example.terms", VersionSpec.parse("1.x")).id == "example.terms#1.0.0"  # type: ignore[union-attr]
    assert store.find_local("example.terms", VersionSpec.parse("1.1.0")).id == "example.terms#1.1.0"  # type: ignore[union-attr]
    assert store.find_local("example.terms", VersionSpec.parse("2.x")) is None
    assert store.find("example.terms", VersionSpec.parse("2.x")) is None  # offline: no registry


def test_archives_and_folders_mix_and_non_packages_are_ignored(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path / "path", "example.terms#1.0.0")
    shutil.copy(_archive(tmp_path, "example.terms#1.1.0"), folder)
    shutil.copytree(FIXTURE_PACKAGES / "not-a-package", folder / "_examples")
    (folder / "notes.txt").write_text("not a package")
    store = PackageStore(offline_settings(tmp_path, folder))
    ids = [f"{candidate.id}@{candidate.place}" for candidate in store.candidates()]
    assert ids == ["example.terms#1.0.0@path", "example.terms#1.1.0@path"]
    assert store.find_local("example.terms", VersionSpec.parse("latest")).source.suffix == ".tgz"  # type: ignore[union-attr]


def test_an_archive_with_a_plain_name_is_found_by_its_manifest(tmp_path: Path) -> None:
    archive = _archive(tmp_path, "example.terms#1.1.0", name="download.tgz")
    store = PackageStore(offline_settings(tmp_path, archive.parent))
    assert store.find_local("example.terms", VersionSpec.parse("1.1.0")).source == archive  # type: ignore[union-attr]


def test_an_archive_whose_name_lies_is_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path, "example.terms#1.1.0", name="example.terms#9.9.9.tgz")
    store = PackageStore(offline_settings(tmp_path, archive.parent))
    with pytest.raises(PackageError, match=r"holds example\.terms#1\.1\.0, not example\.terms#9\.9\.9"):
        store.find_local("example.terms", VersionSpec.parse("9.9.9"))


def test_a_package_path_entry_may_be_a_package_itself(tmp_path: Path) -> None:
    store = PackageStore(offline_settings(tmp_path, FIXTURE_PACKAGES / "example.dup#1.0.0"))
    assert [candidate.id for candidate in store.candidates()] == ["example.dup#1.0.0"]
