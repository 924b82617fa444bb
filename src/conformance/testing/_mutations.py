"""Single defects of every kind in a real instance, each saying whether the base definition holds the rule.

`_defects.DefectMaker` was built for generated instances; a real instance (a published example) also
carries extensions, narrative, references and datatypes whose rules it can break. This module adds those
defects: an unknown extension or modifier extension, an unknown property inside an element, a datatype
invariant broken (cpt-2, per-1, qty-3, att-1, rng-2, txt-1), a reference to a resource type the element
does not allow, and a slice's discriminating value changed so that its items no longer match it.

Every defect is placed where the StructureDefinitions say the rule applies, and whether the rule is the
base's as well is read from the instance walked a second time with its type's base definition: removing
an element the profile requires but the base does not is a defect under the profile only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from conformance.definitions.plan import Plan
from conformance.testing._defects import (
    NOT_A_CODE,
    UNKNOWN_PROPERTY,
    Change,
    Defect,
    DefectMaker,
    JsonPath,
    Label,
    Site,
    Walk,
    eligible,
    off_pattern,
    other_value,
    put_value,
    set_value,
    value_at,
    variant_with,
)
from conformance.testing._shapes import json_name, type_code

UNKNOWN_EXTENSION = "https://generated.invalid/fhir/StructureDefinition/unknown-extension"
OTHER_VALUE = "generated-other-value"
# Resource types to point a reference at, most unlikely target first; the definitions decide which is wrong.
WRONG_TARGETS = ("Basic", "Substance", "BodyStructure", "Group", "Device", "Organization", "Patient")
QUANTITIES = frozenset(
    {"Quantity", "Age", "Duration", "Count", "Distance", "MoneyQuantity", "SimpleQuantity"}
)
XHTML_SCRIPT = '<div xmlns="http://www.w3.org/1999/xhtml"><p>generated</p><script>alert(1)</script></div>'

FAMILIES: Mapping[str, str] = {
    "unknown-property": "structure",
    "unknown-nested-property": "structure",
    "unknown-resource-type": "structure",
    "wrong-json-type": "structure",
    "array-for-single": "structure",
    "single-for-array": "structure",
    "empty-array": "structure",
    "remove-required": "cardinality",
    "one-too-many": "cardinality",
    "prohibited": "cardinality",
    "bad-lexical": "primitive format",
    "code-not-in-value-set": "required binding",
    "change-fixed": "fixed/pattern",
    "change-pattern": "fixed/pattern",
    "added-off-fixed": "fixed/pattern",
    "added-off-pattern": "fixed/pattern",
    "datatype-invariant": "invariant",
    "missing-contained": "reference",
    "wrong-target-type": "reference",
    "empty-slice": "slicing",
    "overfull-slice": "slicing",
    "changed-discriminator": "slicing",
    "unknown-extension": "extension",
    "unknown-modifier-extension": "extension",
}
"""Each kind of defect, by the family of rules it breaks."""


def _without(item: dict[str, Any], name: str) -> dict[str, Any]:
    """The item without the element: its value and its extensions (`_system`), which also make it exist."""
    return {key: value for key, value in item.items() if key not in (name, "_" + name)}


def _contact_point(item: dict[str, Any]) -> dict[str, Any]:
    changed = _without(item, "system")
    changed.setdefault("value", "generated")
    return changed


def _period(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "start": "2021-01-02", "end": "2021-01-01"}


def _quantity(item: dict[str, Any]) -> dict[str, Any]:
    changed = _without(item, "system")
    changed.setdefault("code", "mg")
    return changed


def _attachment(item: dict[str, Any]) -> dict[str, Any]:
    changed = _without(item, "contentType")
    changed.setdefault("data", "AA==")
    return changed


def _range(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "low": {"value": 10}, "high": {"value": 1}}


def _narrative(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "div": XHTML_SCRIPT}


# Datatype invariants of FHIR R4 and STU3 (the same keys in both), with a change that breaks each.
DATATYPE_INVARIANTS: Mapping[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "ContactPoint": ("cpt-2", _contact_point),  # a system is required if a value is provided
    "Period": ("per-1", _period),  # start SHALL have a lower value than end
    **{code: ("qty-3", _quantity) for code in QUANTITIES},  # a unit code needs its system
    "Attachment": ("att-1", _attachment),  # data needs a contentType
    "Range": ("rng-2", _range),  # low SHALL be lower than high
    "Narrative": ("txt-1", _narrative),  # only the basic HTML formatting elements: no scripts
}


class Mutator:
    """Every single defect this package knows for a real instance of a profile (or of its base)."""

    def __init__(self, maker: DefectMaker) -> None:
        self.maker = maker
        self.shapes = maker.shapes

    def mutants(
        self, instance: dict[str, Any], plan: Plan, base: Plan | None, *, per_kind: int | None = None
    ) -> tuple[Defect, ...]:
        """The defects of `instance` under `plan`; `base` is its type's base definition (None: plan is).

        `per_kind` keeps at most that many defects of each kind, spread evenly over the candidates: a
        large instance has thousands, and each defect is a copy of the instance.
        """
        walk = self.maker.walk(instance, plan)
        if base is not None and base.url != plan.url:
            walk.base = self.maker.walk(instance, base)
        changes = [
            *self.maker.changes(walk, instance, plan),
            *self._unknown_inside(walk, instance),
            *_root_extensions(instance, plan),
            *self._datatype_invariants(walk, instance),
            *self._wrong_target_types(walk, instance),
            *self._changed_discriminators(walk),
            *_wrong_fixed_added(walk),
        ]
        # The profile claims are what validating without the profile takes out: no defect goes there.
        claims = f"{plan.type}.meta.profile"
        changes = [change for change in changes if not change[0].location.startswith(claims)]
        kept = changes if per_kind is None else spread(changes, per_kind)
        return tuple(variant_with(instance, label, change) for label, change in kept)

    # ---------------------------------------------------------------- structure and extensions

    def _complex_sites(self, walk: Walk, instance: dict[str, Any]) -> Iterator[Site]:
        for site in walk.sites:
            if (
                eligible(site)
                and site.type_code not in ("Extension", "Narrative", "xhtml")
                and site.type_code[:1].isupper()
                and not self.shapes.is_resource_type(site.type_code)
                and isinstance(value_at(instance, site.path), dict)
            ):
                yield site

    def _unknown_inside(self, walk: Walk, instance: dict[str, Any]) -> Iterator[tuple[Label, Change]]:
        """An unknown property and an unknown extension in the first complex element that can take them."""
        site = next(self._complex_sites(walk, instance), None)
        if site is None:
            return
        yield (
            Label(
                "unknown-nested-property",
                "structure.unknown-property",
                f"{site.location}.{UNKNOWN_PROPERTY}",
                f"an unknown property in {site.rule.id}",
            ),
            partial(put_value, site.path, UNKNOWN_PROPERTY, "x"),
        )
        extensions = value_at(instance, site.path).get("extension")
        index = len(extensions) if isinstance(extensions, list) else 0
        yield (
            Label(
                "unknown-extension",
                "extension.unknown-not-allowed",
                f"{site.location}.extension[{index}]",
                f"an extension with no definition in {site.rule.id}",
            ),
            partial(_append_extension, site.path, "extension"),
        )

    # ---------------------------------------------------------------- invariants

    def _datatype_invariants(self, walk: Walk, instance: dict[str, Any]) -> Iterator[tuple[Label, Change]]:
        """The first eligible element of each datatype with an invariant, changed to break it."""
        seen: set[str] = set()
        for site in walk.sites:
            known = DATATYPE_INVARIANTS.get(site.type_code)
            if known is None or site.type_code in seen or not eligible(site):
                continue
            if site.rule.fixed is not None or site.rule.pattern is not None:
                continue  # the fixed value would be broken first: a different defect
            if not isinstance(value_at(instance, site.path), dict):
                continue
            seen.add(site.type_code)
            key, breaking = known
            label = Label(
                "datatype-invariant",
                "invariant.failed",
                site.location,
                f"{site.type_code} {site.rule.id} against {key}",
                constraint=key,
            )
            yield label, partial(_set_changed, site, breaking)

    # ---------------------------------------------------------------- references

    def _allowed_targets(self, site: Site) -> set[str] | None:
        """The resource types a Reference element allows (None: any)."""
        allowed: set[str] = set()
        for type_ref in site.rule.types:
            if type_ref.code != "Reference":
                continue
            if not type_ref.target_profiles:
                return None
            for url in type_ref.target_profiles:
                found = self.shapes.resource_type_of(url)
                if found is None or found == "Resource":
                    return None
                allowed.add(found)
        return allowed or None

    def _wrong_target_types(self, walk: Walk, instance: dict[str, Any]) -> Iterator[tuple[Label, Change]]:
        """Each Reference element (first occurrence) pointed at a resource type its targets leave out."""
        seen: set[str] = set()
        for site in walk.sites:
            if site.type_code != "Reference" or site.rule.id in seen or not eligible(site):
                continue
            allowed = self._allowed_targets(site)
            if allowed is None or not isinstance(value_at(instance, site.path), dict):
                continue
            wrong = next((t for t in WRONG_TARGETS if t not in allowed), None)
            if wrong is None:
                continue
            seen.add(site.rule.id)
            base = walk.base_site(site)
            base_allowed = self._allowed_targets(base) if base is not None else None
            label = Label(
                "wrong-target-type",
                "reference.target-type",
                f"{site.location}.reference",
                f"{site.rule.id} refers to a {wrong}, not one of {sorted(allowed)}",
                in_base=base_allowed is not None and wrong not in base_allowed,
            )
            yield label, partial(_set_changed, site, partial(_refer_to, f"{wrong}/generated"))

    # ---------------------------------------------------------------- slices

    def _changed_discriminators(self, walk: Walk) -> Iterator[tuple[Label, Change]]:
        """A required slice's items given another discriminating value, so that none is left in it."""
        for first, slice_rule, matched in walk.slices:
            if slice_rule.min < 1 or not matched or first.discriminating or first.index is None:
                continue
            slicing = walk.slicings[(first.parent, first.key)].slicing
            steps = _value_path(slicing.discriminators if slicing is not None else ())
            if steps is None:
                continue
            label = Label(
                "changed-discriminator",
                "slice.min",
                first.location.rsplit("[", 1)[0],
                f"the items of slice {slice_rule.id} given another {'.'.join(steps)}",
                in_base=walk.base_has_slice(first, slice_rule),
            )
            items = tuple((*first.parent, first.key, index) for index in matched)
            yield label, partial(_change_all, items, steps)


