"""References: format, target types, contained and Bundle-internal resolution.

References that cannot be resolved offline are not errors: only what the
payload itself should contain (contained resources, document and message
Bundle entries) must be found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef
from conformance.validation.bundles import BundleIndex, bundle_index, entry_source, urn_base_match

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Frame, Walker

_RELATIVE = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.-]*://[^\s]*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?"
)
CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
SELF_CONTAINED_BUNDLES = frozenset({"document", "message"})
_TARGETS_KEPT = 10_000


def reference_type(reference: str) -> str | None:
    """The resource type a literal reference names (`Patient/1`, `http://x/fhir/Patient/1`), if any."""
    match = _RELATIVE.fullmatch(reference)
    return match.group(1) if match else None


def _target_types(walker: Walker, type_ref: TypeRef) -> tuple[set[str], list[str]]:
    """The resource types the target profiles allow, and the target profiles that cannot be found."""
    types: set[str] = set()
    unknown: list[str] = []
    for url in type_ref.target_profiles:
        plan = walker.definitions.plan(url)
        if plan is not None:
            types.add(plan.type)
        else:
            unknown.append(url)
    return types, unknown


def _named_resource_type(walker: Walker, reference: str) -> str | None:
    """The resource type a literal reference names; `Performer/1` names none (no such resource type)."""
    named_type = reference_type(reference)
    return named_type if named_type is not None and walker.engine.is_resource_type(named_type) else None


def _urn_sibling(reference: str, frame: Frame) -> Mapping[str, Any] | None:
    """The entry a relative reference names through its own entry's URN fullUrl (bundles.urn_base_match)."""
    scope = frame.scope
    full_url: str | None = None
    while scope is not None:
        full_url = full_url or scope.full_url
        if scope.by_type_and_id is not None:
            found = urn_base_match(reference, full_url, scope.bundle_entries)
            return found if isinstance(found, Mapping) else None
        scope = scope.parent
    return None


def _resolved_in_trial(walker: Walker, reference: str, frame: Frame) -> Mapping[str, Any] | None:
    """Deciding whether an entry's resource conforms to a profile walks it on its own, without the fullUrl its
    entry gives it: find that fullUrl by the resource's identity, then resolve by the Bundle rules."""
    scope = frame.scope
    while scope is not None and scope.by_type_and_id is None:
        scope = scope.parent
    if scope is None:
        return None
    trial = _trial_index(walker, scope.bundle_entries)
    full_url = trial.url_of.get(id(frame.resource))
    if full_url is None:
        return None
    source = entry_source({"fullUrl": full_url, "resource": frame.resource})
    return trial.index.resolve(reference, source, "").target


@dataclass(frozen=True)
class _TrialIndex:
    """A Bundle's entries as trial walks resolve them: built once per walk, not once per reference."""

    entries: Mapping[str, Mapping[str, Any]]
    """The scope's entries by fullUrl (held, so that the id this index is found by stays theirs)."""
    index: BundleIndex
    url_of: dict[int, str]
    """The fullUrl of each entry's resource, by the resource's identity (the first, as entries are kept)."""


def _trial_index(walker: Walker, entries: Mapping[str, Mapping[str, Any]]) -> _TrialIndex:
    per_walk = walker.trial_indexes
    found = per_walk.get(id(entries))
    if found is None or found.entries is not entries:
        as_entries = [{"fullUrl": url, "resource": resource} for url, resource in entries.items()]
        url_of: dict[int, str] = {}
        for url, resource in entries.items():
            url_of.setdefault(id(resource), url)
        found = per_walk[id(entries)] = _TrialIndex(
            entries, bundle_index(walker, {"entry": as_entries}), url_of
        )
    return found


