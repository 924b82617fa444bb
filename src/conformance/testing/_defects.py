"""Single-defect variants of a conforming instance, each labelled with the message id it must produce.

The instance is walked with the same rules the validator uses (`_shapes`); each defect changes one
thing the rules say about one element: remove what is required, repeat what may not repeat, add what
is prohibited, break a primitive's lexical form or JSON type, change a fixed or pattern value, use a
code outside a required value set, empty a required slice, point a reference at a missing contained
resource... Elements that decide which slice an item belongs to are left alone: changing them moves
the item to another slice, which is a different defect.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef
from conformance.testing._generate import CODED_TYPES, Codes
from conformance.testing._shapes import Children, Shapes, discriminator_paths, json_name, type_code

JsonPath = tuple[str | int, ...]
UNKNOWN_PROPERTY = "generatedUnknownProperty"
MISSING_CONTAINED = "#generated-missing-contained"
NOT_A_CODE = "generated-not-a-code"
NOT_A_TYPE = "GeneratedNotAResource"
SKIPPED_NAMES = frozenset({"resourceType", "meta"})

# A lexically invalid value for each primitive type, and the message id it must produce.
BAD_LEXICAL: Mapping[str, tuple[Any, str]] = {
    "date": ("2023-02-30", "type.date"),
    "dateTime": ("2023-01-01T25:00:00Z", "type.datetime"),
    "instant": ("2023-01-01", "type.instant"),
    "time": ("24:61:00", "type.time"),
    "id": ("bad_id", "type.id"),
    "uri": ("http://example.org/a b", "type.uri"),
    "url": ("http://example.org/a b", "type.uri"),
    "canonical": ("http://example.org/a b", "type.uri"),
    "oid": ("urn:oid:1.2.x", "type.oid"),
    "uuid": ("urn:uuid:not-a-uuid", "type.uuid"),
    "code": (" padded", "type.code"),
    "integer": (1.5, "type.integer"),
    "positiveInt": (0, "type.integer.range"),
    "unsignedInt": (-1, "type.integer.range"),
    "base64Binary": ("%%%not base64", "type.base64"),
    "string": ("", "type.empty-string"),
    "markdown": ("", "type.empty-string"),
}
_NUMBERS = frozenset({"integer", "positiveInt", "unsignedInt", "decimal"})
# A valid value of each primitive type that no fixed value in a profile is likely to be.
_OTHER_VALUES: Mapping[str, Any] = {
    "boolean": None,  # flipped instead
    "integer": 987654,
    "positiveInt": 987654,
    "unsignedInt": 987654,
    "decimal": 98765.4,
    "date": "1901-01-01",
    "dateTime": "1901-01-01",
    "instant": "1901-01-01T00:00:00Z",
    "time": "01:02:03",
}
_PLACEHOLDER = {"url": "http://example.org/fhir/StructureDefinition/generated", "valueString": "generated"}
_MINIMAL: Mapping[str, Any] = {
    "boolean": True,
    "integer": 1,
    "positiveInt": 1,
    "unsignedInt": 1,
    "decimal": 1,
    "date": "2020-01-01",
    "dateTime": "2020-01-01",
    "instant": "2020-01-01T00:00:00Z",
    "time": "10:00:00",
    "base64Binary": "AA==",
    "uri": "http://example.org/generated",
    "url": "http://example.org/generated",
    "canonical": "http://example.org/generated",
    "oid": "urn:oid:2.16.840.1.1",
    "uuid": "urn:uuid:9d3e6a4c-3b1e-4f10-8d2b-2a4c7f360e0e",
    "Reference": {"display": "generated"},
    "CodeableConcept": {"text": "generated"},
}


@dataclass(frozen=True)
class Defect:
    """A variant of an instance with exactly one defect, and the message id the validator must report."""

    kind: str
    """What was done: `remove-required`, `bad-lexical`, `code-not-in-value-set`..."""
    message_id: str
    location: str
    description: str
    instance: dict[str, Any] = field(repr=False, compare=False)
    """A fresh copy of the instance, with the defect."""
    constraint: str | None = None
    """For `invariant.failed`: the key of the invariant that must fail (`cpt-2`)."""
    in_base: bool = True
    """The rule broken is also the base definition's: validating without the profile must report it too."""


@dataclass(frozen=True)
class Site:
    """One occurrence of an element in the instance, with the rule that governs it."""

    parent: JsonPath
    key: str
    index: int | None
    rule: ElementRule
    type_code: str
    location: str
    discriminating: bool
    """The element decides which slice its item belongs to (or is inside such an element)."""
    count: int

    @property
    def path(self) -> JsonPath:
        return (*self.parent, self.key) if self.index is None else (*self.parent, self.key, self.index)