def spread(changes: Sequence[tuple[Label, Change]], per_kind: int) -> list[tuple[Label, Change]]:
    """At most `per_kind` changes of each kind, spread evenly over its candidates (first and last kept)."""
    by_kind: dict[str, list[tuple[Label, Change]]] = {}
    for change in changes:
        by_kind.setdefault(change[0].kind, []).append(change)
    kept: list[tuple[Label, Change]] = []
    for found in by_kind.values():
        if len(found) <= per_kind:
            kept.extend(found)
        elif per_kind == 1:
            kept.append(found[0])
        else:
            step = (len(found) - 1) / (per_kind - 1)
            kept.extend(found[round(i * step)] for i in range(per_kind))
    return kept


def _wrong_fixed_added(walk: Walk) -> Iterator[tuple[Label, Change]]:
    """An optional element with a fixed or pattern value, added with another value."""
    for absent in walk.unset_fixed:
        rule = absent.rule
        type_ref = rule.types[0]
        code = type_code(rule, type_ref)
        if rule.fixed is not None:
            kind, message_id, value = "added-off-fixed", "fixed.mismatch", _off_fixed(rule.fixed[1], code)
        else:
            pattern = rule.pattern[1] if rule.pattern is not None else None
            kind, message_id, value = "added-off-pattern", "pattern.mismatch", off_pattern(pattern, code)
        if value is None:
            continue
        label = Label(
            kind, message_id, absent.location, f"added {rule.id} off its value", in_base=walk.base is None
        )
        item = [value] if rule.repeats else value
        yield label, partial(put_value, absent.parent, json_name(rule, type_ref), item)


