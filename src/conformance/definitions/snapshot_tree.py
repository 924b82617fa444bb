"""Snapshots as trees: an element, its children, then its slices.

A snapshot lists elements depth first: each element is followed by its
children, then by its slices (each slice followed by its own children). The
generator works on that tree, and writes ids and paths back from it at the end,
so they are always consistent whatever the inputs spelled.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from conformance.definitions.elements import Element, path_steps


def clone(value: Any) -> Any:
    """A deep copy of JSON data (orjson: several times faster than copy.deepcopy).

    Definitions read from a payload keep exact decimals (`Decimal`), which orjson cannot write: those are
    copied the slow way, so they stay exact.
    """
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:
        return copy.deepcopy(value)


@dataclass
class Node:
    """One element of a snapshot under construction. Mutable: it lives inside one generation only."""

    name: str
    element: Element
    slice_name: str | None = None
    children: list[Node] = field(default_factory=list)
    slices: list[Node] = field(default_factory=list)

    def child(self, name: str) -> Node | None:
        for node in self.children:
            if node.name == name:
                return node
        return None

    def slice(self, slice_name: str) -> Node | None:
        for node in self.slices:
            if node.slice_name == slice_name:
                return node
        return None

    def copy(self, *, with_slices: bool = True) -> Node:
        return Node(
            name=self.name,
            element=clone(self.element),
            slice_name=self.slice_name,
            children=[child.copy() for child in self.children],
            slices=[s.copy() for s in self.slices] if with_slices else [],
        )

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()
        for slice_node in self.slices:
            yield from slice_node.walk()


def build_tree(elements: Sequence[Mapping[str, Any]]) -> Node | None:
    """The tree of a snapshot's elements, taken from paths, slice names and order (ids are ignored).

    Elements that fit nowhere (a path whose parent never appeared) are dropped: a
    published snapshot that has them is broken, and the generator re-derives
    what it needs from the base definitions.
    """
    root: Node | None = None
    stack: list[tuple[str, Node]] = []
    for raw in elements:
        element = dict(raw)
        path = str(element["path"])
        slice_name = element.get("sliceName") if isinstance(element.get("sliceName"), str) else None
        node = Node(name=path_steps(path)[-1], element=element, slice_name=slice_name)
        if root is None:
            root = node
            stack = [(path, node)]
            continue
        _attach(stack, path, node)
    return root


def _attach(stack: list[tuple[str, Node]], path: str, node: Node) -> None:
    while stack and not (path.startswith(stack[-1][0] + ".") or _slices(stack[-1], path, node)):
        stack.pop()
    if not stack:
        return
    top_path, top = stack[-1]
    if top_path == path:
        _owner_of_slice(top, node).slices.append(node)
    else:
        top.children.append(node)
    stack.append((path, node))


def _slices(entry: tuple[str, Node], path: str, node: Node) -> bool:
    """A slice follows the element it slices (or an earlier slice of it) at the same path."""
    return node.slice_name is not None and entry[0] == path and entry[1].slice_name is None


def _owner_of_slice(sliced: Node, node: Node) -> Node:
    """Re-slices (`a/b`) hang under slice `a`; plain slices under the sliced element."""
    assert node.slice_name is not None
    parent_name, slash, _ = node.slice_name.rpartition("/")
    if slash:
        owner = _find_slice(sliced, parent_name)
        if owner is not None:
            return owner
    return sliced


def _find_slice(sliced: Node, slice_name: str) -> Node | None:
    for candidate in sliced.slices:
        if candidate.slice_name == slice_name:
            return candidate
        found = _find_slice(candidate, slice_name)
        if found is not None:
            return found
    return None


def flatten(root: Node) -> list[Element]:
    """The snapshot element list, with ids and paths written from the tree."""
    out: list[Element] = []
    _emit(root, root.name, root.name, out)
    return out


def _emit(node: Node, path: str, element_id: str, out: list[Element]) -> None:
    element = node.element
    element["id"] = element_id
    element["path"] = path
    if node.slice_name is not None:
        element["sliceName"] = node.slice_name
    else:
        element.pop("sliceName", None)
    out.append(_ordered(element))
    for child in node.children:
        # A child can carry a slice name of its own: the lone "slice" of an unsliced element is that element.
        own = f":{child.slice_name}" if child.slice_name is not None else ""
        _emit(child, f"{path}.{child.name}", f"{element_id}.{child.name}{own}", out)
    for slice_node in node.slices:
        _emit(slice_node, path, f"{_unsliced(element_id)}:{slice_node.slice_name}", out)


def _unsliced(element_id: str) -> str:
    """`a.b:s` -> `a.b`: a re-slice's id is the sliced element's id plus the full slice name."""
    head, dot, last = element_id.rpartition(".")
    return f"{head}{dot}{last.split(':', 1)[0]}"


_LEADING_KEYS = ("id", "extension", "modifierExtension", "path", "representation", "sliceName")


def _ordered(element: Element) -> Element:
    """Keys in the order FHIR JSON lists them first (id, path, sliceName), the rest as they were."""
    if list(element)[:2] == ["id", "path"]:
        return element
    first = {key: element[key] for key in _LEADING_KEYS if key in element}
    first.update((key, value) for key, value in element.items() if key not in first)
    element.clear()
    element.update(first)
    return element
