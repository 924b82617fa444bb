"""A standard: a FHIR version, the packages its profiles come from, and the profiles in scope.

Standards are data (TOML or JSON files, see docs/standards.md); this module holds their
immutable in-memory form. Reading and checking files is `conformance.standards.loading`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.fhirversion import FhirVersion

FORMAT = 1


def bare_canonical(url: str) -> str:
    """A canonical URL without its `|version` suffix."""
    return url.split("|", 1)[0]


class Status(StrEnum):
    """Where a standard is in its life: as a product, a standard is drafted, tried, used, then let go."""

    DRAFT = "draft"
    TRIAL_USE = "trial-use"
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    RETIRED = "retired"

    @property
    def is_withdrawn(self) -> bool:
        """Deprecated or retired: a statement made against it must say so."""
        return self in (Status.DEPRECATED, Status.RETIRED)


@dataclass(frozen=True)
class Lifecycle:
    """A standard's status, its own version, dates and neighbours (ids of other standards).

    Every field has a default, so definitions written before the life cycle existed still load (as active).
    Dates are ISO `YYYY-MM-DD` text: `date` when this version's content was fixed, `status_date` since
    when the status holds.
    """

    status: Status = Status.ACTIVE
    version: str = ""
    date: str | None = None
    status_date: str | None = None
    successor: str | None = None
    predecessor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status.value, "version": self.version}
        optional = {
            "date": self.date,
            "status_date": self.status_date,
            "successor": self.successor,
            "predecessor": self.predecessor,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        return data


@dataclass(frozen=True)
class PackageRequirement:
    """A FHIR package the standard is built from, with an npm-style version range."""

    name: str
    version: str

    @property
    def reference(self) -> str:
        return f"{self.name}#{self.version}"


@dataclass(frozen=True)
class ProfileRequirement:
    """One profile in scope, and what the standard asks of the payloads tested against it."""

    url: str
    type: str
    required: bool = False
    min_samples: int = 1
    default_for_type: bool = True
    note: str = ""


@dataclass(frozen=True)
class Standard:
    """A named standard. `source` says where it was read from (a file path, or empty)."""

    id: str
    title: str
    publisher: str
    fhir_version: FhirVersion
    packages: tuple[PackageRequirement, ...]
    profiles: tuple[ProfileRequirement, ...]
    description: str = ""
    source: str = ""
    lifecycle: Lifecycle = field(default_factory=Lifecycle)

    @property
    def status(self) -> Status:
        return self.lifecycle.status

    def profile(self, url: str) -> ProfileRequirement | None:
        """The profile in scope with this canonical URL (a `|version` suffix is ignored)."""
        bare = bare_canonical(url)
        return next((profile for profile in self.profiles if profile.url == bare), None)

    def default_profile_for(self, resource_type: str) -> ProfileRequirement | None:
        """The profile a payload of this type is assessed against when it claims none of the standard's."""
        return next(
            (p for p in self.profiles if p.type == resource_type and p.default_for_type),
            None,
        )

    def specialisations_for(self, resource_type: str) -> tuple[ProfileRequirement, ...]:
        """The profiles of a type besides its default (UKCore-Observation-Lab beside UKCore-Observation)."""
        return tuple(p for p in self.profiles if p.type == resource_type and not p.default_for_type)

    def has_type(self, resource_type: str) -> bool:
        return any(profile.type == resource_type for profile in self.profiles)

    def to_dict(self, *, lifecycle: bool = True) -> dict[str, Any]:
        """The definition in its file form (JSON), with every default written out."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "id": self.id,
            "title": self.title,
            "publisher": self.publisher,
            "description": self.description,
            "fhir_version": self.fhir_version.value,
            "packages": [{"name": p.name, "version": p.version} for p in self.packages],
            "profiles": [_profile_dict(p) for p in self.profiles],
        }
        if lifecycle:
            data.update(self.lifecycle.to_dict())
        return data

    @property
    def sha256(self) -> str:
        """A digest of the definition (not of the file: comments and layout do not count).

        The life cycle is left out: deprecating a standard later changes its status, not what a payload
        was assessed against, so statements made before keep a digest that verifies.
        """
        canonical = json.dumps(
            self.to_dict(lifecycle=False), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _profile_dict(profile: ProfileRequirement) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": profile.url,
        "type": profile.type,
        "required": profile.required,
        "min_samples": profile.min_samples,
        "default_for_type": profile.default_for_type,
    }
    if profile.note:
        data["note"] = profile.note
    return data
