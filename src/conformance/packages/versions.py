"""Package versions and the version specifications FHIR package manifests use.

FHIR packages follow npm conventions: semantic versions (`4.0.1`,
`0.0.0-develop.20241024`), x-ranges (`1.x`, `1.0.x`, `1`), caret and tilde
ranges, comparator sets (`>=1.0.0 <2.0.0`), alternatives (`a || b`), hyphen
ranges (`1.0.0 - 2.0.0`) and two FHIR-specific tags: `current` (a CI build)
and `latest` (the newest release). Versions that are not semantic versions
(for example a literal `current` folder in a cache) only ever match exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import total_ordering

from conformance.errors import PackageError

LATEST = "latest"
CURRENT = "current"
_TAGS = frozenset({LATEST, CURRENT, "dev"})

_VERSION = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_PARTIAL = re.compile(r"^v?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*]))?(?:\.(?P<patch>\d+|[xX*]))?$")
_COMPARATOR = re.compile(r"^(?P<op>>=|<=|>|<|=|\^|~)?\s*(?P<version>\S+)$")
_WILDCARDS = frozenset({"x", "X", "*"})

# A possibly incomplete version: major, minor, patch (None where missing or a wildcard) and prerelease.
_Partial = tuple[int | None, int | None, int | None, tuple[int | str, ...]]


@total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version, ordered by semver precedence (build metadata ignored)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """The version, or None when `text` is not a semantic version."""
        match = _VERSION.match(text.strip())
        if match is None:
            return None
        pre = match.group("pre")
        parts = tuple(_prerelease_part(part) for part in pre.split(".")) if pre else ()
        return cls(int(match.group("major")), int(match.group("minor")), int(match.group("patch")), parts)

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple[tuple[int, int, int], int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after its prereleases; numeric identifiers sort before alphanumeric ones.
        pre = tuple((0, part) if isinstance(part, int) else (1, part) for part in self.prerelease)
        return (self.release, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()


def _prerelease_part(part: str) -> int | str:
    return int(part) if part.isdigit() else part


@dataclass(frozen=True)
class _Comparator:
    op: str
    version: Version

    def allows(self, candidate: Version) -> bool:
        order = (candidate > self.version) - (candidate < self.version)
        return {
            "=": order == 0,
            ">": order > 0,
            ">=": order >= 0,
            "<": order < 0,
            "<=": order <= 0,
        }[self.op]


@dataclass(frozen=True)
class _ComparatorSet:
    """Comparators that must all hold (one side of `||`)."""

    comparators: tuple[_Comparator, ...]

    def allows(self, candidate: Version) -> bool:
        if not all(comparator.allows(candidate) for comparator in self.comparators):
            return False
        if not candidate.is_prerelease:
            return True
        # npm rule: a prerelease matches only when some comparator names a prerelease of the same release.
        return any(
            c.version.is_prerelease and c.version.release == candidate.release for c in self.comparators
        )


@dataclass(frozen=True)
class VersionSpec:
    """What a dependency or a request asks for: an exact version, a range, or a tag."""

    text: str
    alternatives: tuple[_ComparatorSet, ...] = ()

    @classmethod
    def parse(cls, text: str) -> VersionSpec:
        cleaned = text.strip()
        if not cleaned:
            return cls(LATEST)
        if cleaned in _TAGS or Version.parse(cleaned) is not None:
            return cls(cleaned)
        try:
            alternatives = tuple(_parse_set(part) for part in cleaned.split("||"))
        except ValueError:
            # Not a range we understand: treat it as a literal version label (exact match only).
            return cls(cleaned)
        return cls(cleaned, alternatives)

    @property
    def is_tag(self) -> bool:
        return self.text in _TAGS

    @property
    def is_exact(self) -> bool:
        return not self.alternatives and not self.is_tag

    def matches(self, version: str) -> bool:
        """Whether `version` satisfies this spec (tags match any version; `select` chooses among them)."""
        if self.is_tag:
            return True
        if not self.alternatives:
            return version == self.text or _same_semver(version, self.text)
        parsed = Version.parse(version)
        return parsed is not None and any(alternative.allows(parsed) for alternative in self.alternatives)

    def select(self, versions: Iterable[str]) -> str | None:
        """The version this spec picks among `versions`: the highest match (see module doc for tags)."""
        candidates = sorted({v for v in versions if self.matches(v)}, key=_sort_key)
        if not candidates:
            return None
        if self.text in (CURRENT, "dev") and self.text in candidates:
            return self.text
        if self.text == LATEST:
            releases = [v for v in candidates if not _is_prerelease(v)]
            return (releases or candidates)[-1]
        return candidates[-1]

    def __str__(self) -> str:
        return self.text


def _same_semver(left: str, right: str) -> bool:
    parsed_left, parsed_right = Version.parse(left), Version.parse(right)
    return parsed_left is not None and parsed_left == parsed_right


def _is_prerelease(version: str) -> bool:
    parsed = Version.parse(version)
    return parsed is None or parsed.is_prerelease


def _sort_key(version: str) -> tuple[int, Version, str]:
    # Non-semver labels sort before every semantic version, among themselves by text.
    parsed = Version.parse(version)
    return (0, Version(0, 0, 0), version) if parsed is None else (1, parsed, version)


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Versions from oldest to newest."""
    return sorted(versions, key=_sort_key)


