"""Slicing: assign each occurrence to a slice by its discriminators, then check the slices.

Discriminators of type value, pattern, type, profile and exists are evaluated
on simple paths (`system`, `coding.code`, `extension('url').value`,
`resolve()`, `ofType(X)`, `$this`). A slice with no discriminator, or one we
cannot evaluate, is matched by validating the occurrence against the slice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
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


class _Unknown(Exception):
    # A plain class: mypyc compiles no dataclass that derives from an exception.
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_Reader = Callable[["Walker", Any, "Frame"], Iterable[Any]]
"""One step of a discriminator path: the values it leads to from one value."""


class _Path:
    """A discriminator path made ready to read: what each step does is told from its text once."""

    __slots__ = ("_readers",)

    def __init__(self, steps: Sequence[str]) -> None:
        self._readers = tuple(_reader(step) for step in steps)

    def values(self, walker: Walker, value: Any, frame: Frame) -> list[Any]:
        current = [value]
        for read in self._readers:
            current = [found for item in current for found in read(walker, item, frame)]
        return current


def _reader(step: str) -> _Reader:
    if step == "$this":
        return lambda walker, item, frame: (item,)
    if step == "resolve()":
        return _resolved
    if step.startswith("extension("):
        url = step[step.index("'") + 1 : step.rindex("'")]
        return lambda walker, item, frame: _extensions_with_url(item, url)
    if step.startswith("ofType("):
        type_name = step[len("ofType(") : -1].strip()
        return lambda walker, item, frame: (item,) if _type_of(item) == type_name else ()
    return lambda walker, item, frame: _children_named(item, step) if isinstance(item, dict) else ()


def _resolved(walker: Walker, item: Any, frame: Frame) -> Iterator[Any]:
    target = walker.engine.resolve_reference(item, frame) if isinstance(item, dict) else None
    if target is not None:
        yield target


def _extensions_with_url(item: Any, url: str) -> Iterator[Any]:
    for extension in item.get("extension", ()) if isinstance(item, dict) else ():
        if isinstance(extension, dict) and extension.get("url") == url:
            yield extension


def _children_named(item: dict[str, Any], name: str) -> list[Any]:
    if name in item:
        found = item[name]
        return found if isinstance(found, list) else [found]
    prefix = name[:-3] if name.endswith("[x]") else name
    return [
        found
        for key, found in item.items()
        if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper()
    ]


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


_Test = Callable[["Walker", "Item", "Frame"], bool]
"""One discriminator of one slice: does an item match it? Raises `_Unknown` when that cannot be told."""


class _SliceTests:
    """A slice's discriminator tests, each worked out from the definitions the first time it is needed
    (a test after one that fails is never needed, and working it out may load other definitions)."""

    __slots__ = ("_discriminators", "_tests", "plan", "slice_rule")

    def __init__(self, slice_rule: ElementRule, discriminators: Sequence[Discriminator], plan: Plan) -> None:
        self.slice_rule = slice_rule
        self.plan = plan
        self._discriminators = discriminators
        self._tests: list[_Test | None] = [None] * len(discriminators)

    @property
    def discriminated(self) -> bool:
        return bool(self._discriminators)

    def all_hold(self, walker: Walker, item: Item, frame: Frame) -> bool:
        """Every discriminator matches, tried in the definition's order until one does not."""
        for index, known in enumerate(self._tests):
            test = known or self._worked_out(walker, index)
            if not test(walker, item, frame):
                return False
        return True

    def _worked_out(self, walker: Walker, index: int) -> _Test:
        test = self._tests[index] = _test(walker, self.slice_rule, self._discriminators[index], self.plan)
        return test


class _EntryTests:
    """A sliced element's slices with their tests, for one plan."""

    __slots__ = ("by_url", "counted", "discriminated", "entry", "plan", "slices")

    def __init__(self, entry: ElementRule, plan: Plan) -> None:
        discriminators = entry.slicing.discriminators if entry.slicing else ()
        self.entry = entry
        self.plan = plan
        self.discriminated = bool(discriminators)
        self.slices = [_SliceTests(slice_rule, discriminators, plan) for slice_rule in entry.slices]
        # Slices whose count can be wrong: a 0..* slice needs no counting.
        self.counted = [s for s in entry.slices if s.min > 0 or s.max is not None]
        self.by_url = _slices_by_extension_url(entry.slices, discriminators)


def _slices_by_extension_url(
    slices: Sequence[ElementRule], discriminators: Sequence[Discriminator]
) -> dict[str, list[ElementRule]] | None:
    """For extensions sliced by `url` alone, each slice naming its extension (the common slicing): the
    slices by url, in their order, so that an extension finds its slices by one lookup, not a test each."""
    if len(discriminators) != 1 or discriminators[0].type not in ("value", "pattern"):
        return None
    steps = split_path(discriminators[0].path)
    if steps != ["url"]:
        return None
    by_url: dict[str, list[ElementRule]] = {}
    for slice_rule in slices:
        url = _extension_url(slice_rule, steps)
        if url is None:
            return None  # a slice told apart some other way: each is tested
        by_url.setdefault(url, []).append(slice_rule)
    return by_url


