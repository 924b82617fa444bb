"""Reading framework definitions: by id from the shipped folder or a search path, or from a file.

A definition is TOML or JSON, checked first against `framework.schema.json` (shape) and then here
(meaning: version ranges that parse, each standard required once). Every problem is an `InputError`
naming the file and the place in it.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from conformance._resources import profiles_folder
from conformance.errors import InputError
from conformance.frameworks.model import Framework, Requirement
from conformance.packages.versions import Version, VersionSpec

SCHEMA_FILE = "framework.schema.json"
SUFFIXES = (".toml", ".json")
MAX_DEFINITION_BYTES = 1 << 20  # a real framework is a few kilobytes; refuse anything absurd unread


def builtin_folder() -> Path:
    """Where the shipped (example) frameworks are: profiles/frameworks, shipped inside the package."""
    return profiles_folder("frameworks")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema_path = builtin_folder() / SCHEMA_FILE
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"the framework schema {schema_path} cannot be read ({exc.strerror})") from None
    return jsonschema.Draft202012Validator(schema)


def load_framework(id_or_path: str | Path, *, search_path: Sequence[Path] = ()) -> Framework:
    """A framework by id (searched in `search_path`, then the shipped ones) or by file path."""
    if isinstance(id_or_path, Path) or id_or_path.endswith(SUFFIXES) or "/" in id_or_path:
        return read_framework(Path(id_or_path))
    for folder in (*search_path, builtin_folder()):
        for suffix in SUFFIXES:
            candidate = folder / f"{id_or_path}{suffix}"
            if candidate.is_file():
                return read_framework(candidate)
    known = ", ".join(framework_id for framework_id, _ in available_frameworks(search_path)) or "none"
    raise InputError(
        f"unknown framework {id_or_path!r} (known: {known}); give a .toml or .json file to use your own"
    )


def available_frameworks(search_path: Sequence[Path] = ()) -> tuple[tuple[str, Path], ...]:
    """(id, file) for every definition file found, the first occurrence of an id winning."""
    found: dict[str, Path] = {}
    for folder in (*search_path, builtin_folder()):
        for path in definition_files(folder):
            found.setdefault(path.stem, path)
    return tuple(sorted(found.items()))


def definition_files(folder: Path) -> Iterator[Path]:
    """The framework files directly in `folder` (not its schema), in name order."""
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.suffix in SUFFIXES and path.is_file() and not path.name.endswith(".schema.json"):
            yield path


def read_framework(path: Path) -> Framework:
    """Read and check one definition file."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_DEFINITION_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read the framework {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_DEFINITION_BYTES:
        raise InputError(f"{path}: a framework definition may not exceed {MAX_DEFINITION_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: a framework definition must be UTF-8 text") from None
    return framework_from_dict(
        _parse(text, json_form=path.suffix == ".json", where=str(path)), where=str(path)
    )


def _parse(text: str, *, json_form: bool, where: str) -> Any:
    try:
        return json.loads(text) if json_form else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply to be a framework definition") from None


def framework_from_dict(data: Any, *, where: str = "framework") -> Framework:
    """Check a definition in its file form (a dict) and build the Framework."""
    _check_shape(data, where)
    items: Sequence[Mapping[str, Any]] = data["requires"]
    repeated = [name for name, count in Counter(item["standard"] for item in items).items() if count > 1]
    if repeated:
        raise InputError(
            f"{where}: standard {repeated[0]} is required more than once; give one version range"
        )
    return Framework(
        id=data["id"],
        title=data["title"],
        publisher=data["publisher"],
        requirements=tuple(_requirement(item, where) for item in items),
        description=data.get("description", ""),
        example=data.get("example", False),
        source=where,
    )


def _check_shape(data: Any, where: str) -> None:
    # best_match picks the error a person should read first (the deepest, most specific one).
    error: jsonschema.ValidationError | None = jsonschema.exceptions.best_match(
        _validator().iter_errors(data)
    )
    if error is not None:
        place = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.path)
        raise InputError(
            f"{where}: not a valid framework definition at {place or 'the top'}: {error.message}"
        )


def _requirement(item: Mapping[str, Any], where: str) -> Requirement:
    requirement = Requirement(
        standard=item["standard"],
        versions=item.get("versions", "*"),
        max_not_tested=item.get("max_not_tested"),
        note=item.get("note", ""),
    )
    if not requirement.any_version and not is_version_range(requirement.versions):
        raise InputError(
            f"{where}: standard {requirement.standard}: versions {requirement.versions!r} is not a version "
            "or an npm-style range (1.0.0, 1.x, ^1.2.0, >=1.0.0 <2.0.0)"
        )
    return requirement


def is_version_range(text: str) -> bool:
    """A semantic version or a range of them (tags such as `latest` name no version of a standard)."""
    spec = VersionSpec.parse(text)
    return bool(spec.alternatives) or (not spec.is_tag and Version.parse(spec.text) is not None)
