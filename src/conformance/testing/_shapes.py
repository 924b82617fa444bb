"""Where the rules for an element's children are, as the validator finds them.

A profile may unfold an element's children (`Patient.identifier:nhsNumber.system`); otherwise they are
those of the element's type, or of the profile its type names. Generators and defect makers walk the
same tree the validator walks, so what they build is judged by the rules they built it from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef

RESOURCE_TYPES = frozenset({"Resource", "DomainResource"})
EXTENSION_NAMES = frozenset({"extension", "modifierExtension"})


@dataclass(frozen=True)
class Children:
    rules: tuple[ElementRule, ...]
    plan: Plan


class Shapes:
    """Child rules of elements, over the validator's compiled definitions."""

    def __init__(self, definitions: Any) -> None:
        self.definitions = definitions

    def plan(self, url: str) -> Plan | None:
        plan: Plan | None = self.definitions.plan(url)
        return plan

    def type_plan(self, type_ref: TypeRef | None) -> Plan | None:
        if type_ref is None:
            return None
        for profile in type_ref.profiles:
            plan = self.plan(profile)
            if plan is not None:
                return plan
        found: Plan | None = self.definitions.type_plan(type_ref.code)
        return found

    def children(self, rule: ElementRule, type_ref: TypeRef | None, plan: Plan) -> Children:
        library = self._profile_element(type_ref)
        if library is not None:
            return library
        if rule.children:
            return Children(tuple(rule.children), plan)
        if rule.content_reference:
            target = plan.element(rule.content_reference.split("#", 1)[-1])
            if target is not None:
                return Children(tuple(target.children), plan)
        type_plan = self.type_plan(type_ref)
        if type_plan is None:
            return Children((), plan)
        return Children(tuple(type_plan.root.children), type_plan)

    def _profile_element(self, type_ref: TypeRef | None) -> Children | None:
        if type_ref is None or type_ref.profile_element is None or not type_ref.profiles:
            return None
        library = self.plan(type_ref.profiles[0])
        element = library.element(type_ref.profile_element) if library is not None else None
        if library is None or element is None:
            return None
        return Children(tuple(element.children), library)

    def is_resource_type(self, code: str) -> bool:
        if code in RESOURCE_TYPES:
            return True
        if not code[:1].isupper():
            return False
        plan = self.definitions.type_plan(code)
        return plan is not None and plan.kind == "resource"

    def resource_type_of(self, url: str) -> str | None:
        plan = self.plan(url)
        return plan.type if plan is not None else None


def type_code(rule: ElementRule, type_ref: TypeRef | None) -> str:
    """The type of an element's value, as the validator takes it."""
    if type_ref is None:
        return "BackboneElement"
    base = rule.raw.get("base")
    if isinstance(base, Mapping) and base.get("path") == "Resource.id":
        return "id"  # typed System.String in R4 definitions, but an id all the same
    return type_ref.code


def json_name(rule: ElementRule, type_ref: TypeRef | None) -> str:
    return rule.base_name + type_ref.json_suffix if rule.is_choice and type_ref is not None else rule.name


def discriminator_paths(entry: ElementRule) -> tuple[tuple[str, ...], ...]:
    """The simple child paths (`coding`, `code`) the slicing of `entry` discriminates on."""
    if entry.slicing is None:
        return ()
    paths: list[tuple[str, ...]] = []
    for discriminator in entry.slicing.discriminators:
        steps = tuple(
            step for step in discriminator.path.split(".") if step and step != "$this" and "(" not in step
        )
        if steps:
            paths.append(steps)
    return tuple(paths)


def forced_below(forced: Sequence[tuple[str, ...]], name: str) -> tuple[tuple[str, ...], ...]:
    """The forced paths that continue below the child `name`."""
    return tuple(path[1:] for path in forced if len(path) > 1 and path[0] == name)


def is_forced(forced: Sequence[tuple[str, ...]], name: str) -> bool:
    return any(path and path[0] == name for path in forced)
