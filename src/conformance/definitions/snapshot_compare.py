"""Compare two snapshots element by element, on the properties that decide validation.

Used to check generated snapshots against published ones. Compared, per element:
id and path (normalised, see below), min, max, types (code, profiles, target
profiles), fixed and pattern values, binding (strength and ValueSet), constraint
keys and slicing (discriminators, rules, ordered). Documentation (short,
definition, mappings...) is not compared.

Publishers spell a choice element constrained to one type in three ways:
`Observation.value[x]` with one type (this project, SUSHI, the HL7 tools for
nested elements), the type slice `Observation.value[x]:valueQuantity` next to a
narrowed `value[x]` (the HL7 tools of FHIR 4.0.1 at the top level), and the
renamed path `Observation.valueQuantity` (STU3; Forge adds the id
`Observation.valueQuantity:valueQuantity`). Element keys are built from paths,
slice names and order, never from the published ids, so Forge's mixed ids do not
matter; a renamed path becomes `value[x]`, and a type slice that is the only one
of a choice element narrowed to that one type folds into the choice element
(cardinality: the tighter of the two; the other properties: the slice's where it
has them). Type slices of a choice element that keeps several types are kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from conformance.definitions.elements import (
    binding_value_set,
    choice_stem,
    constraint_keys,
    is_choice,
    max_value,
    path_steps,
    type_codes,
    type_profiles,
    type_target_profiles,
    types_of,
    value_keys,
)

Key = tuple[tuple[str, str | None], ...]

PROPERTIES = ("min", "max", "types", "fixed", "pattern", "binding", "constraints", "slicing")


@dataclass(frozen=True)
class Comparable:
    """The compared properties of one element, in a form where equal means equivalent."""

    min: int | None
    max: str | None
    types: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    fixed: str | None
    pattern: str | None
    binding: tuple[str | None, str | None] | None
    constraints: tuple[str, ...]
    slicing: str | None


@dataclass(frozen=True)
class Difference:
    element: str
    property: str
    expected: str
    actual: str


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one StructureDefinition's snapshots."""

    url: str
    compared: int
    identical: int
    differences: tuple[Difference, ...] = field(default=())

    @property
    def same(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        return f"{self.url}: {self.identical}/{self.compared} elements identical"


@dataclass(frozen=True)
class Tally:
    """Figures over many comparisons."""

    profiles: int
    identical_profiles: int
    elements: int
    identical_elements: int

    @property
    def profile_rate(self) -> float:
        return self.identical_profiles / self.profiles if self.profiles else 1.0

    @property
    def element_rate(self) -> float:
        return self.identical_elements / self.elements if self.elements else 1.0

    def describe(self) -> str:
        return (
            f"{self.identical_profiles}/{self.profiles} profiles identical ({self.profile_rate:.2%}), "
            f"{self.identical_elements}/{self.elements} elements identical ({self.element_rate:.2%})"
        )


def tally(comparisons: Iterable[Comparison]) -> Tally:
    items = list(comparisons)
    return Tally(
        profiles=len(items),
        identical_profiles=sum(1 for c in items if c.same),
        elements=sum(c.compared for c in items),
        identical_elements=sum(c.identical for c in items),
    )


class TypeKnowledge(Protocol):
    """What the comparison may know about datatypes, to see past two harmless conventions.

    - Expansion depth: some publishers (Forge) list the children of every complex element, others only
      those a profile constrains. Where one side lists children the other leaves folded, the folded side
      is unfolded from the element's type (`unfolded`) before comparing.
    - Type-level constraints: Forge repeats on each element the invariants of its type (`ele-1`,
      `ext-1`, `ref-1`...), the HL7 tools do not. Keys that the element's type declares on its own root
      (`root_constraint_keys`) are left out of the comparison: they hold for every value of the type
      either way.
    """

    def unfolded(self, element: Mapping[str, Any]) -> Sequence[Mapping[str, Any]] | None:
        """The snapshot elements (root first) that define the children of `element`, or None."""

    def root_constraint_keys(self, type_code: str) -> frozenset[str]:
        """The constraint keys on the root element of a type's definition."""


def compare_snapshots(
    expected: Sequence[Mapping[str, Any]],
    actual: Sequence[Mapping[str, Any]],
    url: str = "",
    knowledge: TypeKnowledge | None = None,
) -> Comparison:
    """Compare two snapshot element lists (expected first: the published one).

    Without `knowledge` the comparison is raw (only the choice-type spelling is normalised).
    """
    want_groups = _group(expected)
    have_groups = _group(actual)
    if knowledge is not None:
        _expand_like(want_groups, have_groups, knowledge)
        _expand_like(have_groups, want_groups, knowledge)
    ignored = _type_level_keys(want_groups, have_groups, knowledge)
    want = _comparables(want_groups, ignored)
    have = _comparables(have_groups, ignored)
    differences: list[Difference] = []
    identical = 0
    keys = list(dict.fromkeys([*want, *have]))
    for key in keys:
        found = _differences(render_key(key), want.get(key), have.get(key))
        differences.extend(found)
        identical += not found
    return Comparison(url=url, compared=len(keys), identical=identical, differences=tuple(differences))


def render_key(key: Key) -> str:
    return ".".join(name if slice_name is None else f"{name}:{slice_name}" for name, slice_name in key)


def _differences(label: str, want: Comparable | None, have: Comparable | None) -> list[Difference]:
    if want is None:
        return [Difference(label, "element", "absent", "present")]
    if have is None:
        return [Difference(label, "element", "present", "absent")]
    return [
        Difference(label, name, repr(getattr(want, name)), repr(getattr(have, name)))
        for name in PROPERTIES
        if getattr(want, name) != getattr(have, name)
    ]


# --- normalisation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Keyed:
    key: Key
    element: Mapping[str, Any]
    type_slice: bool


def normalise(
    elements: Sequence[Mapping[str, Any]], knowledge: TypeKnowledge | None = None
) -> dict[Key, Comparable]:
    """Key every element structurally, fold single type slices, and extract the compared properties."""
    groups = _group(elements)
    return _comparables(groups, _type_level_keys(groups, {}, knowledge))


Groups = dict[Key, list[Mapping[str, Any]]]


def _group(elements: Sequence[Mapping[str, Any]]) -> Groups:
    return _fold_type_slices(_structural_keys(elements))


def _comparables(groups: Groups, ignored: frozenset[str]) -> dict[Key, Comparable]:
    return {key: _combine([_comparable(p, ignored) for p in parts]) for key, parts in groups.items()}


def _type_level_keys(first: Groups, second: Groups, knowledge: TypeKnowledge | None) -> frozenset[str]:
    """Invariant keys declared on the root of a datatype (or type profile) that either snapshot uses.

    They hold for every value of that type wherever it appears, so whether a snapshot repeats them on
    an element (Forge does, sometimes even after narrowing the element to another type) says nothing.
    """
    if knowledge is None:
        return frozenset()
    names: set[str] = set()
    for groups in (first, second):
        for parts in groups.values():
            for element in parts:
                for type_ref in types_of(element):
                    names.update(type_profiles(type_ref))
                    names.add(str(type_ref.get("code")))
    keys: set[str] = set()
    for name in sorted(names):
        keys |= knowledge.root_constraint_keys(name)
    return frozenset(keys)


_MAX_UNFOLD_ROUNDS = 12


def _expand_like(reference: Groups, target: Groups, knowledge: TypeKnowledge) -> None:
    """Unfold, in `target`, the elements whose children `reference` lists and `target` does not."""
    for _ in range(_MAX_UNFOLD_ROUNDS):
        parents = {key[:-1] for key in target if len(key) > 1}
        folded = {key[:-1] for key in reference if key not in target and len(key) > 1}
        to_unfold = [key for key in folded if key in target and key not in parents]
        if not to_unfold:
            return
        for key in to_unfold:
            _unfold_into(target, key, knowledge)


def _unfold_into(target: Groups, key: Key, knowledge: TypeKnowledge) -> None:
    definition = knowledge.unfolded(target[key][-1])
    if not definition:
        return
    for item in _fold_type_slices(_structural_keys(definition)).items():
        relative, parts = item
        if len(relative) > 1:
            target.setdefault((*key, *relative[1:]), list(parts))


def _structural_keys(elements: Sequence[Mapping[str, Any]]) -> list[_Keyed]:
    stack: list[tuple[str, Key]] = []
    keyed: list[_Keyed] = []
    for element in elements:
        path = str(element.get("path", ""))
        while stack and not path.startswith(stack[-1][0] + "."):
            stack.pop()
        parent: Key = stack[-1][1] if stack else ()
        name, renamed_to = _normal_name(element)
        slice_name = element.get("sliceName")
        if renamed_to is not None and slice_name in (None, renamed_to):
            slice_name = renamed_to
        type_slice = is_choice(name) and isinstance(slice_name, str) and _is_type_slice(name, slice_name)
        key = (*parent, (name, slice_name if isinstance(slice_name, str) else None))
        stack.append((path, key))
        keyed.append(_Keyed(key, element, type_slice))
    return keyed


def _normal_name(element: Mapping[str, Any]) -> tuple[str, str | None]:
    """The element's last name, with a renamed choice (`valueQuantity`) mapped back to `value[x]`."""
    name = path_steps(str(element.get("path", "")))[-1]
    base = element.get("base")
    base_path = base.get("path") if isinstance(base, Mapping) else None
    base_name = path_steps(base_path)[-1] if isinstance(base_path, str) else name
    if is_choice(base_name) and not is_choice(name) and name.startswith(choice_stem(base_name)):
        return base_name, name
    return name, None


def _is_type_slice(choice_name: str, slice_name: str) -> bool:
    stem = choice_stem(choice_name)
    return slice_name.startswith(stem) and slice_name[len(stem) : len(stem) + 1].isupper()


def _fold_type_slices(keyed: list[_Keyed]) -> dict[Key, list[Mapping[str, Any]]]:
    slices_of: dict[Key, list[Key]] = {}
    types_at: dict[Key, int] = {}
    for item in keyed:
        if item.type_slice:
            owner = (*item.key[:-1], (item.key[-1][0], None))
            slices_of.setdefault(owner, []).append(item.key)
        types_at[item.key] = len(type_codes(item.element))
    renames: dict[Key, Key] = {}
    for owner, slices in slices_of.items():
        if len(set(slices)) == 1 and types_at.get(owner, 1) <= 1:
            renames[slices[0]] = owner
    folded: dict[Key, list[Mapping[str, Any]]] = {}
    for item in keyed:
        folded.setdefault(_renamed(item.key, renames), []).append(item.element)
    return folded


def _renamed(key: Key, renames: Mapping[Key, Key]) -> Key:
    for length in range(len(key), 0, -1):
        target = renames.get(key[:length])
        if target is not None:
            return (*target, *key[length:])
    return key


def _comparable(element: Mapping[str, Any], ignored: frozenset[str] = frozenset()) -> Comparable:
    keys = set(constraint_keys(element)) - ignored
    return Comparable(
        min=element.get("min") if isinstance(element.get("min"), int) else None,
        max=element.get("max") if isinstance(element.get("max"), str) else None,
        types=tuple(sorted(_type_tuple(t) for t in types_of(element))),
        fixed=_value_text(element, "fixed"),
        pattern=_value_text(element, "pattern"),
        binding=_binding(element),
        constraints=tuple(sorted(keys)),
        slicing=_slicing_text(element),
    )


def _type_tuple(type_ref: Mapping[str, Any]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    return (
        str(type_ref.get("code")),
        tuple(sorted(type_profiles(type_ref))),
        tuple(sorted(type_target_profiles(type_ref))),
    )


def _value_text(element: Mapping[str, Any], prefix: str) -> str | None:
    keys = value_keys(element, prefix)
    if not keys:
        return None
    return json.dumps({key: element[key] for key in sorted(keys)}, sort_keys=True)


def _binding(element: Mapping[str, Any]) -> tuple[str | None, str | None] | None:
    binding = element.get("binding")
    if not isinstance(binding, Mapping):
        return None
    strength = binding.get("strength")
    return (strength if isinstance(strength, str) else None, binding_value_set(binding))


_DEFAULT_EXTENSION_SLICING = json.dumps(
    {"discriminator": [["value", "url"]], "ordered": False, "rules": "open"}
)


def _slicing_text(element: Mapping[str, Any]) -> str | None:
    slicing = element.get("slicing")
    if not isinstance(slicing, Mapping):
        return None
    discriminators = [
        (str(d.get("type")), str(d.get("path")))
        for d in slicing.get("discriminator", [])
        if isinstance(d, Mapping)
    ]
    text = json.dumps(
        {
            "discriminator": discriminators,
            "ordered": bool(slicing.get("ordered", False)),
            "rules": slicing.get("rules"),
        }
    )
    # Extensions are always sliced by url: saying so (Forge does, on every extension element) changes nothing.
    return None if text == _DEFAULT_EXTENSION_SLICING and type_codes(element) == ["Extension"] else text


def _combine(parts: list[Comparable]) -> Comparable:
    """Fold a choice element and its one type slice (the slice comes second) into one."""
    merged = parts[0]
    for part in parts[1:]:
        merged = replace(
            part,
            min=max(merged.min or 0, part.min or 0),
            max=_tighter_max(merged.max, part.max),
            fixed=part.fixed or merged.fixed,
            pattern=part.pattern or merged.pattern,
            binding=part.binding or merged.binding,
            constraints=tuple(sorted({*merged.constraints, *part.constraints})),
            slicing=part.slicing or _unless_type_slicing(merged.slicing),
        )
    return merged


def _tighter_max(first: str | None, second: str | None) -> str | None:
    if first is None or second is None:
        return first or second
    return first if max_value(first) <= max_value(second) else second


def _unless_type_slicing(slicing: str | None) -> str | None:
    if slicing is None:
        return None
    data = json.loads(slicing)
    return None if data["discriminator"] == [["type", "$this"]] else slicing
