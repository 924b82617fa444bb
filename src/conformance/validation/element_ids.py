"""Element ids are unique within a resource (the HL7 validator's DUPLICATE_ID rule).

The `id` of every element of one resource (not of the resources nested in it, which are their own scope)
must differ from every other's. A StructureDefinition's snapshot is a scope of its own, as in the HL7
validator, since it repeats the differential's element ids by design.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

Path = tuple[str | int, ...]


def duplicate_ids(resource: Mapping[str, Any]) -> list[tuple[str, Path]]:
    """(id, path from the resource) of each element whose id an earlier element of the resource has."""
    if not _has_repeated_id(resource):
        return []  # the common case, told without building a path for every element
    return _scoped_duplicates(resource)


def _scoped_duplicates(resource: Mapping[str, Any]) -> list[tuple[str, Path]]:
    """`duplicate_ids` by the whole scan: every element's id, scope and path."""
    found: list[tuple[str, Path]] = []
    scopes: dict[str, set[str]] = {}
    for scope, element_id, path in _element_ids(resource):
        seen = scopes.setdefault(scope, set())
        if element_id in seen:
            found.append((element_id, path))
        seen.add(element_id)
    return found


_LEAVES = frozenset({str, int, float, bool, type(None), Decimal})
"""The types of JSON's scalar values: nothing below them can carry an id."""


def _has_repeated_id(resource: Mapping[str, Any]) -> bool:
    """Does any element id occur twice anywhere below the resource (nested resources and scopes included)?

    A quick over-approximation of `duplicate_ids`: when it says no, there is no duplicate in any scope.
    Asked of every resource, and every value of the resource passes through it: scalars are left behind
    by one set lookup on their type, dicts are told apart from other mappings by their exact type first.
    """
    seen: set[str] = set()
    pending: list[Any] = [resource]
    take, add = pending.pop, pending.extend  # bound once: called for every object and array
    root = True
    while pending:
        node = take()
        if type(node) is not dict:  # the common case first: a JSON object
            if isinstance(node, list):
                add([value for value in node if value.__class__ not in _LEAVES])
                continue
            if not isinstance(node, Mapping):
                continue
        if not root:
            element_id = node.get("id")
            if isinstance(element_id, str) and element_id:
                if element_id in seen:
                    return True
                seen.add(element_id)
        root = False
        add([value for value in node.values() if value.__class__ not in _LEAVES])
    return False


def _element_ids(resource: Mapping[str, Any]) -> Iterator[tuple[str, str, Path]]:
    """(scope, id, path) for every element below the resource root, in document order.

    A stack of iterators, one per open object or array: memory follows the depth of the resource, not
    the length of its arrays (a Bundle's entries).
    """
    stack: list[Iterator[tuple[str, Path, Any]]] = [iter([("", (), resource)])]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        scope, path, node = item
        if isinstance(node, list):
            stack.append(_items(scope, path, node))
            continue
        if not isinstance(node, Mapping) or (path and isinstance(node.get("resourceType"), str)):
            continue  # a primitive value, or a nested resource (checked on its own)
        element_id = node.get("id")
        if path and isinstance(element_id, str) and element_id:
            yield scope, element_id, path
        stack.append(_members(scope, path, node))


def _items(scope: str, path: Path, node: list[Any]) -> Iterator[tuple[str, Path, Any]]:
    for index, item in enumerate(node):
        yield scope, (*path, index), item


def _members(scope: str, path: Path, node: Mapping[str, Any]) -> Iterator[tuple[str, Path, Any]]:
    snapshot_scope = not path and _is_definition(node)
    for key, value in node.items():
        if isinstance(value, Mapping | list):
            inner = "snapshot" if snapshot_scope and key == "snapshot" else scope
            yield inner, (*path, key.removeprefix("_")), value


def _is_definition(resource: Mapping[str, Any]) -> bool:
    return resource.get("resourceType") == "StructureDefinition"
