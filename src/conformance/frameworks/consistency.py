"""Frameworks that cannot both be met: they require versions of one standard that no version satisfies.

Two version ranges overlap when some version satisfies both. The smallest version in an overlap of npm
ranges is always one the ranges are written with, or the next release after one (`>1.2` starts at
1.3.0), so trying those candidates decides it without enumerating versions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations

from conformance.frameworks.lifecycle import KnownStandards, version_of
from conformance.frameworks.model import Framework
from conformance.packages.versions import Version, VersionSpec

_NUMBERS = re.compile(r"\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?")


@dataclass(frozen=True)
class Inconsistency:
    standard: str
    first: str
    first_versions: str
    second: str
    second_versions: str

    def __str__(self) -> str:
        return (
            f"{self.first} requires {self.standard} {self.first_versions} but {self.second} requires "
            f"{self.standard} {self.second_versions}: no version of {self.standard} satisfies both"
        )


def inconsistencies(frameworks: Sequence[Framework]) -> tuple[Inconsistency, ...]:
    """Every pair of frameworks requiring versions of one standard that do not overlap."""
    return tuple(
        Inconsistency(req_a.standard, a.id, req_a.versions, b.id, req_b.versions)
        for a, b in combinations(frameworks, 2)
        for req_a in a.requirements
        if (req_b := b.requirement(req_a.standard)) is not None
        and not (req_a.any_version or req_b.any_version or ranges_overlap(req_a.versions, req_b.versions))
    )


def ranges_overlap(first: str, second: str) -> bool:
    """Whether some version satisfies both ranges."""
    specs = (VersionSpec.parse(first), VersionSpec.parse(second))
    return any(all(spec.matches(candidate) for spec in specs) for candidate in _candidates(first, second))


def _candidates(*texts: str) -> Iterator[str]:
    for text in texts:
        for found in _NUMBERS.findall(text):
            version = _completed(found)
            if version is None:
                continue
            yield str_version(version)
            yield from (str_version(bumped) for bumped in _next_releases(version))


def _completed(text: str) -> Version | None:
    release, _, pre = text.partition("-")
    parts = [*release.split("."), "0", "0"][:3]
    return Version.parse(".".join(parts) + (f"-{pre}" if pre else ""))


def _next_releases(version: Version) -> tuple[Version, ...]:
    major, minor, patch = version.release
    return (Version(major, minor, patch + 1), Version(major, minor + 1, 0), Version(major + 1, 0, 0))


def str_version(version: Version) -> str:
    major, minor, patch = version.release
    pre = ".".join(str(part) for part in version.prerelease)
    return f"{major}.{minor}.{patch}" + (f"-{pre}" if pre else "")


def unknown_requirements(framework: Framework, standards: KnownStandards) -> tuple[str, ...]:
    """Requirements no definition at hand can meet: an unknown standard, or a version outside the range.

    Not an error (the definitions may live elsewhere, or a new version may be on its way), but worth
    telling the framework's author.
    """
    found: list[str] = []
    for requirement in framework.requirements:
        definition = standards.definition(requirement.standard)
        if definition is None:
            found.append(
                f"{framework.id} requires {requirement.standard}, which is not a standard known here"
            )
            continue
        version = version_of(definition)
        if version and not requirement.accepts_version(version):
            found.append(
                f"{framework.id} requires {requirement.standard} {requirement.versions}; "
                f"the definition here is version {version}"
            )
    return tuple(found)
