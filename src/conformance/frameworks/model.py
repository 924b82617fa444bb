"""A procurement framework: the standards a product must meet, at which versions, and at what level.

Frameworks are data (TOML or JSON files in profiles/frameworks or a folder of your own, see
docs/frameworks.md); this module holds their immutable in-memory form.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.packages.versions import VersionSpec

ANY_VERSION = "*"


@dataclass(frozen=True)
class Requirement:
    """One standard the framework requires.

    The level: the statement's overall verdict must be conformant, and when `max_not_tested` is set, at
    most that many of the standard's profiles may have gone untested (a standard's optional profiles do
    not stop it being conformant; a framework may want more of them shown).
    """

    standard: str
    versions: str = ANY_VERSION
    max_not_tested: int | None = None
    note: str = ""

    @property
    def any_version(self) -> bool:
        return self.versions.strip() in ("", ANY_VERSION)

    def accepts_version(self, version: str) -> bool:
        return self.any_version or VersionSpec.parse(self.versions).matches(version)

    @property
    def level(self) -> str:
        """The level in words, for tables."""
        if self.max_not_tested is None:
            return "conformant"
        return f"conformant, at most {self.max_not_tested} profile(s) not tested"


@dataclass(frozen=True)
class Framework:
    """A named framework. `source` says where it was read from (a file path, or empty)."""

    id: str
    title: str
    publisher: str
    requirements: tuple[Requirement, ...]
    description: str = ""
    example: bool = False
    source: str = ""

    def requirement(self, standard_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.standard == standard_id), None)
