"""Build instances of a profile from its compiled Plan, one hypothesis draw at a time.

Required elements are always there; optional ones come with odds of one in `optional_odds` (and not
below `max_depth`), so hypothesis shrinks an instance towards the required elements alone. Fixed and
pattern values are copied, slices get the items their minimum asks for (built from the slice's own
rules, so they meet its discriminator), required bindings take codes of their value set, and common
datatypes come from templates that meet their invariants (a Period ends after it starts, a Quantity
with a code has a system). What construction cannot promise (a resource's own invariants) is repaired
with the validator's help (`Builder.repair`: one optional element near the failure dropped or added, or
a required one drawn again) or left to strategies.resources, which draws again.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from conformance.definitions.plan import ElementRule, Plan, TypeRef
from conformance.outcome import Issue, Outcome
from conformance.reports.runner import location_path
from conformance.terminology import Concept, LocalTerminology
from conformance.testing import _values as values
from conformance.testing._shapes import (
    EXTENSION_NAMES,
    Children,
    Shapes,
    discriminator_paths,
    forced_below,
    is_forced,
    json_name,
    type_code,
)

Draw = Callable[[st.SearchStrategy[Any]], Any]
Forced = tuple[tuple[str, ...], ...]

CODED_TYPES = frozenset({"code", "Coding", "CodeableConcept"})
BOUND_STRENGTHS = frozenset({"required", "extensible"})
UCUM = "http://unitsofmeasure.org"
# Never generated unless a profile requires them: they need content of their own (narrative, contained
# resources, extensions with definitions) or change how the resource is read (implicitRules).
ROOT_SKIPPED = frozenset({"text", "contained", "implicitRules", "language", "meta"})
REPAIR_ROUNDS = 4


@dataclass(frozen=True)
class Options:
    max_depth: int = 3
    """Complex elements below this depth get their required content only."""
    optional_odds: int = 3
    """An optional element is included one time in this many (one more per level down); 0: never."""
    declare_profile: bool = True
    """Put the profile in `meta.profile`, as a system claiming conformance would."""


class Codes:
    """Codes a binding accepts, from the local terminology (listed expansions, or the systems it includes)."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.terminology = LocalTerminology(context, context.fhir_version)
        self._cache: dict[str, tuple[Concept, ...]] = {}

    def concepts(self, value_set: str) -> tuple[Concept, ...]:
        found = self._cache.get(value_set)
        if found is None:
            found = self._cache[value_set] = self._find(value_set)
        return found

    def _find(self, value_set: str) -> tuple[Concept, ...]:
        expansion = self.terminology.expand(value_set)
        listed = values.usable(expansion.contains) if expansion is not None else ()
        if listed:
            return listed
        return self._samples(value_set)

    def _samples(self, value_set: str) -> tuple[Concept, ...]:
        """For value sets nothing local can list: a well-formed code of a system they include whole."""
        resource = self.context.resolve(value_set)
        compose = resource.get("compose") if isinstance(resource, Mapping) else None
        includes = compose.get("include", ()) if isinstance(compose, Mapping) else ()
        found: list[Concept] = []
        for include in includes if isinstance(includes, list) else ():
            system = include.get("system") if isinstance(include, Mapping) else None
            concepts = include.get("concept") if isinstance(include, Mapping) else None
            if isinstance(system, str) and isinstance(concepts, list):
                found.extend(
                    Concept(system, str(c["code"]))
                    for c in concepts
                    if isinstance(c, Mapping) and "code" in c
                )
            elif isinstance(system, str) and system in values.SYSTEM_SAMPLES:
                found.append(Concept(system, values.SYSTEM_SAMPLES[system]))
        return tuple(found)


@functools.cache
def _one_in(odds: int) -> st.SearchStrategy[bool]:
    """True one time in `odds`, drawn evenly (integers lean to their bounds) and shrinking to False."""
    return st.sampled_from((False,) * (min(odds, 64) - 1) + (True,))


def _bound_value_set(rule: ElementRule) -> str | None:
    binding = rule.binding
    if binding is None or binding.strength not in BOUND_STRENGTHS or not binding.value_set:
        return None
    return binding.value_set


def _has_fixed_children(rule: ElementRule) -> bool:
    pending = list(rule.children)
    while pending:
        child = pending.pop()
        if child.fixed is not None or child.pattern is not None:
            return True
        pending.extend(child.children)
    return False


