"""Hand-made profiles for tests: a core definition copied as a constraint on itself, to be edited."""

from __future__ import annotations

import copy
from typing import Any

from conformance.context import Context

CORE = "http://hl7.org/fhir/StructureDefinition/"


def core_copy(context: Context, type_name: str, profile_id: str, name: str) -> dict[str, Any]:
    """The core definition of `type_name` as a profile of it (snapshot only), named `profile_id`."""
    core = context.resolve(CORE + type_name)
    assert core is not None
    profile = copy.deepcopy(dict(core))
    profile.update(
        id=profile_id,
        url=f"http://example.org/fhir/StructureDefinition/{profile_id}",
        name=name,
        derivation="constraint",
        baseDefinition=CORE + type_name,
    )
    profile.pop("differential", None)
    return profile