def _plain_url(value: Any) -> str | None:
    """The `url` of a JSON object when it is a plain string (what `_slices_by_extension_url` is keyed by)."""
    url = value.get("url") if type(value) is dict else None
    return url if type(url) is str else None


def _test(walker: Walker, slice_rule: ElementRule, discriminator: Discriminator, plan: Plan) -> _Test:
    """The test of one discriminator for one slice: what the definitions fix is worked out here, once."""
    steps = tuple(split_path(discriminator.path))
    kind = discriminator.type
    if kind in ("value", "pattern"):
        return _value_test(walker, slice_rule, steps, plan)
    if kind == "exists":
        return _exists_test(walker, slice_rule, steps, plan)
    if kind == "type":
        return _type_test(walker, slice_rule, steps, plan)
    if kind == "profile":
        return _profile_test(walker, slice_rule, steps, plan)
    return _undecidable(f"discriminator type {kind}")


def _undecidable(reason: str) -> _Test:
    def test(walker: Walker, item: Item, frame: Frame) -> bool:
        raise _Unknown(reason)

    return test


def _any_value(steps: Sequence[str], holds: Callable[[Any], bool]) -> _Test:
    """Does any value at the discriminator path satisfy `holds`?"""
    path = _Path(steps)

    def test(walker: Walker, item: Item, frame: Frame) -> bool:
        return any(holds(value) for value in path.values(walker, item.value, frame))

    return test


def _value_test(walker: Walker, slice_rule: ElementRule, steps: Sequence[str], plan: Plan) -> _Test:
    url = _extension_url(slice_rule, steps) if steps and steps[-1] == "url" else None
    if url is not None:
        return _any_value(steps, lambda value: value == url)
    target = _rule_at(walker, slice_rule, steps, plan)
    if target is None:
        return _undecidable("no element at the discriminator path")
    if target.fixed is not None:
        fixed = target.fixed[1]
        return _any_value(steps, lambda value: fixedpattern.matches_fixed(fixed, value))
    if target.pattern is not None:
        pattern = target.pattern[1]
        return _any_value(steps, lambda value: fixedpattern.matches_pattern(pattern, value))
    implied = _descendant_pattern(target)
    if implied is not None:
        # Fixed values on the element's children (code.coding.system and .code, say) discriminate too.
        return _any_value(steps, lambda value: fixedpattern.matches_pattern(implied, value))
    binding = target.binding
    required = binding is not None and binding.strength == "required" and binding.value_set
    return _binding_test(steps, binding.value_set if required and binding is not None else None)


def _binding_test(steps: Sequence[str], value_set: str | None) -> _Test:
    """Without a fixed value, a required binding tells slices apart when membership is known."""
    path = _Path(steps)

    def test(walker: Walker, item: Item, frame: Frame) -> bool:
        values = path.values(walker, item.value, frame)
        if not values:
            raise _Unknown("no value at the discriminator path, and the slice fixes none")
        if value_set is not None:
            verdicts = [walker.engine.bindings.member_of(value, value_set) for value in values]
            if any(v is True for v in verdicts):
                return True
            if all(v is False for v in verdicts):
                return False
        raise _Unknown("the slice has no fixed value or pattern at the discriminator path")

    return test


def _exists_test(walker: Walker, slice_rule: ElementRule, steps: Sequence[str], plan: Plan) -> _Test:
    target = _rule_at(walker, slice_rule, steps, plan)
    if target is None:
        return _undecidable("no element at the discriminator path")
    if target.min == 0 and target.max != 0:
        return lambda walker, item, frame: True  # the slice allows the element and its absence alike

    must_exist = target.min > 0
    path = _Path(steps)

    def test(walker: Walker, item: Item, frame: Frame) -> bool:
        found = bool(path.values(walker, item.value, frame))
        return found if must_exist else not found

    return test


def _type_test(walker: Walker, slice_rule: ElementRule, steps: Sequence[str], plan: Plan) -> _Test:
    target = _rule_at(walker, slice_rule, steps, plan)
    if target is None or not target.types:
        return _undecidable("no typed element at the discriminator path")
    allowed = frozenset(t.code for t in target.types)
    if steps and steps[-1] == "resolve()":
        allowed = frozenset(_profile_type(walker, url) for t in target.types for url in t.target_profiles)
    on_item = all(step == "$this" for step in steps)
    path = _Path(steps)

    def test(walker: Walker, item: Item, frame: Frame) -> bool:
        values = path.values(walker, item.value, frame)
        typed_by_name = on_item and item.type_ref is not None  # a choice element says its type in its name
        for value in values:
            found = _type_of(value)
            if found is None and typed_by_name and item.type_ref is not None:
                found = item.type_ref.code
            if found is not None and found in allowed:
                return True
        if typed_by_name:
            return False
        if values and all(_type_of(v) is None for v in values):
            raise _Unknown("the type of the value is not known from the instance")
        return False

    return test