def _parse_set(text: str) -> _ComparatorSet:
    text = text.strip()
    if " - " in text:
        low, high = (part.strip() for part in text.split(" - ", 1))
        return _ComparatorSet((*_lower_bound(low), *_upper_bound_inclusive(high)))
    tokens = _join_operators(text.split())
    if not tokens:
        # An empty side of `||` (or `*`) means any version.
        return _ComparatorSet((_Comparator(">=", Version(0, 0, 0)),))
    comparators: list[_Comparator] = []
    for token in tokens:
        comparators.extend(_parse_comparator(token))
    return _ComparatorSet(tuple(comparators))


def _join_operators(tokens: list[str]) -> list[str]:
    """`>= 1.0.0` is written with a space sometimes: glue a bare operator to what follows."""
    joined: list[str] = []
    for token in tokens:
        if joined and joined[-1] in {">", ">=", "<", "<=", "=", "^", "~"}:
            joined[-1] += token
        else:
            joined.append(token)
    return joined


def _parse_comparator(token: str) -> tuple[_Comparator, ...]:
    match = _COMPARATOR.match(token)
    if match is None:
        raise ValueError(token)
    op, text = match.group("op") or "", match.group("version")
    exact = Version.parse(text)
    if exact is not None and op not in {"^", "~"}:
        return (_Comparator(op or "=", exact),)
    return _RANGE_BUILDERS[op](_partial(text))


def _partial(text: str) -> _Partial:
    """A possibly incomplete version: missing or wildcard parts are None."""
    exact = Version.parse(text)
    if exact is not None:
        return (exact.major, exact.minor, exact.patch, exact.prerelease)
    match = _PARTIAL.match(text)
    if match is None:
        raise ValueError(text)
    numbers = [match.group(name) for name in ("major", "minor", "patch")]
    parsed = [None if part is None or part in _WILDCARDS else int(part) for part in numbers]
    # Anything after a wildcard is a wildcard too (`1.x.3` means `1.x`).
    for index, value in enumerate(parsed):
        if value is None:
            parsed[index:] = [None] * (3 - index)
            break
    return (parsed[0], parsed[1], parsed[2], ())


def _floor(parts: _Partial) -> Version:
    major, minor, patch, pre = parts
    return Version(major or 0, minor or 0, patch or 0, pre)


def _x_range(parts: _Partial) -> tuple[_Comparator, ...]:
    major, minor, patch, pre = parts
    if major is None:
        return (_Comparator(">=", Version(0, 0, 0)),)
    if minor is None:
        return (_Comparator(">=", Version(major, 0, 0)), _Comparator("<", Version(major + 1, 0, 0)))
    if patch is None:
        return (_Comparator(">=", Version(major, minor, 0)), _Comparator("<", Version(major, minor + 1, 0)))
    return (_Comparator("=", Version(major, minor, patch, pre)),)


