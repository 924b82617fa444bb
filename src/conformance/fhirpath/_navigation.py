"""Walking FHIR JSON the FHIRPath way: children by name, all children, type of a node.

Nodes are fhirpathpy `ResourceNode`s so that fhirpathpy's own functions and operators
accept them: `data` is the JSON value, `path` the node's type (or backbone element
path, see `_model`), and `_data` the `_name` sibling of a primitive (its `id` and
`extension`), so that a primitive and its extensions are one node, as in the FHIR
model. A primitive that has only extensions is a node whose `data` is None.

fhirpathpy loads on first use (see `_fhirpathpy`): its names are read when called.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from conformance.fhirpath import _fhirpathpy
from conformance.fhirpath._model import TypeModel

_NOT_ELEMENTS = frozenset({"resourceType", "fhir_comments"})
_PRIMITIVE_CHILDREN = ("id", "extension")


@dataclass(frozen=True)
class Primitive:
    """A primitive element with its `_name` sibling: `Primitive("1970", {"extension": [...]})`.

    Pass one as the focus of an evaluation when the element has extensions or an id;
    a bare Python value is enough otherwise.
    """

    value: Any
    element: Mapping[str, Any] | None = None


def to_node(item: Any, type_name: str | None = None) -> Any:
    """A ResourceNode for JSON values and Primitive; other values (literals) unchanged."""
    if isinstance(item, _fhirpathpy.ResourceNode):
        return item
    if isinstance(item, Primitive):
        return _fhirpathpy.make_node(item.value, type_name, item.element)
    if isinstance(item, Mapping | list) or type_name is not None:
        return _fhirpathpy.make_node(item, type_name)
    return item


def from_node(item: Any) -> Any:
    """The plain value of a node, for callers outside the FHIRPath engine."""
    if not isinstance(item, _fhirpathpy.ResourceNode):
        return item
    extras = item._data
    if extras and not isinstance(item.data, Mapping):
        return Primitive(item.data, extras)
    return item.data


def fhir_type(item: Any) -> str | None:
    """The FHIR type of a node (or backbone path); None for literals and untyped values."""
    if not isinstance(item, _fhirpathpy.ResourceNode):
        return None
    path = item.path
    if path is not None:
        # a malformed resource can carry any JSON value as its resourceType
        return path if isinstance(path, str) else None
    data = item.data
    if isinstance(data, Mapping):
        resource_type = data.get("resourceType")
        if isinstance(resource_type, str):
            return resource_type
    return None


def member(model: TypeModel, items: Iterable[Any], name: str) -> list[Any]:
    """`items.name`: the named children, or the items themselves when `name` is their type."""
    found: list[Any] = []
    for item in items:
        node = to_node(item)
        if not isinstance(node, _fhirpathpy.ResourceNode):
            continue
        if name[:1].isupper() and _is_of_type(model, node, name):
            found.append(node)
        else:
            _add_named_child(model, node, name, found)
    return found


def children(model: TypeModel, items: Iterable[Any]) -> list[Any]:
    found: list[Any] = []
    for item in items:
        node = to_node(item)
        if isinstance(node, _fhirpathpy.ResourceNode):
            _add_all_children(model, node, found)
    return found


def descendants(model: TypeModel, items: Iterable[Any]) -> list[Any]:
    found: list[Any] = []
    generation = children(model, items)
    while generation:
        found.extend(generation)
        generation = children(model, generation)
    return found


def _is_of_type(model: TypeModel, node: Any, name: str) -> bool:
    node_type = fhir_type(node)
    return node_type is not None and name in model.ancestors(node_type)


def named_child(
    model: TypeModel, data: Mapping[str, Any], parent: str | None, name: str
) -> tuple[Any, Any, str | None] | None:
    """The JSON value, `_name` extras and type of the child `name` of an object of type `parent`.

    A choice element is found by its base name (`value` finds `valueQuantity`); None when absent.
    """
    if parent is not None:
        for prop, choice_type in model.choices(parent, name):
            if prop in data or f"_{prop}" in data:
                return data.get(prop), data.get(f"_{prop}"), choice_type
    if name in data or f"_{name}" in data:
        return data.get(name), data.get(f"_{name}"), model.child(parent, name) if parent is not None else None
    return None


def _add_named_child(model: TypeModel, node: Any, name: str, found: list[Any]) -> None:
    data = node.data
    if isinstance(data, Mapping):
        child = named_child(model, data, fhir_type(node), name)
        if child is not None:
            _add_values(found, *child)
    elif node._data and name in _PRIMITIVE_CHILDREN:
        extras = node._data
        _add_values(found, extras.get(name), None, model.child("Element", name))


def _add_all_children(model: TypeModel, node: Any, found: list[Any]) -> None:
    data = node.data
    if isinstance(data, Mapping):
        parent = fhir_type(node)
        for key, content in data.items():
            if key in _NOT_ELEMENTS:
                continue
            if key.startswith("_"):
                name = key[1:]
                if name in data:
                    continue  # taken together with its value
                value, extras = None, content
            else:
                name, value, extras = key, content, data.get(f"_{key}")
            type_name = model.child(parent, name) if parent is not None else None
            _add_values(found, value, extras, type_name)
    elif node._data:
        for name in _PRIMITIVE_CHILDREN:
            _add_values(found, node._data.get(name), None, model.child("Element", name))


def _add_values(found: list[Any], value: Any, extras: Any, type_name: str | None) -> None:
    if isinstance(value, list) or isinstance(extras, list):
        values = value if isinstance(value, list) else []
        extra_list = extras if isinstance(extras, list) else []
        for one, one_extras in zip_longest(values, extra_list):
            if one is not None or one_extras is not None:
                found.append(_fhirpathpy.make_node(one, type_name, _as_extras(one_extras)))
    elif value is not None or extras is not None:
        found.append(_fhirpathpy.make_node(value, type_name, _as_extras(extras)))


def _as_extras(extras: Any) -> Mapping[str, Any] | None:
    return extras if isinstance(extras, Mapping) else None