@dataclass(frozen=True)
class Spot:
    """Where in the instance a value is built: the plan its rules come from, how deep, what is forced."""

    plan: Plan
    depth: int
    forced: Forced
    nodes: dict[int, tuple[Children, Spot]]
    """Every object built so far in this instance (by id), with the rules of its children: for repairs."""

    def deeper(self, plan: Plan, forced: Forced) -> Spot:
        return Spot(plan, self.depth + 1, forced, self.nodes)

    def forcing(self, forced: Forced) -> Spot:
        return Spot(self.plan, self.depth, forced, self.nodes)


@dataclass(frozen=True)
class Built:
    instance: dict[str, Any]
    nodes: dict[int, tuple[Children, Spot]]


class Builder:
    """Draws instances of profiles; one per (validator, options), reused for every example."""

    def __init__(self, shapes: Shapes, codes: Codes, options: Options) -> None:
        self.shapes = shapes
        self.codes = codes
        self.options = options

    # ---------------------------------------------------------------- resources

    def resource(self, draw: Draw, plan: Plan) -> Built:
        nodes: dict[int, tuple[Children, Spot]] = {}
        instance = self._resource(draw, plan, Spot(plan, 0, (), nodes))
        if self.options.declare_profile:
            instance["meta"] = {"profile": [plan.url]}
        return Built(instance, nodes)

    def _resource(self, draw: Draw, plan: Plan, spot: Spot) -> dict[str, Any]:
        children = Children(tuple(plan.root.children), plan)
        instance: dict[str, Any] = {"resourceType": plan.type}
        instance.update(self._object(draw, children, spot, root=True))
        if plan.type == "Bundle":
            _identify_entries(instance)
        spot.nodes[id(instance)] = (children, spot)
        return instance

    def _contained_resource(self, draw: Draw, type_ref: TypeRef | None, spot: Spot) -> dict[str, Any]:
        """A resource inside another (a Bundle entry, say): of the type the element names, else a Basic."""
        plan = self.shapes.type_plan(type_ref) if type_ref is not None else None
        if plan is None or plan.kind != "resource" or plan.type in ("Resource", "DomainResource"):
            return {"resourceType": "Basic", "code": {"text": "generated"}}
        return self._resource(draw, plan, Spot(plan, spot.depth + 1, (), spot.nodes))

    def _object(self, draw: Draw, children: Children, spot: Spot, *, root: bool = False) -> dict[str, Any]:
        built: dict[str, Any] = {}
        for rule in children.rules:
            if self._skipped(rule, spot.forced, root=root):
                continue
            self._put(built, rule, self._occurrences(draw, rule, spot))
        spot.nodes[id(built)] = (children, spot)
        return built

    @staticmethod
    def _put(target: dict[str, Any], rule: ElementRule, occurrences: list[tuple[str, Any]]) -> None:
        if occurrences:
            items = [value for _, value in occurrences]
            target[occurrences[0][0]] = items if rule.repeats else items[0]

    def _skipped(self, rule: ElementRule, forced: Forced, *, root: bool) -> bool:
        if rule.max == 0 or is_forced(forced, rule.name):
            return rule.max == 0
        if rule.name in EXTENSION_NAMES:
            return not rule.slices
        if rule.name == "id":
            return not root
        return root and rule.name in ROOT_SKIPPED and rule.min == 0

    def _include(self, draw: Draw, depth: int) -> bool:
        if depth >= self.options.max_depth or self.options.optional_odds < 1:
            return False
        return bool(draw(_one_in(self.options.optional_odds + depth)))

    def _count(self, draw: Draw, rule: ElementRule, spot: Spot) -> int:
        required = max(rule.min, 1 if is_forced(spot.forced, rule.name) else 0)
        if required or not self._include(draw, spot.depth):
            return required
        room = 1 if rule.max is None else max(rule.max - 1, 0)
        extra = draw(st.integers(0, min(room, 1))) if rule.repeats else 0
        return 1 + int(extra)

    def _occurrences(self, draw: Draw, rule: ElementRule, spot: Spot) -> list[tuple[str, Any]]:
        if rule.slices:
            return self._sliced(draw, rule, spot)
        inner = spot.forcing(forced_below(spot.forced, rule.name))
        found: list[tuple[str, Any]] = []
        for _ in range(self._count(draw, rule, spot)):
            item = self._one(draw, rule, inner, chosen=found[0][0] if found else None)
            if item is not None:
                found.append(item)
        return found

    def _sliced(self, draw: Draw, entry: ElementRule, spot: Spot) -> list[tuple[str, Any]]:
        """Items for each slice (its minimum, sometimes one more), then unsliced ones up to the minimum."""
        in_slice = spot.forcing(discriminator_paths(entry))
        found: list[tuple[str, Any]] = []
        for slice_rule in entry.slices:
            count = slice_rule.min
            if (slice_rule.max is None or slice_rule.max > count) and self._include(draw, spot.depth):
                count += 1
            for _ in range(count):
                item = self._one(draw, slice_rule, in_slice)
                if item is not None:
                    found.append(item)
        closed = entry.slicing is not None and entry.slicing.rules == "closed"
        unsliced = spot.forcing(forced_below(spot.forced, entry.name))
        while len(found) < entry.min and not closed and entry.name not in EXTENSION_NAMES:
            item = self._one(draw, entry, unsliced)
            if item is None:
                break
            found.append(item)
        return found

    # ---------------------------------------------------------------- one value

    def _one(
        self, draw: Draw, rule: ElementRule, spot: Spot, *, chosen: str | None = None
    ) -> tuple[str, Any] | None:
        types = [t for t in rule.types if chosen is None or json_name(rule, t) == chosen]
        type_ref = draw(st.sampled_from(types)) if types else None
        value = self._value(draw, rule, type_ref, spot)
        return None if value is None else (json_name(rule, type_ref), value)

    def _value(self, draw: Draw, rule: ElementRule, type_ref: TypeRef | None, spot: Spot) -> Any:
        if rule.fixed is not None:
            return copy.deepcopy(rule.fixed[1])
        code = type_code(rule, type_ref)
        coded = self._coded(draw, rule, code)
        if coded is not None:
            return coded
        if type_ref is not None and type_ref.is_primitive:
            return (
                copy.deepcopy(rule.pattern[1])
                if rule.pattern is not None
                else draw(values.primitive(code, rule))
            )
        if self.shapes.is_resource_type(code):
            return self._contained_resource(draw, type_ref, spot)
        if rule.pattern is None and not rule.children and not spot.forced:
            template = self._template(draw, code, type_ref)
            if template is not None:
                return template
        children = self.shapes.children(rule, type_ref, spot.plan)
        built = self._object(draw, children, spot.deeper(children.plan, spot.forced))
        if code == "Extension":
            self._value_or_extensions(draw, built, children, spot.deeper(children.plan, ()))
        if rule.pattern is not None:
            built = _overlay(built, rule.pattern[1])
            spot.nodes[id(built)] = (children, spot.deeper(children.plan, spot.forced))
        return self._finish(draw, code, type_ref, built, rule)

    def _finish(
        self, draw: Draw, code: str, type_ref: TypeRef | None, built: dict[str, Any], rule: ElementRule
    ) -> Any:
        """Fix up what generic generation leaves open: identifier values, reference targets, emptiness."""
        fix = _FIXES.get(code)
        if fix is not None:
            fix(self, draw, built, type_ref)
        if built:
            return built
        if rule.min == 0:
            return None
        template = self._template(draw, code, type_ref)
        return template if template is not None else {"extension": [_placeholder_extension()]}

    def _fix_identifier(self, draw: Draw, built: dict[str, Any], _: TypeRef | None) -> None:
        if isinstance(built.get("system"), str):
            built["value"] = draw(values.identifier_value(built["system"]))

    def _fix_reference(self, draw: Draw, built: dict[str, Any], type_ref: TypeRef | None) -> None:
        built.update(self._reference(draw, type_ref, with_display=False))
        if "type" in built:
            built["type"] = built["reference"].split("/", 1)[0]

    def _fix_contact_point(self, draw: Draw, built: dict[str, Any], _: TypeRef | None) -> None:
        if "value" in built and "system" not in built:
            built["system"] = "other"  # cpt-2: a value needs a system

    def _value_or_extensions(self, draw: Draw, built: dict[str, Any], children: Children, spot: Spot) -> None:
        """ext-1: an extension has a value or sub-extensions, not both and not neither."""
        value_rule = next((r for r in children.rules if r.name == "value[x]" and r.max != 0), None)
        nested = next((r for r in children.rules if r.name == "extension" and r.max != 0), None)
        value_keys = [key for key in built if key.startswith("value")]
        if value_keys and "extension" in built:
            dropped = value_keys[0] if value_rule is None or value_rule.min == 0 else "extension"
            del built[dropped]
        elif not value_keys and "extension" not in built:
            if value_rule is not None:
                self._put(
                    built,
                    value_rule,
                    self._occurrences(draw, value_rule, spot.forcing((("value[x]",),))),
                )
            elif nested is not None and nested.slices:
                item = self._one(draw, nested.slices[0], spot.forcing(discriminator_paths(nested)))
                if item is not None:
                    built["extension"] = [item[1]]

    # ---------------------------------------------------------------- repairs

    def repair(
        self, draw: Draw, built: Built, validate: Callable[[dict[str, Any]], Outcome]
    ) -> dict[str, Any] | None:
        """Greedy fixes for failed invariants: drop or add one optional element at a time near the failure."""
        instance = built.instance
        errors = validate(instance).errors
        for _ in range(REPAIR_ROUNDS):
            if not errors:
                return instance
            if any(issue.message_id != "invariant.failed" for issue in errors):
                return None
            improved = self._improve(draw, built, errors, validate)
            if improved is None:
                return None
            errors = improved
        return None if errors else instance

    def _improve(
        self,
        draw: Draw,
        built: Built,
        errors: Sequence[Issue],
        validate: Callable[[dict[str, Any]], Outcome],
    ) -> tuple[Issue, ...] | None:
        for issue in errors:
            node = _node_at(built.instance, location_path(issue.location))
            found = built.nodes.get(id(node)) if node is not None else None
            if node is None or found is None:
                continue
            for change in self._changes(draw, node, *found):
                undo = change()
                after = validate(built.instance).errors
                if len(after) < len(errors):
                    return after
                undo()
        return None

    def _changes(
        self, draw: Draw, node: dict[str, Any], children: Children, spot: Spot
    ) -> list[Callable[[], Callable[[], None]]]:
        """Drop an optional element, add an absent one, or draw a required one afresh."""
        changes: list[Callable[[], Callable[[], None]]] = []
        for rule in children.rules:
            if rule.max == 0 or is_forced(spot.forced, rule.name) or rule.slices:
                continue
            present = next((name for name, _ in rule.json_names() if name in node), None)
            if present is not None and rule.min == 0:
                changes.append(_removal(node, present))
            elif present is not None:
                changes.append(self._replacement(draw, node, rule, spot, present=present))
            elif not self._skipped(rule, spot.forced, root=spot.depth == 0):
                changes.append(self._replacement(draw, node, rule, spot, present=None))
        return changes

    def _replacement(
        self, draw: Draw, node: dict[str, Any], rule: ElementRule, spot: Spot, *, present: str | None
    ) -> Callable[[], Callable[[], None]]:
        def replace() -> Callable[[], None]:
            before = node.pop(present) if present is not None else None
            occurrences = self._occurrences(draw, rule, spot.forcing(((rule.name,),)))
            added = occurrences[0][0] if occurrences else None
            self._put(node, rule, occurrences)

            def undo() -> None:
                if added is not None:
                    node.pop(added, None)
                if present is not None:
                    node[present] = before

            return undo

        return replace

    # ---------------------------------------------------------------- codes and templates

    def _coded(self, draw: Draw, rule: ElementRule, code: str) -> Any:
        value_set = _bound_value_set(rule)
        if (
            code not in CODED_TYPES
            or value_set is None
            or rule.pattern is not None
            or _has_fixed_children(rule)
        ):
            return None
        concepts = self.codes.concepts(value_set)
        if not concepts:
            return None
        concept: Concept = draw(st.sampled_from(concepts))
        if code == "code":
            return concept.code
        coding = values.coding_of(concept)
        return coding if code == "Coding" else {"coding": [coding]}

    def _reference(
        self, draw: Draw, type_ref: TypeRef | None, *, with_display: bool = True
    ) -> dict[str, Any]:
        targets = [
            self.shapes.resource_type_of(url) for url in (type_ref.target_profiles if type_ref else ())
        ]
        kinds = sorted({kind for kind in targets if kind and kind not in ("Resource", "DomainResource")})
        kind = draw(st.sampled_from(kinds)) if kinds else "Patient"
        identity = draw(values.primitive("id"))
        reference: dict[str, Any] = {"reference": f"{kind}/{identity}"}
        if with_display and draw(st.booleans()):
            reference["display"] = draw(values.text())
        return reference

    def _template(self, draw: Draw, code: str, type_ref: TypeRef | None) -> Any:
        if code == "Reference":
            return self._reference(draw, type_ref)
        maker = _TEMPLATES.get(code)
        return maker(draw) if maker is not None else None