def _profile_test(walker: Walker, slice_rule: ElementRule, steps: Sequence[str], plan: Plan) -> _Test:
    target = _rule_at(walker, slice_rule, steps, plan)
    if target is None:
        return _undecidable("no element at the discriminator path")
    profiles = [p for t in target.types for p in (t.profiles or t.target_profiles)]
    if not profiles:
        return _undecidable("no profile at the discriminator path")
    path = _Path(steps)

    def test(walker: Walker, item: Item, frame: Frame) -> bool:
        values = path.values(walker, item.value, frame)
        return any(walker.engine.conforms_to(value, url, frame) for value in values for url in profiles)

    return test


class SlicingChecks:
    def __init__(self) -> None:
        # (id(entry), id(plan)) -> the entry's slice tests: the entry and plan are held by them, so ids stay
        # theirs. One Engine's definitions are fixed, so what the tests work out from them stays true.
        self._entries: dict[tuple[int, int], _EntryTests] = {}

    def _tests_of(self, entry: ElementRule, plan: Plan) -> _EntryTests:
        known = self._entries.get((id(entry), id(plan)))
        if known is None or known.entry is not entry or known.plan is not plan:
            known = self._entries[(id(entry), id(plan))] = _EntryTests(entry, plan)
        return known

    def check(
        self, walker: Walker, entry: ElementRule, items: Sequence[Item], loc: Loc, plan: Plan, frame: Frame
    ) -> None:
        slices = entry.slices
        if not slices:
            return
        tests = self._tests_of(entry, plan)
        assigned: list[ElementRule | None] = []
        for item in items:
            matching = self._matching(walker, item, tests, frame)
            match = matching[0] if matching else None
            if len(matching) > 1 and tests.discriminated:
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
        self._slice_counts(walker, tests.counted, assigned, loc, plan)
        self._unmatched(walker, entry, items, assigned, plan)
        self._order(walker, entry, items, assigned, plan)

    def _matching(self, walker: Walker, item: Item, tests: _EntryTests, frame: Frame) -> list[ElementRule]:
        """Every slice the item matches; with discriminators, more than one is a fault of the instance."""
        url = _plain_url(item.value) if tests.by_url is not None else None
        if tests.by_url is not None and url is not None:
            return list(tests.by_url.get(url, ()))  # what testing each slice's url would find
        found = []
        for slice_tests in tests.slices:
            if self._matches(walker, item, slice_tests, tests.plan, frame):
                found.append(slice_tests.slice_rule)
                if not tests.discriminated:
                    break  # slices told apart only by their whole definitions: the first match decides
        return found

    def _matches(self, walker: Walker, item: Item, tests: _SliceTests, plan: Plan, frame: Frame) -> bool:
        if not tests.discriminated:
            return self._conforms(walker, item, tests.slice_rule, plan, frame)
        try:
            return tests.all_hold(walker, item, frame)
        except _Unknown:
            return self._conforms(walker, item, tests.slice_rule, plan, frame)

    @staticmethod
    def _conforms(walker: Walker, item: Item, slice_rule: ElementRule, plan: Plan, frame: Frame) -> bool:
        sandbox = Reporter()
        trial = type(walker)(walker.engine, sandbox)
        type_ref = item.type_ref or (slice_rule.types[0] if slice_rule.types else None)
        trial.value(_retype(item, type_ref), slice_rule, plan, frame)
        trial.fixed_and_pattern(item.value, slice_rule, item.loc, plan)
        return not sandbox.has_errors

    @staticmethod
    def _validate_in_slice(
        walker: Walker, item: Item, slice_rule: ElementRule, plan: Plan, frame: Frame
    ) -> None:
        # Re-slices of the slice are checked when the caller visits them.
        if slice_rule.children or slice_rule.fixed or slice_rule.pattern or _has_own_profile(slice_rule):
            walker.value(_retype(item, item.type_ref or _single_type(slice_rule)), slice_rule, plan, frame)
        else:
            walker.fixed_and_pattern(item.value, slice_rule, item.loc, plan)

    def _slice_counts(
        self,
        walker: Walker,
        counted: Sequence[ElementRule],
        assigned: Sequence[ElementRule | None],
        loc: Loc,
        plan: Plan,
    ) -> None:
        """`counted`: the slices with a minimum or a maximum."""
        if not counted:
            return
        counts: dict[int, int] = {}
        for match in assigned:
            counts[id(match)] = counts.get(id(match), 0) + 1
        for slice_rule in counted:
            count = counts.get(id(slice_rule), 0)
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
        if slicing is None or not (slicing.ordered or slicing.rules == "openAtEnd"):
            return  # neither rule applies: where each item stands does not matter
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
