"""Reading standard definitions: by id from the shipped folder or a search path, or from a file.

A definition is TOML or JSON, checked first against `standard.schema.json` (shape) and then here
(meaning: a known FHIR version, package version ranges that parse, one default profile per type).
Every problem is an `InputError` naming the file and the place in it.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from conformance._resources import profiles_folder
from conformance.errors import ConformanceError, InputError
from conformance.fhirversion import FhirVersion
from conformance.packages.versions import parse_package_reference
from conformance.standards.model import Lifecycle, PackageRequirement, ProfileRequirement, Standard, Status

SCHEMA_FILE = "standard.schema.json"
SUFFIXES = (".toml", ".json")
MAX_DEFINITION_BYTES = 1 << 20  # a real definition is a few kilobytes; refuse anything absurd unread


def builtin_folder() -> Path:
    """Where the shipped standards are: profiles/standards, shipped inside the package."""
    return profiles_folder("standards")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema_path = builtin_folder() / SCHEMA_FILE
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"the standard schema {schema_path} cannot be read ({exc.strerror})") from None
    return jsonschema.Draft202012Validator(schema)


def load_standard(id_or_path: str | Path, *, search_path: Sequence[Path] = ()) -> Standard:
    """A standard by id (searched in `search_path`, then the shipped ones) or by file path."""
    if isinstance(id_or_path, Path) or _looks_like_path(id_or_path):
        return read_standard(Path(id_or_path))
    for folder in (*search_path, builtin_folder()):
        for suffix in SUFFIXES:
            candidate = folder / f"{id_or_path}{suffix}"
            if candidate.is_file():
                return read_standard(candidate)
    known = ", ".join(standard_id for standard_id, _ in available_standards(search_path)) or "none"
    raise InputError(
        f"unknown standard {id_or_path!r} (known: {known}); give a .toml or .json file to use your own"
    )


def _looks_like_path(text: str) -> bool:
    return text.endswith(SUFFIXES) or "/" in text or "\\" in text


def available_standards(search_path: Sequence[Path] = ()) -> tuple[tuple[str, Path], ...]:
    """(id, file) for every definition file found by id, first occurrence of an id winning."""
    found: dict[str, Path] = {}
    for folder in (*search_path, builtin_folder()):
        for path in _definition_files(folder):
            found.setdefault(path.stem, path)
    return tuple(sorted(found.items()))


def _definition_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.suffix in SUFFIXES and path.is_file() and not path.name.endswith(".schema.json"):
            yield path


def read_standard(path: Path) -> Standard:
    """Read and check one definition file."""
    data = _read_definition(path)
    return standard_from_dict(data, where=str(path))


def _read_definition(path: Path) -> Any:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_DEFINITION_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read the standard {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_DEFINITION_BYTES:
        raise InputError(f"{path}: a standard definition may not exceed {MAX_DEFINITION_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: a standard definition must be UTF-8 text") from None
    return _parse_text(text, json_form=path.suffix == ".json", where=str(path))


def _parse_text(text: str, *, json_form: bool, where: str) -> Any:
    try:
        return json.loads(text) if json_form else _dates_as_text(tomllib.loads(text))
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply to be a standard definition") from None


def _dates_as_text(data: dict[str, Any]) -> dict[str, Any]:
    # TOML has a date type (`date = 2025-06-20`); the JSON form, and the schema, write dates as ISO text.
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in data.items()}


def standard_from_dict(data: Any, *, where: str = "standard") -> Standard:
    """Check a definition in its file form (a dict) and build the Standard."""
    _check_shape(data, where)
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


def _check_shape(data: Any, where: str) -> None:
    error = _first_error(data)
    if error is not None:
        place = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.path)
        raise InputError(f"{where}: not a valid standard definition at {place or 'the top'}: {error.message}")


def _first_error(data: Any) -> jsonschema.ValidationError | None:
    # best_match picks the error a person should read first (the deepest, most specific one).
    errors = _validator().iter_errors(data)
    found: jsonschema.ValidationError | None = jsonschema.exceptions.best_match(errors)
    return found


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