Fix = Callable[[Builder, Draw, dict[str, Any], TypeRef | None], None]

_FIXES: Mapping[str, Fix] = {
    "Identifier": Builder._fix_identifier,
    "Reference": Builder._fix_reference,
    "ContactPoint": Builder._fix_contact_point,
}


def _identify_entries(bundle: dict[str, Any]) -> None:
    """Bundle entries need a fullUrl (outside transactions); a urn:uuid names nothing else."""
    for index, entry in enumerate(bundle.get("entry", ())):
        if isinstance(entry, dict) and "resource" in entry:
            entry["fullUrl"] = f"urn:uuid:{uuid.UUID(int=index + 1)}"


def _node_at(instance: dict[str, Any], path: Sequence[str | int]) -> dict[str, Any] | None:
    """The object at a JSON path, or at the nearest ancestor that is an object."""
    node: Any = instance
    found: dict[str, Any] | None = instance
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict):
            found = node
    return found


def _removal(node: dict[str, Any], key: str) -> Callable[[], Callable[[], None]]:
    def remove() -> Callable[[], None]:
        value = node.pop(key)
        return lambda: node.__setitem__(key, value)

    return remove


# ---------------------------------------------------------------- datatype templates


def _placeholder_extension() -> dict[str, Any]:
    # example.org extensions are placeholders by convention: allowed anywhere and never resolved.
    return {"url": "http://example.org/fhir/StructureDefinition/generated", "valueString": "generated"}