def _caret(parts: _Partial) -> tuple[_Comparator, ...]:
    major, minor, patch, _ = parts
    low = _floor(parts)
    if major is None:
        return (_Comparator(">=", Version(0, 0, 0)),)
    if major > 0 or minor is None:
        high = Version(major + 1, 0, 0)
    elif minor > 0 or patch is None:
        high = Version(0, minor + 1, 0)
    else:
        high = Version(0, 0, patch + 1)
    return (_Comparator(">=", low), _Comparator("<", high))


def _tilde(parts: _Partial) -> tuple[_Comparator, ...]:
    major, minor, _, _ = parts
    if major is None:
        return (_Comparator(">=", Version(0, 0, 0)),)
    high = Version(major + 1, 0, 0) if minor is None else Version(major, minor + 1, 0)
    return (_Comparator(">=", _floor(parts)), _Comparator("<", high))


def _upper_exclusive_of(
    parts: _Partial,
) -> tuple[_Comparator, ...]:
    """`>1.2` means at or above the next minor release."""
    major, minor, _, _ = parts
    if major is None:
        return (_Comparator("<", Version(0, 0, 0)),)
    if minor is None:
        return (_Comparator(">=", Version(major + 1, 0, 0)),)
    return (_Comparator(">=", Version(major, minor + 1, 0)),)


def _bound_below(parts: _Partial) -> tuple[_Comparator, ...]:
    return (_Comparator(">=", _floor(parts)),)


def _bound_above(parts: _Partial) -> tuple[_Comparator, ...]:
    return (_Comparator("<", _floor(parts)),)


def _lower_bound(text: str) -> tuple[_Comparator, ...]:
    return (_Comparator(">=", _floor(_partial(text))),)


def _upper_bound_inclusive(text: str) -> tuple[_Comparator, ...]:
    return _upper_inclusive_of(_partial(text.lstrip("<=").strip()))


def _upper_inclusive_of(parts: _Partial) -> tuple[_Comparator, ...]:
    major, minor, patch, pre = parts
    if major is None:
        return (_Comparator(">=", Version(0, 0, 0)),)
    if minor is None:
        return (_Comparator("<", Version(major + 1, 0, 0)),)
    if patch is None:
        return (_Comparator("<", Version(major, minor + 1, 0)),)
    return (_Comparator("<=", Version(major, minor, patch, pre)),)


_RANGE_BUILDERS: dict[str, Callable[[_Partial], tuple[_Comparator, ...]]] = {
    "": _x_range,
    "=": _x_range,
    "^": _caret,
    "~": _tilde,
    ">=": _bound_below,
    "<": _bound_above,
    ">": _upper_exclusive_of,
    "<=": _upper_inclusive_of,
}


def parse_package_reference(text: str) -> tuple[str, VersionSpec]:
    """`name#version`, `name@version` or `name` (latest) -> (name, spec)."""
    cleaned = text.strip()
    separator = "#" if "#" in cleaned else ("@" if "@" in cleaned[1:] else None)
    name, version = cleaned.split(separator, 1) if separator else (cleaned, LATEST)
    name, version = name.strip(), version.strip()
    if not is_safe_package_name(name) or (
        separator and not is_safe_version_label(version) and not _is_range(version)
    ):
        raise PackageError(f"not a package reference: {text!r} (expected NAME or NAME#VERSION)")
    return name, VersionSpec.parse(version)


def _is_range(text: str) -> bool:
    return VersionSpec.parse(text).alternatives != ()


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def is_safe_package_name(name: str) -> bool:
    # Names and versions become folder names (`name#version`), so only plain characters are allowed.
    return bool(_NAME.match(name)) and ".." not in name and len(name) <= 214


def is_safe_version_label(version: str) -> bool:
    return bool(_LABEL.match(version)) and ".." not in version and len(version) <= 100
