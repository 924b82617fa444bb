"""Reading framework definitions: by id from the shipped folder or a search path, or from a file.

A definition is TOML or JSON, checked first against `framework.schema.json` (shape) and then here
(meaning: version ranges that parse, each standard required once). Every problem is an `InputError`
naming the file and the place in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance._definitions import DefinitionKind
from conformance.errors import InputError
from conformance.frameworks.model import Framework, Requirement
from conformance.packages.versions import Version, VersionSpec

FRAMEWORKS = DefinitionKind("framework", "frameworks", "framework.schema.json")


def builtin_folder() -> Path:
    """Where the shipped (example) frameworks are: profiles/frameworks, shipped inside the package."""
    return FRAMEWORKS.builtin_folder()


def load_framework(id_or_path: str | Path, *, search_path: Sequence[Path] = ()) -> Framework:
    """A framework by id (searched in `search_path`, then the shipped ones) or by file path."""
    return read_framework(FRAMEWORKS.find(id_or_path, search_path))


def available_frameworks(search_path: Sequence[Path] = ()) -> tuple[tuple[str, Path], ...]:
    """(id, file) for every definition file found, the first occurrence of an id winning."""
    return FRAMEWORKS.available(search_path)


def read_framework(path: Path) -> Framework:
    """Read and check one definition file."""
    return framework_from_dict(FRAMEWORKS.read(path), where=str(path))


def framework_from_dict(data: Any, *, where: str = "framework") -> Framework:
    """Check a definition in its file form (a dict) and build the Framework."""
    FRAMEWORKS.check_shape(data, where)
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
