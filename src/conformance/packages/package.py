"""One loaded FHIR package: its manifest, its index, and its resources read on first use."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from conformance.errors import PackageError
from conformance.fhirversion import FhirVersion
from conformance.packages.index import MANIFEST_FILE, IndexEntry, read_json


@dataclass(frozen=True)
class Manifest:
    """The fields of `package.json` this library uses."""

    name: str
    version: str
    fhir_versions: tuple[str, ...] = ()
    dependencies: tuple[tuple[str, str], ...] = ()
    type: str | None = None
    canonical: str | None = None
    title: str | None = None

    @property
    def id(self) -> str:
        return f"{self.name}#{self.version}"

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST_FILE
        if not path.is_file():
            raise PackageError(f"{directory.parent}: not a FHIR package (no package/{MANIFEST_FILE})")
        return cls.of(read_json(path), path)

    @classmethod
    def of(cls, data: Any, where: Path) -> Manifest:
        if not isinstance(data, dict):
            raise PackageError(f"{where}: a package manifest must be a JSON object")
        name, version = data.get("name"), data.get("version")
        if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
            raise PackageError(f"{where}: the package manifest has no name or no version")
        return cls(
            name=name,
            version=version,
            fhir_versions=_fhir_versions(data),
            dependencies=_dependencies(data.get("dependencies"), where),
            type=_optional_text(data.get("type")),
            canonical=_optional_text(data.get("canonical")),
            title=_optional_text(data.get("title")),
        )

    def fhir_version_label(self) -> str:
        return ", ".join(self.fhir_versions) if self.fhir_versions else "?"


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _fhir_versions(data: Mapping[str, Any]) -> tuple[str, ...]:
    # Manifests in the wild use any of these spellings.
    for key in ("fhirVersions", "fhir-version-list", "fhirVersion"):
        value = data.get(key)
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list):
            return tuple(item for item in value if isinstance(item, str))
    return ()


def _dependencies(value: Any, where: Path) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise PackageError(f"{where}: 'dependencies' must map package names to version strings")
    return tuple((str(name), version) for name, version in value.items())


@dataclass(frozen=True, eq=False)
class Package:
    """A package whose files are on disk in `directory` (the folder holding package.json).

    `source` is where it was found (a .tgz, a folder). Resources are parsed on
    first use and then kept; callers must treat returned dicts as read-only.
    """

    manifest: Manifest
    directory: Path
    source: Path
    index: tuple[IndexEntry, ...]
    _resources: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    def fhir_release_for(self, fhir_version: FhirVersion) -> bool:
        """Whether this package may join a context of `fhir_version` (undeclared counts as yes)."""
        declared = self.manifest.fhir_versions
        return not declared or any(fhir_version.accepts(release) for release in declared)

    def resource(self, entry: IndexEntry) -> dict[str, Any]:
        """The parsed resource an index entry points at (parsed once, then kept)."""
        cached = self._resources.get(entry.filename)
        if cached is not None:
            return cached
        resource = self._parse(entry.filename)
        with self._lock:
            return self._resources.setdefault(entry.filename, resource)

    def _parse(self, filename: str) -> dict[str, Any]:
        path = self.directory / filename
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise PackageError(f"{self.id}: {filename} is not valid JSON ({exc.msg})") from None
        except OSError as exc:
            raise PackageError(f"{self.id}: {filename} cannot be read ({exc.strerror or exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            raise PackageError(f"{self.id}: {filename} is not a FHIR resource")
        return data

    @property
    def parsed_count(self) -> int:
        """How many resources have been parsed so far (the index alone parses none)."""
        return len(self._resources)

    def counts(self) -> dict[str, int]:
        """How many resources of each type the package holds, by type name."""
        return dict(sorted(Counter(entry.resource_type for entry in self.index).items()))

    def __repr__(self) -> str:
        return f"Package({self.id!r}, {str(self.directory)!r})"