def _off_fixed(fixed: Any, code: str) -> Any:
    return off_pattern(fixed, code) if isinstance(fixed, Mapping) else other_value(code, fixed)


def _root_extensions(instance: dict[str, Any], plan: Plan) -> Iterator[tuple[Label, Change]]:
    """An unknown extension and modifier extension on the resource, where its type has them at all."""
    for name, kind in (
        ("extension", "unknown-extension"),
        ("modifierExtension", "unknown-modifier-extension"),
    ):
        if plan.root.child(name) is None:
            continue  # Bundle, Binary, Parameters: a Resource, not a DomainResource
        present = instance.get(name)
        index = len(present) if isinstance(present, list) else 0
        label = Label(
            kind,
            "extension.unknown-not-allowed",
            f"{plan.type}.{name}[{index}]",
            f"a {name} with no definition",
        )
        yield label, partial(_append_extension, (), name)


def _value_path(discriminators: Sequence[Any]) -> tuple[str, ...] | None:
    """The child path of the first value or pattern discriminator that names plain elements."""
    for discriminator in discriminators:
        if discriminator.type not in ("value", "pattern"):
            continue
        steps = tuple(step for step in discriminator.path.split(".") if step and step != "$this")
        if steps and all(step.isidentifier() for step in steps):
            return steps
    return None


