"""Which resources a payload holds, and which profiles of the standard each is assessed against.

A payload is one resource, or a Bundle whose entries are resources (Bundles inside Bundles are
opened too, to a fixed depth). Each resource is assessed against:
1. the profiles of the standard it claims in `meta.profile` (a `|version` suffix is ignored), if any;
2. otherwise the standard's default profile for its resource type: the only profile of that type,
   or the one marked `default_for_type` when several share it (UK Core: UKCore-Observation, not
   UKCore-Observation-Lab); the assessment also tests it against the more specific profiles of its
   type that it satisfies (statements.assess), so that those are seen tested;
3. otherwise nothing: it is out of the standard's scope.
A Bundle itself is assessed only when the standard has a profile for Bundle.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.standards import ProfileRequirement, Standard
from conformance.statements.model import Assignment

MAX_BUNDLE_DEPTH = 4


@dataclass(frozen=True)
class PayloadResource:
    """A resource of a payload; `entry` is where it sits ('' for the payload itself)."""

    entry: str
    resource: Mapping[str, Any]

    @property
    def resource_type(self) -> str | None:
        kind = self.resource.get("resourceType")
        return kind if isinstance(kind, str) else None

    @property
    def id(self) -> str | None:
        value = self.resource.get("id")
        return value if isinstance(value, str) else None

    @property
    def claimed_profiles(self) -> tuple[str, ...]:
        meta = self.resource.get("meta")
        profiles = meta.get("profile") if isinstance(meta, Mapping) else None
        if not isinstance(profiles, list):
            return ()
        return tuple(profile for profile in profiles if isinstance(profile, str))


@dataclass(frozen=True)
class Assigned:
    """The profiles a resource is assessed against, and on what grounds."""

    how: Assignment  # "claimed", "resource-type" or "out-of-scope"
    profiles: tuple[ProfileRequirement, ...] = ()


def resources_of(resource: Mapping[str, Any]) -> Iterator[PayloadResource]:
    """The payload's resources to assess: itself, and the entries of a Bundle (depth first)."""
    yield from _resources(resource, "", 0)


def _resources(resource: Mapping[str, Any], where: str, depth: int) -> Iterator[PayloadResource]:
    yield PayloadResource(where, resource)
    if resource.get("resourceType") != "Bundle" or depth >= MAX_BUNDLE_DEPTH:
        return
    entries = resource.get("entry")
    if not isinstance(entries, list):
        return
    # Named as FHIRPath from the payload's root, as the parser names locations.
    prefix = where or "Bundle"
    for index, entry in enumerate(entries):
        inner = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(inner, Mapping):
            yield from _resources(inner, f"{prefix}.entry[{index}].resource", depth + 1)


def assign(standard: Standard, item: PayloadResource) -> Assigned:
    """The profiles of `standard` the resource is assessed against (see the module doc for the rule)."""
    claimed = tuple(dict.fromkeys(p for p in map(standard.profile, item.claimed_profiles) if p is not None))
    if claimed:
        return Assigned("claimed", claimed)
    resource_type = item.resource_type
    default = standard.default_profile_for(resource_type) if resource_type else None
    if default is not None:
        return Assigned("resource-type", (default,))
    return Assigned("out-of-scope")


def is_container(item: PayloadResource, standard: Standard) -> bool:
    """A Bundle the standard has no profile for: only a carrier of the resources inside it."""
    return item.resource_type == "Bundle" and not standard.has_type("Bundle") and not item.claimed_profiles