@dataclass(frozen=True)
class Absent:
    """An element a profile prohibits (max 0) that the base definition allows, where it could go."""

    parent: JsonPath
    rule: ElementRule
    location: str


@dataclass
class Walk:
    sites: list[Site] = field(default_factory=list)
    prohibited: list[Absent] = field(default_factory=list)
    slices: list[tuple[Site, ElementRule, list[int]]] = field(default_factory=list)
    """Sliced elements: the first occurrence, a slice, and the indexes of the items that match it."""
    unset_fixed: list[Absent] = field(default_factory=list)
    """Elements with a fixed or pattern value that the instance leaves out, where they could go."""
    slicings: dict[tuple[JsonPath, str], ElementRule] = field(default_factory=dict)
    """The sliced element's own rule (with its slicing), by the path of its parent and its JSON name."""
    base: Walk | None = None
    """The same instance walked with the base definition of its type, when the walk is of a profile."""
    _base_sites: dict[JsonPath, Site] | None = field(default=None, repr=False)

    def base_site(self, site: Site) -> Site | None:
        """The occurrence as the base definition governs it (None: the base does not reach it)."""
        if self.base is None:
            return site
        if self._base_sites is None:
            self._base_sites = {found.path: found for found in self.base.sites}
        return self._base_sites.get(site.path)

    def base_prohibits(self, absent: Absent) -> bool:
        """The base walk also finds the element prohibited there (a datatype profile, an extension's own)."""
        if self.base is None:
            return True
        return any(a.parent == absent.parent and a.rule.id == absent.rule.id for a in self.base.prohibited)

    def base_has_slice(self, first: Site, slice_rule: ElementRule) -> bool:
        if self.base is None:
            return True
        return any(
            site.path == first.path and rule.id == slice_rule.id and rule.min == slice_rule.min
            for site, rule, _ in self.base.slices
        )


def value_at(instance: Any, path: JsonPath) -> Any:
    node = instance
    for step in path:
        node = node[step]
    return node


def _matches_pattern(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, Mapping):
        return isinstance(value, Mapping) and all(
            key == "id" or _matches_pattern(expected, value.get(key)) for key, expected in pattern.items()
        )
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else []
        return all(any(_matches_pattern(p, v) for v in items) for p in pattern)
    return bool(pattern == value)


def _values_at(item: Any, steps: Sequence[str]) -> list[Any]:
    current = [item]
    for step in steps:
        found: list[Any] = []
        for node in current:
            value = node.get(step) if isinstance(node, Mapping) else None
            found.extend(value if isinstance(value, list) else [] if value is None else [value])
        current = found
    return current


@dataclass(frozen=True)
class _Place:
    """Where the walk is: the object's path and location, and which of its children discriminate slices."""

    path: JsonPath
    location: str
    discriminated: tuple[tuple[str, ...], ...]
    discriminating: bool

    def child(self, rule: ElementRule) -> _Place:
        """The place of a child element's occurrences (their path and location are added per item)."""
        inside = self.discriminating or any(p and p[0] == rule.name for p in self.discriminated)
        below = tuple(p[1:] for p in self.discriminated if len(p) > 1 and p[0] == rule.name)
        return _Place(self.path, self.location, below, inside)


@dataclass(frozen=True)
class Label:
    kind: str
    message_id: str
    location: str
    description: str
    in_base: bool = True
    constraint: str | None = None


Change = Callable[[dict[str, Any]], None]


