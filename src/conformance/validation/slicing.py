"""Slicing: assign each occurrence to a slice by its discriminators, then check the slices.

Discriminators of type value, pattern, type, profile and exists are evaluated
on simple paths (`system`, `coding.code`, `extension('url').value`,
`resolve()`, `ofType(X)`, `$this`). A slice with no discriminator, or one we
cannot evaluate, is matched by validating the occurrence against the slice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import Discriminator, ElementRule, Plan, TypeRef
from conformance.validation import fixedpattern
from conformance.validation.report import Reporter

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Frame, Item, Walker

_STEP = re.compile(
    r"\s*(extension\(\s*'([^']*)'\s*\)|resolve\(\)|ofType\(\s*([A-Za-z0-9_]+)\s*\)|\$this|[A-Za-z0-9_\[\]]+)\s*"
)


def split_path(path: str) -> list[str]:
    """Split a discriminator path on dots that are not inside parentheses."""
    steps, depth, current = [], 0, ""
    for ch in path:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "." and depth == 0:
            steps.append(current)
            current = ""
        else:
            current += ch
    steps.append(current)
    return [s.strip() for s in steps if s.strip()]


@dataclass
class _Unknown(Exception):
    reason: str


def _values_at(walker: Walker, value: Any, steps: Sequence[str], frame: Frame) -> list[Any]:
    current = [value]
    for step in steps:
        current = [found for item in current for found in _step(walker, item, step, frame)]
    return current


def _step(walker: Walker, item: Any, step: str, frame: Frame) -> Iterator[Any]:
    if step == "$this":
        yield item
        return
    if step == "resolve()":
        target = walker.engine.resolve_reference(item, frame) if isinstance(item, dict) else None
        if target is not None:
            yield target
        return
    if step.startswith("extension("):
        url = step[step.index("'") + 1 : step.rindex("'")]
        for extension in item.get("extension", ()) if isinstance(item, dict) else ():
            if isinstance(extension, dict) and extension.get("url") == url:
                yield extension
        return
    if step.startswith("ofType("):
        type_name = step[len("ofType(") : -1].strip()
        if _type_of(item) == type_name:
            yield item
        return
    if not isinstance(item, dict):
        return
    yield from _children_named(item, step)


def _children_named(item: dict[str, Any], name: str) -> Iterator[Any]:
    if name in item:
        found = item[name]
        yield from found if isinstance(found, list) else [found]
        return
    prefix = name[:-3] if name.endswith("[x]") else name
    for key, found in item.items():
        if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper():
            yield found


def _type_of(item: Any) -> str | None:
    if isinstance(item, dict):
        resource_type = item.get("resourceType")
        return resource_type if isinstance(resource_type, str) else None
    return None


def _rule_at(walker: Walker, slice_rule: ElementRule, steps: Sequence[str], plan: Plan) -> ElementRule | None:
    """The element of the slice that a discriminator path points at."""
    rule: ElementRule | None = slice_rule
    for step in steps:
        if rule is None:
            return None
        if step == "$this" or step.startswith("ofType(") or step == "resolve()":
            continue
        rule = _rule_child(walker, rule, step, plan)
    return rule


def _rule_child(walker: Walker, rule: ElementRule, step: str, plan: Plan) -> ElementRule | None:
    if step.startswith("extension("):
        url = step[step.index("'") + 1 : step.rindex("'")]
        extension = rule.child("extension")
        if extension is None:
            return None
        for candidate in extension.slices:
            if any(url in t.profiles for t in candidate.types):
                return candidate
        return None
    children, _ = walker.children_of(rule, rule.types[0] if len(rule.types) == 1 else None, plan)
    for child in children:
        if child.name == step or (child.is_choice and step.startswith(child.base_name)):
            return child
    return None


class SlicingChecks:
    def check(
        self, walker: Walker, entry: ElementRule, items: Sequence[Item], loc: Loc, plan: Plan, frame: Frame
    ) -> None:
        slices = entry.slices
        if not slices:
            return
        discriminators = entry.slicing.discriminators if entry.slicing else ()
        assigned: list[ElementRule | None] = []
        for item in items:
            matching = self._matching(walker, item, slices, discriminators, plan, frame)
            match = matching[0] if matching else None
            if len(matching) > 1 and discriminators:
                walker.report.error(
                    "structure",
                    "slice.ambiguous",
                    f"Profile {plan.canonical}, Element matches more than one slice - "
                    + ", ".join(str(s.slice_name) for s in matching),
                    item.loc,
                    profile=plan.canonical,
                    element_id=entry.id,
                )
            assigned.append(match)
            if match is not None:
                self._validate_in_slice(walker, item, match, plan, frame)
        self._slice_counts(walker, slices, assigned, loc, plan)
        self._unmatched(walker, entry, items, assigned, plan)
        self._order(walker, entry, items, assigned, plan)

    def _matching(
        self,
        walker: Walker,
        item: Item,
        slices: Sequence[ElementRule],
        discriminators: Sequence[Discriminator],
        plan: Plan,
        frame: Frame,
    ) -> list[ElementRule]:
        """Every slice the item matches; with discriminators, more than one is a fault of the instance."""
        found = []
        for slice_rule in slices:
            if self.matches(walker, item, slice_rule, discriminators, plan, frame):
                found.append(slice_rule)
                if not discriminators:
                    break  # slices told apart only by their whole definitions: the first match decides
        return found

    def matches(
        self,
        walker: Walker,
        item: Item,
        slice_rule: ElementRule,
        discriminators: Sequence[Discriminator],
        plan: Plan,
        frame: Frame,
    ) -> bool:
        if not discriminators:
            return self._conforms(walker, item, slice_rule, plan, frame)
        try:
            return all(self._discriminator(walker, item, slice_rule, d, plan, frame) for d in discriminators)
        except _Unknown:
            return self._conforms(walker, item, slice_rule, plan, frame)

    def _discriminator(
        self,
        walker: Walker,
        item: Item,
        slice_rule: ElementRule,
        discriminator: Discriminator,
        plan: Plan,
        frame: Frame,
    ) -> bool:
        steps = split_path(discriminator.path)
        values = _values_at(walker, item.value, steps, frame)
        kind = discriminator.type
        if kind in ("value", "pattern"):
            return self._value_matches(walker, values, slice_rule, steps, plan, frame)
        if kind == "exists":
            target = _rule_at(walker, slice_rule, steps, plan)
            if target is None:
                raise _Unknown("no element at the discriminator path")
            return bool(values) if target.min > 0 else not values if target.max == 0 else True
        if kind == "type":
            return self._type_matches(walker, values, slice_rule, steps, plan, item)
        if kind == "profile":
            return self._profile_matches(walker, values, slice_rule, steps, plan, frame)
        raise _Unknown(f"discriminator type {kind}")

    def _value_matches(
        self,
        walker: Walker,
        values: list[Any],
        slice_rule: ElementRule,
        steps: Sequence[str],
        plan: Plan,
        frame: Frame,
    ) -> bool:
        if steps and steps[-1] == "url" and _extension_url(slice_rule, steps) is not None:
            url = _extension_url(slice_rule, steps)
            return any(value == url for value in values)
        target = _rule_at(walker, slice_rule, steps, plan)
        if target is None:
            raise _Unknown("no element at the discriminator path")
        if target.fixed is not None:
            return any(fixedpattern.matches_fixed(target.fixed[1], value) for value in values)
        if target.pattern is not None:
            return any(fixedpattern.matches_pattern(target.pattern[1], value) for value in values)
        implied = _descendant_pattern(target)
        if implied is not None:
            # Fixed values on the element's children (code.coding.system and .code, say) discriminate too.
            return any(fixedpattern.matches_pattern(implied, value) for value in values)
        if not values:
            raise _Unknown("no value at the discriminator path, and the slice fixes none")
        if target.binding is not None and target.binding.strength == "required" and target.binding.value_set:
            verdicts = [walker.engine.bindings.member_of(value, target.binding.value_set) for value in values]
            if any(v is True for v in verdicts):
                return True
            if all(v is False for v in verdicts):
                return False
        raise _Unknown("the slice has no fixed value or pattern at the discriminator path")

    def _type_matches(
        self,
        walker: Walker,
        values: list[Any],
        slice_rule: ElementRule,
        steps: Sequence[str],
        plan: Plan,
        item: Item,
    ) -> bool:
        target = _rule_at(walker, slice_rule, steps, plan)
        if target is None or not target.types:
            raise _Unknown("no typed element at the discriminator path")
        allowed = {t.code for t in target.types}
        if steps and steps[-1] == "resolve()":
            allowed = {_profile_type(walker, url) for t in target.types for url in t.target_profiles}
        on_item = all(step == "$this" for step in steps)
        for value in values:
            found = _type_of(value)
            if found is None and on_item and item.type_ref is not None:
                found = item.type_ref.code  # a choice element says its type in its JSON name
            if found is not None and found in allowed:
                return True
        if on_item and item.type_ref is not None:
            return False
        if values and all(_type_of(v) is None for v in values):
            raise _Unknown("the type of the value is not known from the instance")
        return False

    def _profile_matches(
        self,
        walker: Walker,
        values: list[Any],
        slice_rule: ElementRule,
        steps: Sequence[str],
        plan: Plan,
        frame: Frame,
    ) -> bool:
        target = _rule_at(walker, slice_rule, steps, plan)
        if target is None:
            raise _Unknown("no element at the discriminator path")
        profiles = [p for t in target.types for p in (t.profiles or t.target_profiles)]
        if not profiles:
            raise _Unknown("no profile at the discriminator path")
        for value in values:
            for url in profiles:
                if walker.engine.conforms_to(value, url, frame):
                    return True
        return False

    @staticmethod
    def _conforms(walker: Walker, item: Item, slice_rule: ElementRule, plan: Plan, frame: Frame) -> bool:
        sandbox = Reporter()
        trial = type(walker)(walker.engine, sandbox)
        type_ref = item.type_ref or (slice_rule.types[0] if slice_rule.types else None)
        trial.value(_retype(item, type_ref), slice_rule, plan, frame)
        trial.fixed_and_pattern(item.value, slice_rule, item.loc, plan)
        return not sandbox.has_errors

    def _validate_in_slice(
        self, walker: Walker, item: Item, slice_rule: ElementRule, plan: Plan, frame: Frame
    ) -> None:
        if slice_rule.children or slice_rule.fixed or slice_rule.pattern or _has_own_profile(slice_rule):
            walker.value(_retype(item, item.type_ref or _single_type(slice_rule)), slice_rule, plan, frame)
        else:
            walker.fixed_and_pattern(item.value, slice_rule, item.loc, plan)
        if slice_rule.slices:
            return  # re-slices are checked when the caller visits them
        return

    def _slice_counts(
        self,
        walker: Walker,
        slices: Sequence[ElementRule],
        assigned: Sequence[ElementRule | None],
        loc: Loc,
        plan: Plan,
    ) -> None:
        for slice_rule in slices:
            count = sum(1 for match in assigned if match is slice_rule)
            if count < slice_rule.min:
                walker.report.error(
                    "structure",
                    "slice.min",
                    f"Slice '{slice_rule.id}': a matching slice is required, but not found "
                    f"(from {plan.canonical})",
                    loc,
                    profile=plan.canonical,
                    element_id=slice_rule.id,
                )
            if slice_rule.max is not None and count > slice_rule.max:
                walker.report.error(
                    "structure",
                    "slice.max",
                    f"{slice_rule.id}: max allowed = {slice_rule.max}, but found {count} "
                    f"(from {plan.canonical})",
                    loc,
                    profile=plan.canonical,
                    element_id=slice_rule.id,
                )

    def _unmatched(
        self,
        walker: Walker,
        entry: ElementRule,
        items: Sequence[Item],
        assigned: Sequence[ElementRule | None],
        plan: Plan,
    ) -> None:
        rules = entry.slicing.rules if entry.slicing else "open"
        if rules != "closed":
            return
        for item, match in zip(items, assigned, strict=True):
            if match is None:
                reasons = "; ".join(self._why_not(walker, item, s, entry, plan) for s in entry.slices)
                walker.report.error(
                    "structure",
                    "slice.no-match",
                    f"This element does not match any known slice defined in the profile {plan.canonical} "
                    f"and slicing is closed: {reasons}",
                    item.loc,
                    profile=plan.canonical,
                    element_id=entry.id,
                )

    @staticmethod
    def _why_not(walker: Walker, item: Item, slice_rule: ElementRule, entry: ElementRule, plan: Plan) -> str:
        discriminators = entry.slicing.discriminators if entry.slicing else ()
        described = ", ".join(f"{d.type}:{d.path}" for d in discriminators) or "its full definition"
        return f"slice {slice_rule.slice_name!r} does not match on {described}"

    def _order(
        self,
        walker: Walker,
        entry: ElementRule,
        items: Sequence[Item],
        assigned: Sequence[ElementRule | None],
        plan: Plan,
    ) -> None:
        slicing = entry.slicing
        if slicing is None:
            return
        positions = [
            entry.slices.index(match) if match is not None else len(entry.slices) for match in assigned
        ]
        if slicing.ordered:
            # Only matched elements have an order; where unmatched ones may stand is openAtEnd's rule.
            matched = [(p, item) for p, item in zip(positions, items, strict=True) if p < len(entry.slices)]
            for (previous, _), (current, item) in pairwise(matched):
                if current < previous:
                    walker.report.error(
                        "structure",
                        "slice.order",
                        f"As specified by profile {plan.canonical}, element '{entry.name}' is out of order",
                        item.loc,
                        profile=plan.canonical,
                        element_id=entry.id,
                    )
                    return
        if slicing.rules == "openAtEnd":
            seen_unmatched = False
            for position, item in zip(positions, items, strict=True):
                if position == len(entry.slices):
                    seen_unmatched = True
                elif seen_unmatched:
                    walker.report.error(
                        "structure",
                        "slice.open-at-end",
                        f"Slicing of {entry.id} is openAtEnd: elements that match no slice must come last",
                        item.loc,
                        profile=plan.canonical,
                        element_id=entry.id,
                    )
                    return


def _descendant_pattern(rule: ElementRule, depth: int = 0) -> dict[str, Any] | None:
    """The partial value the fixed and pattern values below an element add up to, if any."""
    if depth > 5:
        return None
    pattern: dict[str, Any] = {}
    for child in rule.children:
        if child.slice_name is not None:
            continue
        value = (
            child.fixed[1]
            if child.fixed is not None
            else child.pattern[1]
            if child.pattern is not None
            else _descendant_pattern(child, depth + 1)
        )
        if value is not None:
            pattern[child.name] = [value] if child.repeats else value
    return pattern or None


def _extension_url(slice_rule: ElementRule, steps: Sequence[str]) -> str | None:
    """For extension slicing on `url`, the slice's extension definition gives the value."""
    if len(steps) != 1:
        return None
    for type_ref in slice_rule.types:
        if type_ref.code == "Extension" and type_ref.profiles:
            return type_ref.profiles[0].split("|")[0]
    url_rule = slice_rule.child("url")
    if url_rule is not None and url_rule.fixed is not None:
        return str(url_rule.fixed[1])
    return None


def _profile_type(walker: Walker, url: str) -> str:
    plan = walker.definitions.plan(url)
    return plan.type if plan is not None else url.rsplit("/", 1)[-1]


def _has_own_profile(slice_rule: ElementRule) -> bool:
    return any(t.profiles for t in slice_rule.types)


def _single_type(rule: ElementRule) -> TypeRef | None:
    return rule.types[0] if len(rule.types) == 1 else None


def _retype(item: Item, type_ref: TypeRef | None) -> Item:
    return item.with_type(type_ref)
