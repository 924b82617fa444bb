"""What the validation engine can supply to FHIRPath functions that need outside knowledge."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResolveScope:
    """Where a reference is being resolved from.

    `resource` and `root_resource` are the evaluation's %resource and %rootResource;
    `context` is whatever the engine passed to `evaluate(..., scope=...)` (for example
    the Bundle entry being validated, to resolve against its fullUrl).
    """

    resource: Mapping[str, Any] | None
    root_resource: Mapping[str, Any] | None
    context: Any = None


ResolveHook = Callable[[str, ResolveScope], Mapping[str, Any] | None]
MemberOfHook = Callable[[Any, str], bool | None]
ConformsToHook = Callable[[Mapping[str, Any], str], bool | None]


@dataclass(frozen=True)
class Hooks:
    """Callbacks for resolve(), memberOf() and conformsTo(); all optional.

    - resolve(reference, scope): the resource a reference string points to, or None.
      References to contained resources (`#id`) are resolved without it.
    - member_of(value, valueset_url): whether a code, Coding or CodeableConcept (as JSON)
      is in the value set; None when that cannot be decided.
    - conforms_to(resource, profile_url): whether a resource conforms to a profile;
      None when that cannot be decided.

    Without the hook, or when it answers None, memberOf() and conformsTo() raise
    FhirPathError (the invariant is "not checked"); resolve() finds nothing.
    """

    resolve: ResolveHook | None = None
    member_of: MemberOfHook | None = None
    conforms_to: ConformsToHook | None = None