def _append_extension(parent: JsonPath, name: str, instance: dict[str, Any]) -> None:
    holder = value_at(instance, parent)
    present = holder.get(name)
    items = present if isinstance(present, list) else []
    holder[name] = [*items, {"url": UNKNOWN_EXTENSION, "valueString": "generated"}]


def _set_changed(
    site: Site, change: Callable[[dict[str, Any]], dict[str, Any]], instance: dict[str, Any]
) -> None:
    set_value(site, change(copy.deepcopy(value_at(instance, site.path))), instance)


def _refer_to(literal: str, item: dict[str, Any]) -> dict[str, Any]:
    changed = {key: value for key, value in item.items() if key not in ("type", "identifier")}
    changed["reference"] = literal
    return changed


def _change_all(items: Sequence[JsonPath], steps: Sequence[str], instance: dict[str, Any]) -> None:
    for path in items:
        _change_at(value_at(instance, path), steps)


def _change_at(node: Any, steps: Sequence[str]) -> None:
    """Every value at the child path `steps` below `node` replaced by one no discriminator expects."""
    if isinstance(node, list):
        for item in node:
            _change_at(item, steps)
        return
    if not isinstance(node, dict) or steps[0] not in node:
        return
    if len(steps) > 1:
        _change_at(node[steps[0]], steps[1:])
        return
    node[steps[0]] = _other_than(node[steps[0]])


def _other_than(value: Any) -> Any:
    if isinstance(value, list):
        return [_other_than(item) for item in value]
    if isinstance(value, dict):
        changed = off_pattern(value, "CodeableConcept")
        return changed if changed is not None else {**value, "code": NOT_A_CODE}
    if isinstance(value, bool):
        return not value
    if isinstance(value, str) and "://" in value:
        return "https://generated.invalid/" + OTHER_VALUE
    return OTHER_VALUE
