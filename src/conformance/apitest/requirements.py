"""What a standard asks of a server, read from its own CapabilityStatements (kind `requirements`).

A standard's packages may publish a CapabilityStatement that lists, per resource type, the interactions
and search parameters a conforming server supports. Those that name at least one of the standard's
profiles are read: their interactions and search parameters are then required of the server's
CapabilityStatement, and the search parameters are searched with. UK Core STU2's own statement lists
only profiles, so for it the defaults apply (read and search-type; the searches in profiles.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.context import Context
from conformance.standards import Standard, bare_canonical

DEFAULT_INTERACTIONS = ("read", "search-type")


@dataclass(frozen=True)
class TypeRequirements:
    interactions: tuple[str, ...] = DEFAULT_INTERACTIONS
    search_params: tuple[str, ...] = ()


def standard_requirements(context: Context, standard: Standard) -> Mapping[str, TypeRequirements]:
    """Per resource type, what the standard's own CapabilityStatements require ({} when they say nothing)."""
    profiles = {profile.url for profile in standard.profiles}
    found: dict[str, TypeRequirements] = {}
    for capability in context.resources("CapabilityStatement"):
        for entry in _server_resources(capability):
            named = {
                bare_canonical(str(url))
                for url in [entry.get("profile"), *(entry.get("supportedProfile") or ())]
                if url
            }
            resource_type = entry.get("type")
            if not named & profiles or not isinstance(resource_type, str):
                continue
            interactions = _codes(entry.get("interaction"), "code")
            params = _codes(entry.get("searchParam"), "name")
            earlier = found.get(resource_type, TypeRequirements())
            found[resource_type] = TypeRequirements(
                tuple(dict.fromkeys((*earlier.interactions, *interactions))),
                tuple(dict.fromkeys((*earlier.search_params, *params))),
            )
    return found


def _server_resources(capability: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        entry
        for rest in capability.get("rest") or ()
        if isinstance(rest, dict) and rest.get("mode", "server") == "server"
        for entry in rest.get("resource") or ()
        if isinstance(entry, dict)
    ]


def _codes(items: Any, key: str) -> tuple[str, ...]:
    return tuple(
        str(item[key]) for item in items or () if isinstance(item, dict) and isinstance(item.get(key), str)
    )
