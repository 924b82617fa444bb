"""A differential as a tree of constraints, keyed by element names and slice names.

Where each differential element belongs is read from its id when the id agrees
with its path, and otherwise from the order of the differential (an element
belongs to the slice most recently opened at its parent's path), which is how
ids were meant to be read before R4 made them mandatory. Two spellings need
care:

- Forge's ids for a renamed choice element (`Observation.valueQuantity:valueQuantity`
  with sliceName `valueQuantity`) are kept as a slice here; generation folds a
  renamed choice's slice of the same name into the element (`absorb_redundant_slice`),
  since only then is it known that `valueQuantity` renames `value[x]`;
- an id whose slice name differs from the element's `sliceName` (STU3 core
  `coding:bodyweightcode` for sliceName `BodyWeightCode`): `sliceName` wins, and
  the children that use the id's spelling still find their parent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.definitions.elements import choice_stem, is_choice, parse_id, path_steps

Key = tuple[tuple[str, str | None], ...]

# No FHIR definition nests anywhere near this deep; a deeper path is junk, and is not followed.
MAX_PATH_DEPTH = 64


@dataclass
class DiffNode:
    """The differential's constraints at one place: an element (None when only implied) and what is below."""

    name: str
    slice_name: str | None = None
    element: Mapping[str, Any] | None = None
    index: int | None = None
    children: list[DiffNode] = field(default_factory=list)
    slices: list[DiffNode] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    too_deep: list[int] = field(default_factory=list)

    def child(self, name: str) -> DiffNode:
        for node in self.children:
            if node.name == name:
                return node
        node = DiffNode(name=name)
        self.children.append(node)
        return node

    def slice(self, slice_name: str) -> DiffNode:
        for node in self.slices:
            if node.slice_name == slice_name:
                return node
        node = DiffNode(name=self.name, slice_name=slice_name)
        self.slices.append(node)
        return node

    @property
    def label(self) -> str:
        """The id of this node's element or, when it is only implied, of the first element below it."""
        found = self._first_with_element()
        if found is not None and found.element is not None:
            return str(found.element.get("id") or found.element.get("path"))
        return self.name if self.slice_name is None else f"{self.name}:{self.slice_name}"

    def first_index(self) -> int | None:
        """The position in the differential of this node or, when implied, of the first element below it."""
        found = self._first_with_element()
        return found.index if found is not None else None

    def _first_with_element(self) -> DiffNode | None:
        pending: list[DiffNode] = [self]
        while pending:
            node = pending.pop()
            if node.element is not None:
                return node
            pending.extend(reversed([*node.children, *node.slices]))
        return None


def absorb_redundant_slice(node: DiffNode) -> DiffNode:
    """A renamed choice element with Forge's slice of its own name, as one node."""
    redundant = next((s for s in node.slices if s.slice_name == node.name), None)
    if redundant is None:
        return node
    merged = DiffNode(
        name=node.name,
        element=_combined(node.element, redundant.element),
        index=node.index if node.index is not None else redundant.index,
        children=[*node.children, *redundant.children],
        slices=[s for s in node.slices if s is not redundant] + redundant.slices,
        duplicates=[*node.duplicates, *redundant.duplicates],
    )
    return merged


def _combined(first: Mapping[str, Any] | None, second: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if first is None or second is None:
        return first if second is None else second
    return {**first, **{k: v for k, v in second.items() if k not in ("sliceName", "id")}}


def build_diff_tree(elements: Sequence[Mapping[str, Any]], root_name: str) -> DiffNode:
    """The tree of a differential. Elements outside `root_name` are kept under their own (unmatched) root."""
    root = DiffNode(name=root_name)
    keys = _Keys()
    for index, element in enumerate(elements):
        if len(path_steps(str(element["path"]))) > MAX_PATH_DEPTH:
            root.too_deep.append(index)
            continue
        key = keys.key_of(element)
        node = _place(root, key)
        if node.element is None:
            node.element = element
            node.index = index
        else:
            node.duplicates.append(index)
    return root


def _place(root: DiffNode, key: Key) -> DiffNode:
    node = root
    if key[0][0] != root.name:
        node = root.child(key[0][0])
    for name, slice_name in key[1:]:
        node = node.child(name)
        if slice_name is not None:
            node = _slice_for(node, slice_name)
    return node


def _slice_for(node: DiffNode, slice_name: str) -> DiffNode:
    """Re-slices (`a/b`) live under slice `a`."""
    owner = node
    parts = slice_name.split("/")
    for depth in range(1, len(parts)):
        owner = owner.slice("/".join(parts[:depth]))
    return owner.slice(slice_name)


class _Keys:
    """Works out the key of each differential element, in differential order."""

    def __init__(self) -> None:
        self._by_id: dict[str, Key] = {}
        self._by_path: dict[tuple[str, ...], tuple[Key, int]] = {}
        self._serial = 0

    def key_of(self, element: Mapping[str, Any]) -> Key:
        names = path_steps(str(element["path"]))
        element_id = element.get("id") if isinstance(element.get("id"), str) else None
        own_slice = _own_slice(element, element_id)
        parent = self._parent_key(names, element_id)
        key = (*parent, (names[-1], own_slice))
        if element_id is not None:
            self._by_id[element_id] = key
        self._remember_path(tuple(names), key)
        return key

    def _parent_key(self, names: list[str], element_id: str | None) -> Key:
        if len(names) == 1:
            return ()
        if element_id is not None:
            parent_id = element_id.rpartition(".")[0]
            if parent_id in self._by_id and len(self._by_id[parent_id]) == len(names) - 1:
                return self._by_id[parent_id]
            from_id = _key_from_id(names[:-1], parent_id)
            if from_id is not None:
                return from_id
        return self._from_order(tuple(names[:-1]))

    def _from_order(self, names: tuple[str, ...]) -> Key:
        """The key the differential's order gives `names`: at each level, the element (or slice) most
        recently seen there, unless an element seen later at a shallower level closed it."""
        key: Key = ()
        newest = -1
        for depth in range(1, len(names) + 1):
            seen = self._by_path.get(names[:depth])
            if seen is not None and seen[1] > newest:
                key, newest = seen
            else:
                key = (*key, (names[depth - 1], None))
        return key

    def _remember_path(self, names: tuple[str, ...], key: Key) -> None:
        self._serial += 1
        self._by_path[names] = (key, self._serial)


def _own_slice(element: Mapping[str, Any], element_id: str | None) -> str | None:
    slice_name = element.get("sliceName")
    if isinstance(slice_name, str) and slice_name:
        return slice_name
    if element_id is not None:
        return parse_id(element_id)[-1].slice_name
    return None


def _key_from_id(names: list[str], element_id: str) -> Key | None:
    """Slice names from an id whose steps agree with the path (choice renames allowed)."""
    steps = parse_id(element_id) if element_id else []
    if len(steps) != len(names) or not all(_agree(s.name, n) for s, n in zip(steps, names, strict=True)):
        return None
    return tuple((name, step.slice_name) for step, name in zip(steps, names, strict=True))


def _agree(id_name: str, path_name: str) -> bool:
    if id_name == path_name:
        return True
    return is_choice(id_name) and path_name.startswith(choice_stem(id_name))