def _overlay(built: dict[str, Any], pattern: Any) -> Any:
    if not isinstance(pattern, Mapping):
        return copy.deepcopy(pattern)
    merged = dict(built)
    merged.update(copy.deepcopy(dict(pattern)))
    return merged


def _quantity(draw: Draw, unit: str = "mg", code: str | None = None) -> dict[str, Any]:
    return {"value": draw(values.primitive("decimal")), "unit": unit, "system": UCUM, "code": code or unit}


def _period(draw: Draw) -> dict[str, Any]:
    start = draw(values.dates())
    if not draw(st.booleans()):
        return {"start": start.isoformat()}
    end = start + timedelta(days=draw(st.integers(0, 400)))
    return {"start": start.isoformat(), "end": end.isoformat()}


def _range(draw: Draw) -> dict[str, Any]:
    low = draw(st.integers(0, 100))
    high = low + draw(st.integers(0, 100))
    return {
        "low": {"value": low, "unit": "mg", "system": UCUM, "code": "mg"},
        "high": {"value": high, "unit": "mg", "system": UCUM, "code": "mg"},
    }


def _coding(draw: Draw) -> dict[str, Any]:
    return {"system": "http://example.org/fhir/CodeSystem/generated", "code": draw(values.primitive("code"))}


def _codeable_concept(draw: Draw) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"coding": [_coding(draw)]}
    return {"text": draw(values.text())}


