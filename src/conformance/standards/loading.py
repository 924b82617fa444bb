"""Reading standard definitions: by id from the shipped folder or a search path, or from a file.

A definition is TOML or JSON, checked first against `standard.schema.json` (shape) and then here
(meaning: a known FHIR version, package version ranges that parse, one default profile per type).
Every problem is an `InputError` naming the file and the place in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from conformance._definitions import DefinitionKind
from conformance.errors import ConformanceError, InputError
from conformance.fhirversion import FhirVersion
from conformance.packages.versions import parse_package_reference
from conformance.standards.model import Lifecycle, PackageRequirement, ProfileRequirement, Standard, Status


def _dates_as_text(data: dict[str, Any]) -> dict[str, Any]:
    # TOML has a date type (`date = 2025-06-20`); the JSON form, and the schema, write dates as ISO text.
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in data.items()}


STANDARDS = DefinitionKind("standard", "standards", "standard.schema.json", toml_hook=_dates_as_text)


def builtin_folder() -> Path:
    """Where the shipped standards are: profiles/standards, shipped inside the package."""
    return STANDARDS.builtin_folder()


def load_standard(id_or_path: str | Path, *, search_path: Sequence[Path] = ()) -> Standard:
    """A standard by id (searched in `search_path`, then the shipped ones) or by file path."""
    return read_standard(STANDARDS.find(id_or_path, search_path))


def available_standards(search_path: Sequence[Path] = ()) -> tuple[tuple[str, Path], ...]:
    """(id, file) for every definition file found by id, first occurrence of an id winning."""
    return STANDARDS.available(search_path)


def read_standard(path: Path) -> Standard:
    """Read and check one definition file."""
    return standard_from_dict(STANDARDS.read(path), where=str(path))


def standard_from_dict(data: Any, *, where: str = "standard") -> Standard:
    """Check a definition in its file form (a dict) and build the Standard."""
    STANDARDS.check_shape(data, where)
    version = FhirVersion.parse(data["fhir_version"])
    packages = tuple(_package(item, where) for item in data["packages"])
    profiles = _profiles(data["profiles"], where)
    return Standard(
        id=data["id"],
        title=data["title"],
        publisher=data["publisher"],
        fhir_version=version,
        packages=packages,
        profiles=profiles,
        description=data.get("description", ""),
        source=where,
        lifecycle=_lifecycle(data, where),
    )


def _lifecycle(data: Mapping[str, Any], where: str) -> Lifecycle:
    lifecycle = Lifecycle(
        status=Status(data.get("status", Status.ACTIVE.value)),
        version=data.get("version", ""),
        date=data.get("date"),
        status_date=data.get("status_date"),
        successor=data.get("successor"),
        predecessor=data.get("predecessor"),
    )
    if data["id"] in (lifecycle.successor, lifecycle.predecessor):
        raise InputError(f"{where}: a standard cannot be its own successor or predecessor")
    return lifecycle


def _package(item: Mapping[str, Any], where: str) -> PackageRequirement:
    reference = f"{item['name']}#{item['version']}"
    try:
        parse_package_reference(reference)
    except ConformanceError:
        raise InputError(f"{where}: package {reference!r} is not a name with a version range") from None
    return PackageRequirement(name=item["name"], version=item["version"])


def _profiles(items: Sequence[Mapping[str, Any]], where: str) -> tuple[ProfileRequirement, ...]:
    repeated = [url for url, count in Counter(item["url"] for item in items).items() if count > 1]
    if repeated:
        raise InputError(f"{where}: profile {repeated[0]} is listed more than once")
    per_type = Counter(item["type"] for item in items)
    profiles = tuple(_profile(item, per_type[item["type"]]) for item in items)
    _check_one_default_per_type(profiles, where)
    return profiles


def _profile(item: Mapping[str, Any], profiles_of_type: int) -> ProfileRequirement:
    # The only profile of its type is the type's default unless the file says otherwise.
    default = item.get("default_for_type", profiles_of_type == 1)
    return ProfileRequirement(
        url=item["url"],
        type=item["type"],
        required=item.get("required", False),
        min_samples=item.get("min_samples", 1),
        default_for_type=default,
        note=item.get("note", ""),
    )


def _check_one_default_per_type(profiles: Sequence[ProfileRequirement], where: str) -> None:
    defaults = Counter(profile.type for profile in profiles if profile.default_for_type)
    for resource_type, count in sorted(defaults.items()):
        if count > 1:
            raise InputError(
                f"{where}: {count} profiles of type {resource_type} have default_for_type = true; "
                "at most one may be the default for a type"
            )