class DefectMaker:
    def __init__(self, shapes: Shapes, codes: Codes) -> None:
        self.shapes = shapes
        self.codes = codes

    # ---------------------------------------------------------------- the walk

    def walk(self, instance: dict[str, Any], plan: Plan) -> Walk:
        found = Walk()
        root = Children(tuple(plan.root.children), plan)
        self._object(instance, _Place((), plan.type, (), False), root, found)
        return found

    def _object(self, obj: Mapping[str, Any], place: _Place, children: Children, found: Walk) -> None:
        for rule in children.rules:
            present = [(name, t) for name, t in rule.json_names() if name in obj]
            if not present:
                absent = Absent(place.path, rule, f"{place.location}.{rule.base_name}")
                if rule.max == 0 and _base_allows(rule):
                    found.prohibited.append(absent)
                elif _settable_fixed(rule) and not place.child(rule).discriminating:
                    found.unset_fixed.append(absent)
                continue
            self._element(
                obj[present[0][0]], place.child(rule), rule, present[0], plan=children.plan, found=found
            )

    def _element(
        self,
        value: Any,
        place: _Place,
        rule: ElementRule,
        named: tuple[str, TypeRef | None],
        *,
        plan: Plan,
        found: Walk,
    ) -> None:
        name, type_ref = named
        items = value if isinstance(value, list) else [value]
        assigned = self._assign_slices(rule, items, plan)
        first: Site | None = None
        for index, item in enumerate(items):
            slice_rule = assigned[index]
            governing = slice_rule or rule
            item_type = type_ref or (governing.types[0] if governing.types else None)
            listed = isinstance(value, list)
            site = Site(
                parent=place.path,
                key=name,
                index=index if listed else None,
                rule=governing,
                type_code=type_code(governing, item_type),
                location=f"{place.location}.{rule.base_name}" + (f"[{index}]" if listed else ""),
                discriminating=place.discriminating or (slice_rule is not None and _on_itself(rule)),
                count=len(items),
            )
            first = first or site
            found.sites.append(site)
            if isinstance(item, dict) and not self.shapes.is_resource_type(site.type_code):
                inner = discriminator_paths(rule) if slice_rule is not None else place.discriminated
                children = self._extension_definition(item, item_type)
                if children is not None:
                    inner = (*inner, ("url",))  # the url chose the definition: changing it is another defect
                else:
                    children = self.shapes.children(governing, item_type, plan)
                self._object(
                    item, _Place(site.path, site.location, inner, place.discriminating), children, found
                )
        if rule.slices and first is not None:
            found.slicings[(place.path, name)] = rule
            for slice_rule in rule.slices:
                matched = [i for i, s in enumerate(assigned) if s is slice_rule]
                found.slices.append((first, slice_rule, matched))

    def _extension_definition(self, item: Mapping[str, Any], type_ref: TypeRef | None) -> Children | None:
        """An extension the rule does not profile is held to its url's definition, as the validator does."""
        url = item.get("url")
        if type_ref is None or type_ref.code != "Extension" or type_ref.profiles or not isinstance(url, str):
            return None
        definition = self.shapes.plan(url) if "://" in url else None
        return Children(tuple(definition.root.children), definition) if definition is not None else None

    # ---------------------------------------------------------------- slices

    def _assign_slices(
        self, entry: ElementRule, items: Sequence[Any], plan: Plan
    ) -> list[ElementRule | None]:
        if not entry.slices:
            return [None] * len(items)
        return [
            next((s for s in entry.slices if self._in_slice(item, entry, s, plan)), None) for item in items
        ]

    def _in_slice(self, item: Any, entry: ElementRule, slice_rule: ElementRule, plan: Plan) -> bool:
        discriminators = entry.slicing.discriminators if entry.slicing else ()
        if not discriminators:
            return False
        return all(
            d.type in ("value", "pattern") and self._discriminates(item, slice_rule, d.path, plan)
            for d in discriminators
        )

    def _discriminates(self, item: Any, slice_rule: ElementRule, path: str, plan: Plan) -> bool:
        steps = [step for step in path.split(".") if step != "$this"]
        if steps == ["url"]:
            expected = _extension_url(slice_rule)
            return expected is not None and isinstance(item, Mapping) and item.get("url") == expected
        target = self._rule_at(slice_rule, steps, plan)
        expected_value = (target.fixed or target.pattern) if target is not None else None
        if expected_value is None:
            return False
        return any(_matches_pattern(expected_value[1], value) for value in _values_at(item, steps))

    def _rule_at(self, rule: ElementRule, steps: Sequence[str], plan: Plan) -> ElementRule | None:
        current: ElementRule | None = rule
        for step in steps:
            if current is None:
                return None
            single = current.types[0] if len(current.types) == 1 else None
            current = next(
                (c for c in self.shapes.children(current, single, plan).rules if c.name == step), None
            )
        return current

    # ---------------------------------------------------------------- the defects

    def defects(self, instance: dict[str, Any], plan: Plan) -> tuple[Defect, ...]:
        walk = self.walk(instance, plan)
        changes = self.changes(walk, instance, plan)
        return tuple(variant_with(instance, label, change) for label, change in changes)

    def changes(self, walk: Walk, instance: dict[str, Any], plan: Plan) -> list[tuple[Label, Change]]:
        """Every single change this maker knows for the walked instance, each labelled."""
        return [
            *self._removed_required(walk, instance),
            *self._one_too_many(walk),
            *self._prohibited(walk),
            *self._bad_lexical(walk),
            *self._wrong_json_type(walk),
            *self._changed_fixed(walk),
            *self._changed_pattern(walk),
            *self._code_outside_value_set(walk),
            *self._emptied_slice(walk),
            *self._overfull_slice(walk),
            *self._missing_contained(walk, instance),
            *self._array_shapes(walk),
            *_whole_resource(plan),
        ]

    def _removed_required(self, walk: Walk, instance: dict[str, Any]) -> Iterator[tuple[Label, Change]]:
        seen: set[tuple[JsonPath, str]] = set()
        for site in walk.sites:
            if (
                site.rule.min < 1
                or site.rule.slice_name
                or not eligible(site)
                or (site.parent, site.key) in seen
            ):
                continue
            seen.add((site.parent, site.key))
            if len(value_at(instance, site.parent)) < 2:
                continue  # removing the only content would leave an empty object: a different defect
            base = walk.base_site(site)
            label = Label(
                "remove-required",
                "cardinality.min",
                site.location,
                f"removed {site.rule.id}, which needs at least {site.rule.min}",
                in_base=base is not None and base.rule.min >= 1,
            )
            yield label, partial(_pop, site.parent, site.key)

    def _one_too_many(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        for site in walk.sites:
            rule = site.rule
            last = site.index is not None and site.index == site.count - 1
            if rule.max is None or not rule.repeats or not last or site.count != rule.max:
                continue
            if rule.slice_name or rule.slices or not eligible(site):
                continue
            base = walk.base_site(site)
            label = Label(
                "one-too-many",
                "cardinality.max",
                site.location,
                f"repeated {rule.id}, which allows {rule.max}",
                in_base=base is not None and base.rule.max is not None and base.rule.max <= site.count,
            )
            yield label, partial(_append_copy, site.parent, site.key, site.index or 0)

    def _prohibited(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        for absent in walk.prohibited:
            type_ref = absent.rule.types[0] if absent.rule.types else None
            code = type_code(absent.rule, type_ref)
            value = copy.deepcopy(_MINIMAL.get(code, {"extension": [_PLACEHOLDER]}))
            label = Label(
                "prohibited",
                "cardinality.max",
                absent.location,
                f"added {absent.rule.id}, which the profile prohibits (max 0)",
                in_base=walk.base_prohibits(absent),
            )
            item = [value] if absent.rule.repeats else value
            yield label, partial(put_value, absent.parent, json_name(absent.rule, type_ref), item)

    def _primitive_sites(self, walk: Walk) -> Iterator[Site]:
        seen: set[str] = set()
        for site in walk.sites:
            primitive = site.type_code in BAD_LEXICAL or site.type_code in ("boolean", "decimal")
            if primitive and eligible(site) and site.rule.id not in seen:
                seen.add(site.rule.id)
                yield site

    def _bad_lexical(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        for site in self._primitive_sites(walk):
            bad = BAD_LEXICAL.get(site.type_code)
            if bad is not None:
                value, message_id = bad
                label = Label(
                    "bad-lexical", message_id, site.location, f"{site.type_code} {value!r} in {site.rule.id}"
                )
                yield label, partial(set_value, site, value)

    def _wrong_json_type(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        seen: set[str] = set()
        for site in self._primitive_sites(walk):
            if site.type_code in seen:
                continue
            seen.add(site.type_code)
            value: Any = "1" if site.type_code in _NUMBERS else "true" if site.type_code == "boolean" else 1
            label = Label(
                "wrong-json-type",
                "type.json-type",
                site.location,
                f"a JSON {type(value).__name__} for the {site.type_code} {site.rule.id}",
            )
            yield label, partial(set_value, site, value)

    def _changed_fixed(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        for site in walk.sites:
            fixed = site.rule.fixed
            if fixed is None or not eligible(site) or isinstance(fixed[1], dict | list):
                continue
            base = walk.base_site(site)
            label = Label(
                "change-fixed",
                "fixed.mismatch",
                site.location,
                f"changed the fixed {site.rule.id}",
                in_base=base is not None and base.rule.fixed == fixed,
            )
            yield label, partial(set_value, site, other_value(site.type_code, fixed[1]))

    def _changed_pattern(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        for site in walk.sites:
            pattern = site.rule.pattern
            changed = (
                off_pattern(pattern[1], site.type_code) if pattern is not None and eligible(site) else None
            )
            if changed is not None:
                base = walk.base_site(site)
                label = Label(
                    "change-pattern",
                    "pattern.mismatch",
                    site.location,
                    f"{site.rule.id} off its pattern",
                    in_base=base is not None and base.rule.pattern == pattern,
                )
                yield label, partial(set_value, site, changed)

    def _code_outside_value_set(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        for site in walk.sites:
            value_set = _required_value_set(site)
            if value_set is None or not eligible(site) or not self._listed_in_full(value_set):
                continue
            base = walk.base_site(site)
            base_value_set = _required_value_set(base) if base is not None else None
            label = Label(
                "code-not-in-value-set",
                "binding.required.not-in-valueset",
                site.location,
                f"a code outside {value_set} in {site.rule.id}",
                in_base=base_value_set is not None and self._listed_in_full(base_value_set),
            )
            yield label, partial(_set_with, site, partial(_outside_code, site.type_code))

    def _listed_in_full(self, value_set: str) -> bool:
        expansion = self.codes.terminology.expand(value_set)
        return expansion is not None and expansion.complete and bool(expansion.contains)

    def _emptied_slice(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        for first, slice_rule, matched in walk.slices:
            if slice_rule.min < 1 or not matched or first.discriminating:
                continue
            label = Label(
                "empty-slice",
                "slice.min",
                first.location.rsplit("[", 1)[0],
                f"removed the items of slice {slice_rule.id}, which needs {slice_rule.min}",
                in_base=walk.base_has_slice(first, slice_rule),
            )
            yield label, partial(_remove_items, first, tuple(matched))

    def _overfull_slice(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        for first, slice_rule, matched in walk.slices:
            full = slice_rule.max is not None and len(matched) == slice_rule.max
            if not full or not matched or first.discriminating or first.index is None:
                continue
            label = Label(
                "overfull-slice",
                "slice.max",
                first.location.rsplit("[", 1)[0],
                f"repeated an item of slice {slice_rule.id}, which allows {slice_rule.max}",
                in_base=walk.base_has_slice(first, slice_rule),
            )
            yield label, partial(_append_copy, first.parent, first.key, matched[0])

    def _missing_contained(self, walk: Walk, instance: dict[str, Any]) -> Iterator[tuple[Label, Change]]:
        for site in walk.sites:
            if (
                site.type_code == "Reference"
                and eligible(site)
                and isinstance(value_at(instance, site.path), dict)
            ):
                label = Label(
                    "missing-contained",
                    "reference.contained-not-found",
                    site.location,
                    f"{site.rule.id} refers to a contained resource that is not there",
                )
                yield label, partial(put_value, site.path, "reference", MISSING_CONTAINED)
                return

    def _array_shapes(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        single = next((s for s in walk.sites if s.index is None and not s.rule.repeats and eligible(s)), None)
        if single is not None:
            label = Label("array-for-single", "structure.array-not-allowed", single.location, "a JSON array")
            yield label, partial(_set_with, single, _in_list)
        listed = next(
            (
                s
                for s in walk.sites
                if s.index == 0 and s.count == 1 and eligible(s) and not s.rule.slice_name
            ),
            None,
        )
        if listed is not None:
            whole = listed.location.rsplit("[", 1)[0]  # the defect is in the element, not its item
            unwrapped = Label("single-for-array", "structure.array-expected", whole, "no JSON array")
            yield unwrapped, partial(_unwrap, listed.parent, listed.key)
            emptied = Label("empty-array", "structure.empty-array", whole, "an empty JSON array")
            yield emptied, partial(put_value, listed.parent, listed.key, [])


def _whole_resource(plan: Plan) -> Iterator[tuple[Label, Change]]:
    unknown = Label(
        "unknown-property",
        "structure.unknown-property",
        f"{plan.type}.{UNKNOWN_PROPERTY}",
        "an unknown property",
    )
    yield unknown, partial(put_value, (), UNKNOWN_PROPERTY, "x")
    bad_type = Label("unknown-resource-type", "resource.type-unknown", NOT_A_TYPE, "an unknown resourceType")
    yield bad_type, partial(put_value, (), "resourceType", NOT_A_TYPE)


def variant_with(instance: dict[str, Any], label: Label, change: Change) -> Defect:
    variant = copy.deepcopy(instance)
    change(variant)
    return Defect(
        label.kind,
        label.message_id,
        label.location,
        label.description,
        variant,
        constraint=label.constraint,
        in_base=label.in_base,
    )


def _on_itself(entry: ElementRule) -> bool:
    """A slicing that discriminates on the item itself ($this): any change to the item may move it."""
    slicing = entry.slicing
    return slicing is not None and any(d.path.strip() in ("$this", "") for d in slicing.discriminators)


def eligible(site: Site) -> bool:
    return not site.discriminating and site.key not in SKIPPED_NAMES


def _settable_fixed(rule: ElementRule) -> bool:
    """An optional element with a fixed or pattern value, not a slice, of one type: it can be added wrong."""
    has_value = rule.fixed is not None or rule.pattern is not None
    return has_value and rule.max != 0 and not rule.slice_name and len(rule.types) == 1 and rule.name != "url"


def _base_allows(rule: ElementRule) -> bool:
    base = rule.raw.get("base")
    return isinstance(base, Mapping) and str(base.get("max", "0")) != "0"


def _extension_url(slice_rule: ElementRule) -> Any:
    url = next((p for t in slice_rule.types for p in t.profiles), None)
    if url:
        return url.split("|")[0]
    fixed = slice_rule.child("url")
    return fixed.fixed[1] if fixed is not None and fixed.fixed is not None else None


def _required_value_set(site: Site) -> str | None:
    binding = site.rule.binding
    if binding is None or binding.strength != "required" or not binding.value_set:
        return None
    if site.type_code not in CODED_TYPES or site.rule.fixed is not None or site.rule.pattern is not None:
        return None
    return binding.value_set


def _pop(parent: JsonPath, key: str, instance: dict[str, Any]) -> None:
    value_at(instance, parent).pop(key)


def put_value(parent: JsonPath, key: str, value: Any, instance: dict[str, Any]) -> None:
    value_at(instance, parent)[key] = copy.deepcopy(value)


def _append_copy(parent: JsonPath, key: str, index: int, instance: dict[str, Any]) -> None:
    items = value_at(instance, parent)[key]
    items.append(copy.deepcopy(items[index]))


def _unwrap(parent: JsonPath, key: str, instance: dict[str, Any]) -> None:
    holder = value_at(instance, parent)
    holder[key] = holder[key][0]


def _in_list(value: Any) -> list[Any]:
    return [value]


def _set_with(site: Site, compute: Callable[[Any], Any], instance: dict[str, Any]) -> None:
    set_value(site, compute(value_at(instance, site.path)), instance)


def set_value(site: Site, value: Any, instance: dict[str, Any]) -> None:
    parent = value_at(instance, site.parent)
    if site.index is None:
        parent[site.key] = value
    else:
        parent[site.key][site.index] = value


def _remove_items(first: Site, indexes: Sequence[int], instance: dict[str, Any]) -> None:
    parent = value_at(instance, first.parent)
    kept = [item for i, item in enumerate(parent[first.key]) if i not in indexes]
    if kept:
        parent[first.key] = kept
    else:
        del parent[first.key]


def other_value(type_code: str, current: Any) -> Any:
    """A valid value of the type that differs from `current`."""
    if type_code == "boolean":
        return not current
    other = _OTHER_VALUES.get(type_code)
    if other is not None and other != current:
        return other
    if type_code in ("uri", "url", "canonical"):
        return "http://example.org/generated-other"
    return "generated-other" if current != "generated-other" else "generated-different"


def off_pattern(pattern: Any, type_code: str) -> Any:
    """A value that does not match `pattern`: a primitive changed, or the codes of a coded pattern changed."""
    if not isinstance(pattern, Mapping):
        return other_value(type_code, pattern)
    changed = copy.deepcopy(dict(pattern))
    if isinstance(changed.get("coding"), list) and changed["coding"]:
        changed["coding"] = [{**c, "code": NOT_A_CODE} for c in changed["coding"] if isinstance(c, dict)]
        return changed
    if "code" in changed or "value" in changed:
        key = "code" if "code" in changed else "value"
        changed[key] = NOT_A_CODE
        return changed
    return None


def _outside_code(type_code: str, current: Any) -> Any:
    if type_code == "code":
        return NOT_A_CODE
    if type_code == "Coding":
        return {**current, "code": NOT_A_CODE} if isinstance(current, dict) else {"code": NOT_A_CODE}
    codings = current.get("coding") if isinstance(current, dict) else None
    system = (
        codings[0].get("system")
        if isinstance(codings, list) and codings and isinstance(codings[0], dict)
        else None
    )
    coding = {"system": system, "code": NOT_A_CODE} if system else {"code": NOT_A_CODE}
    return {"coding": [coding]}