def _implied_type(
    walker: Walker,
    reference: str,
    named_type: str,
    allowed: AbstractSet[str],
    loc: Loc,
    plan: Plan,
    rule: ElementRule,
) -> None:
    """A reference that cannot be resolved still names its target's type (`Practitioner/x`,
    `http://server/fhir/Practitioner/x`, with or without `/_history/n`): when the user asks for RESTful
    references to be taken as valid, that type must be one the element allows, or a specialisation of one
    (the HL7 validator's REFERENCE_REF_BADTARGETTYPE2 under -assumeValidRestReferences; without it the
    HL7 validator checks only resolved targets). Contained `#id` and `urn:uuid:`/`urn:oid:` references name
    no type."""
    if not allowed or _specialises_one_of(walker, named_type, allowed):
        return
    walker.report.error(
        "structure",
        "reference.target-type",
        f"The type '{named_type}' implied by the reference URL {reference} is not a valid Target for this "
        f"element (must be one of {', '.join(sorted(allowed))})",
        loc.child("reference"),
        profile=plan.canonical,
        element_id=rule.id,
    )


def _specialises_one_of(walker: Walker, resource_type: str, allowed: AbstractSet[str]) -> bool:
    """Is `resource_type`, or a type it specialises (DomainResource, Resource), among the allowed types?"""
    current: str | None = resource_type
    seen: set[str] = set()
    while current is not None and current not in seen:
        if current in allowed:
            return True
        seen.add(current)
        type_plan = walker.definitions.type_plan(current)
        base = type_plan.base_definition if type_plan is not None else None
        current = base.rsplit("/", 1)[-1] if isinstance(base, str) and base.startswith(CORE_PREFIX) else None
    return False


def _needs_target(type_ref: TypeRef) -> bool:
    """A target profile beyond a base resource type can only be checked on the resolved target."""
    return any(not url.startswith(CORE_PREFIX) for url in type_ref.target_profiles)


def _found_type(target: Any, named_type: str | None) -> Any:
    """The resourceType of the resolved target, else the type the reference names."""
    if target is None:
        return named_type  # most references resolve to nothing: told before the slower Mapping test
    if type(target) is dict or isinstance(target, Mapping):
        return target.get("resourceType")
    return named_type


@dataclass(frozen=True)
class _Targets:
    """What a Reference type's target profiles allow: fixed by the definitions, so worked out once."""

    allowed: frozenset[str]
    """The resource types the target profiles constrain."""
    unknown: tuple[str, ...]
    """The target profiles that cannot be found."""
    needs_target: bool
    """Whether a target profile says more than its resource type (only a resolved target can show it)."""

    @classmethod
    def of(cls, walker: Walker, type_ref: TypeRef) -> _Targets:
        allowed, unknown = _target_types(walker, type_ref)
        return cls(frozenset(allowed), tuple(unknown), _needs_target(type_ref))