def _identifier(draw: Draw) -> dict[str, Any]:
    return {"system": "http://example.org/fhir/identifiers", "value": draw(values.primitive("code"))}


def _contact_point(draw: Draw) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"system": "phone", "value": f"0113 496 {draw(st.integers(0, 9999)):04d}"}
    return {"system": "email", "value": f"{draw(values.primitive('code'))}@example.org"}


_TEMPLATES: Mapping[str, Callable[[Draw], Any]] = {
    "Quantity": _quantity,
    "SimpleQuantity": _quantity,
    "MoneyQuantity": lambda draw: {"value": draw(values.primitive("decimal")), "currency": "GBP"},
    "Money": lambda draw: {"value": draw(values.primitive("decimal")), "currency": "GBP"},
    "Age": lambda draw: _quantity(draw, "years", "a"),
    "Duration": lambda draw: _quantity(draw, "days", "d"),
    "Distance": lambda draw: _quantity(draw, "m"),
    "Count": lambda draw: {"value": draw(st.integers(0, 100)), "system": UCUM, "code": "1"},
    "Period": _period,
    "Range": _range,
    "Ratio": lambda draw: {"numerator": _quantity(draw), "denominator": _quantity(draw)},
    "Coding": _coding,
    "CodeableConcept": _codeable_concept,
    "Identifier": _identifier,
    "ContactPoint": _contact_point,
    "Attachment": lambda draw: {"contentType": "text/plain", "data": draw(values.primitive("base64Binary"))},
    "Annotation": lambda draw: {"text": draw(values.text())},
    "Timing": lambda draw: {"event": [draw(values.date_time_text())]},
    "HumanName": lambda draw: {"family": draw(values.text()), "given": [draw(values.text())]},
    "Address": lambda draw: {
        "line": [draw(values.text())],
        "city": draw(values.text()),
        "postalCode": "LS1 4AP",
    },
    "Narrative": lambda draw: {"status": "generated", "div": values.XHTML},
    "Dosage": lambda draw: {"text": draw(values.text())},
    "Meta": lambda draw: {"versionId": draw(values.primitive("id"))},
    "SampledData": lambda draw: {"origin": {"value": 0}, "period": 1, "dimensions": 1},
}
