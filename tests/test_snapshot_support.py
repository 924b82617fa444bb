"""Helpers shared by the snapshot tests, and tests of the helpers themselves.

`TarballSource` is a small DefinitionSource read straight from FHIR package
tarballs (`package/StructureDefinition-*.json`), so the snapshot tests depend on
nothing but the generator and the shared packages (`../shared/fhir-packages`,
beside the repository; tests that need them are skipped when it is absent).
"""

from __future__ import annotations

import functools
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "snapshot"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_PACKAGES = SHARED / "fhir-packages"
GENERATED_SNAPSHOTS = SHARED_PACKAGES / "_generated-snapshots"

R4_CORE = "hl7.fhir.r4.core#4.0.1.tgz"
R3_CORE = "hl7.fhir.r3.core#3.0.1.tgz"
UKCORE = "fhir.r4.ukcore.stu2#2.0.2.tgz"
CARECONNECT = "careconnect.stu3#1.0.0.tgz"
NHSCONNECT = "nhsconnect.stu3-fhir-assets#0.0.0-develop.20241024.tgz"

CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"


def shared_tarball(name: str) -> Path:
    path = SHARED_PACKAGES / name
    if not path.is_file():
        pytest.skip(f"needs the shared FHIR package {name} in {SHARED_PACKAGES} (absent)")
    return path


@functools.cache
def tarball_definitions(path: Path) -> tuple[dict[str, Any], ...]:
    """Every StructureDefinition of a package tarball (read once per test session)."""
    found: list[dict[str, Any]] = []
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            name = member.name.rsplit("/", 1)[-1]
            if not (member.isfile() and name.startswith("StructureDefinition-") and name.endswith(".json")):
                continue
            stream = archive.extractfile(member)
            assert stream is not None
            data = orjson.loads(stream.read())
            if data.get("resourceType") == "StructureDefinition":
                found.append(data)
    return tuple(found)


class TarballSource:
    """StructureDefinitions by url, `url|version` and core type name; the first definition of a url wins."""

    def __init__(self, definitions: Iterable[Mapping[str, Any]]) -> None:
        self._by_url: dict[str, Mapping[str, Any]] = {}
        self._by_version: dict[str, Mapping[str, Any]] = {}
        for sd in definitions:
            url = str(sd.get("url", ""))
            self._by_url.setdefault(url, sd)
            if sd.get("version"):
                self._by_version.setdefault(f"{url}|{sd['version']}", sd)

    @classmethod
    def of(cls, *tarballs: str, extra: Sequence[Mapping[str, Any]] = ()) -> TarballSource:
        """Definitions of the named shared tarballs, with `extra` taking precedence."""
        definitions: list[Mapping[str, Any]] = list(extra)
        for name in tarballs:
            definitions.extend(tarball_definitions(shared_tarball(name)))
        return cls(definitions)

    def structure_definition(self, url_or_type: str) -> Mapping[str, Any] | None:
        if "/" not in url_or_type and ":" not in url_or_type:
            url_or_type = CORE_PREFIX + url_or_type
        if url_or_type in self._by_version:
            return self._by_version[url_or_type]
        return self._by_url.get(url_or_type.split("|", 1)[0])

    def definitions(self) -> list[Mapping[str, Any]]:
        return list(self._by_url.values())


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def profile(
    name: str,
    base: str,
    elements: Sequence[Mapping[str, Any]],
    *,
    fhir_version: str = "4.0.1",
    type_name: str | None = None,
) -> dict[str, Any]:
    """A differential-only constraint profile named `name`, on `base` (a core type name or a URL)."""
    base_url = base if "/" in base else CORE_PREFIX + base
    return {
        "resourceType": "StructureDefinition",
        "id": name,
        "url": f"http://example.org/fhir/StructureDefinition/{name}",
        "version": "1.0.0",
        "name": name.replace("-", ""),
        "status": "draft",
        "fhirVersion": fhir_version,
        "kind": "resource",
        "abstract": False,
        "type": type_name or base_url.rsplit("/", 1)[-1],
        "baseDefinition": base_url,
        "derivation": "constraint",
        "differential": {"element": [dict(e) for e in elements]},
    }


def by_id(elements: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(e["id"]): e for e in elements}


# --- tests of the helpers ----------------------------------------------------------------------------


@pytest.mark.shared
def test_tarball_source_resolves_urls_versions_and_type_names() -> None:
    source = TarballSource.of(R4_CORE)
    patient = source.structure_definition("Patient")
    assert patient is not None and patient["url"] == CORE_PREFIX + "Patient"
    assert source.structure_definition(CORE_PREFIX + "Patient|4.0.1") is patient
    assert source.structure_definition(CORE_PREFIX + "Patient|9.9") is patient
    assert source.structure_definition("http://example.org/nothing") is None
    assert len(tarball_definitions(shared_tarball(R4_CORE))) == 658


def test_profile_helper_builds_a_constraint_on_a_core_type() -> None:
    built = profile("p", "Patient", [{"id": "Patient", "path": "Patient"}])
    assert built["baseDefinition"] == CORE_PREFIX + "Patient"
    assert built["type"] == "Patient"
    assert built["differential"]["element"] == [{"id": "Patient", "path": "Patient"}]