class ReferenceChecks:
    def __init__(self) -> None:
        # id(type_ref) -> (type_ref, what its target profiles allow). Type references belong to the
        # definitions (none is made per value), and each is held here, so its id stays its own.
        self._targets: dict[int, tuple[TypeRef, _Targets]] = {}

    def _targets_of(self, walker: Walker, type_ref: TypeRef) -> _Targets:
        known = self._targets.get(id(type_ref))
        if known is None or known[0] is not type_ref:
            if len(self._targets) >= _TARGETS_KEPT:
                self._targets.clear()  # bounded all the same, should type references ever be made per value
            known = self._targets[id(type_ref)] = (type_ref, _Targets.of(walker, type_ref))
        return known[1]

    def check(
        self,
        walker: Walker,
        value: Mapping[str, Any],
        rule: ElementRule,
        type_ref: TypeRef,
        loc: Loc,
        plan: Plan,
        frame: Frame,
    ) -> None:
        reference = value.get("reference")
        if not isinstance(reference, str):
            return
        targets = self._targets_of(walker, type_ref)
        allowed = targets.allowed
        named_type = _named_resource_type(walker, reference)
        target = self._resolve(walker, value, reference, named_type, frame)
        if reference.startswith("#"):
            self._contained(walker, reference, target, loc)
        elif target is None:
            self._unresolved_in_bundle(walker, reference, loc, frame, needs_target=targets.needs_target)
            if named_type is not None and walker.engine.options.assume_valid_rest_references:
                _implied_type(walker, reference, named_type, allowed, loc, plan, rule)
        found_type = _found_type(target, named_type)
        if target is not None and named_type is not None and found_type != named_type:
            walker.report.error(
                "structure",
                "reference.resolved-type-mismatch",
                f"Matching reference for reference {reference} has resourceType {found_type}",
                loc.child("reference"),
            )
        declared = value.get("type")
        if isinstance(declared, str) and isinstance(found_type, str) and declared != found_type:
            walker.report.error(
                "structure",
                "reference.type-mismatch",
                f"The reference type '{declared}' does not match the referenced resource type '{found_type}'",
                loc,
            )
        if target is not None:
            for url in targets.unknown:
                # A defect of the profile set, not of the payload: said, but it does not fail the payload.
                walker.report.warning(
                    "not-found",
                    "reference.target-profile-unknown",
                    f"Unable to resolve the profile reference '{url}': the target's profile is not checked",
                    loc.child("reference"),
                )
        if "Resource" in allowed or not isinstance(found_type, str) or target is None:
            return  # only a resolved target's type is known for certain
        if allowed and found_type not in allowed:
            walker.report.error(
                "structure",
                "reference.target-type",
                f"Invalid Resource target type. Found {found_type}, "
                f"but expected one of ({', '.join(sorted(allowed))})",
                loc.child("reference"),
                profile=plan.canonical,
                element_id=rule.id,
            )
            return
        self._target_profiles(walker, target, type_ref, found_type, loc, plan, rule, frame)

    @staticmethod
    def _resolve(
        walker: Walker, value: Mapping[str, Any], reference: str, named_type: str | None, frame: Frame
    ) -> Mapping[str, Any] | None:
        target = walker.engine.resolve_reference(value, frame)
        if target is None and named_type is not None:
            # `Practitioner/5d95...` in an entry whose fullUrl is a URN names the entry `urn:uuid:5d95...`,
            # of whatever type: the caller compares the types.
            target = _urn_sibling(reference, frame)
        if target is None and walker.engine.deciding_conformance and not reference.startswith("#"):
            target = _resolved_in_trial(walker, reference, frame)
        return target

    @staticmethod
    def _target_profiles(
        walker: Walker,
        target: Mapping[str, Any],
        type_ref: TypeRef,
        found_type: str,
        loc: Loc,
        plan: Plan,
        rule: ElementRule,
        frame: Frame,
    ) -> None:
        """When deciding whether a resource conforms to a profile (a profile discriminator, say), a target
        inside the payload must conform to one of the target profiles that name its type. In the ordinary
        walk the target's own issues are reported on the target itself: repeating them here would count
        one fault twice."""
        if not walker.engine.deciding_conformance:
            return
        candidates = [
            url
            for url in type_ref.target_profiles
            if not url.startswith(CORE_PREFIX)
            and (target_plan := walker.definitions.plan(url)) is not None
            and target_plan.type == found_type
        ]
        if not candidates or any(walker.engine.conforms_to(target, url, frame) for url in candidates):
            return
        walker.report.error(
            "structure",
            "reference.target-profile-mismatch",
            f"The resource referenced conforms to none of the target profiles: {', '.join(candidates)}",
            loc.child("reference"),
            profile=plan.canonical,
            element_id=rule.id,
        )

    @staticmethod
    def _contained(walker: Walker, reference: str, target: Any, loc: Loc) -> None:
        if reference == "#" or target is not None:
            return
        walker.report.error(
            "structure",
            "reference.contained-not-found",
            f"Bundled or contained reference not found within the bundle/resource {reference}",
            loc.child("reference"),
        )

    @staticmethod
    def _unresolved_in_bundle(
        walker: Walker, reference: str, loc: Loc, frame: Frame, *, needs_target: bool
    ) -> None:
        bundle_type = walker.engine.bundle_type(frame)
        if bundle_type is None:
            return
        if reference.startswith("urn:"):
            # the HL7 validator's BUNDLE_BUNDLE_NOT_LOCAL: a URN names nothing outside the Bundle
            walker.report.warning(
                "not-found",
                "reference.bundle-urn-not-local",
                f"URN reference is not locally contained within the bundle {reference}",
                loc.child("reference"),
            )
        if bundle_type in SELF_CONTAINED_BUNDLES:
            return  # documents and messages: BundleChecks resolves what their first entry must find
        if needs_target and walker.engine.looks_local(reference, frame):
            walker.report.error(
                "not-found",
                "reference.bundle-local-not-found",
                f"Bundled or contained reference not found within the bundle/resource {reference}",
                loc.child("reference"),
            )
