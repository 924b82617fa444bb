"""The FHIR type model that navigation and type tests need, read from fhirpathpy's tables.

fhirpathpy ships, per FHIR version, the type of every element path (`path2Type`), the
types a choice element can take (`choiceTypePaths`), the base type of every type
(`type2Parent`) and the paths whose definition is shared with another element
(`pathsDefinedElsewhere`). A node's "path" is either a type name (`HumanName`,
`dateTime`, `Patient`) or, for backbone elements that have no type of their own, the
element path (`Patient.contact`), which is fhirpathpy's own convention.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from conformance.fhirpath._fhirpathpy import models as _fhirpathpy_models
from conformance.fhirversion import FhirVersion

PRIMITIVE_TYPES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)
DATE_TYPES = frozenset({"date", "dateTime", "instant"})
TIME_TYPES = frozenset({"time"})

_MODEL_NAMES = {FhirVersion.R4: "r4", FhirVersion.STU3: "stu3"}
_SYSTEM_STRING = "System.String"


class TypeModel:
    """Element and type facts of one FHIR version."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self._path_types: Mapping[str, str] = raw["path2Type"]
        self._choices: Mapping[str, list[str]] = raw["choiceTypePaths"]
        self._parents: Mapping[str, str] = raw["type2Parent"]
        self._elsewhere: Mapping[str, str] = raw["pathsDefinedElsewhere"]
        self._child_cache: dict[tuple[str, str], str] = {}
        self._choice_cache: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self._ancestor_cache: dict[str, tuple[str, ...]] = {}
        self._position_cache: dict[tuple[str, str], dict[str, int]] = {}

    def child(self, parent: str, name: str) -> str:
        """The type (or backbone element path) of child `name` of a node typed `parent`."""
        key = (parent, name)
        found = self._child_cache.get(key)
        if found is None:
            found = self._lookup_child(parent, name)
            self._child_cache[key] = found
        return found

    def choices(self, parent: str, name: str) -> tuple[tuple[str, str], ...]:
        """(JSON property, type) pairs when `name` is a choice element, else ()."""
        key = (parent, name)
        found = self._choice_cache.get(key)
        if found is None:
            found = self._lookup_choices(parent, name)
            self._choice_cache[key] = found
        return found

    def choice_positions(self, parent: str, name: str) -> Mapping[str, int]:
        """For a choice element: each JSON property (and its `_` sibling) -> its place in `choices`."""
        key = (parent, name)
        found = self._position_cache.get(key)
        if found is None:
            found = {}
            for position, (prop, _type) in enumerate(self.choices(parent, name)):
                found[prop] = position
                found[f"_{prop}"] = position
            self._position_cache[key] = found
        return found

    def ancestors(self, type_name: str) -> tuple[str, ...]:
        """The type itself, then its base types up to Element/Resource."""
        found = self._ancestor_cache.get(type_name)
        if found is None:
            found = self._lookup_ancestors(type_name)
            self._ancestor_cache[type_name] = found
        return found

    def is_known_type(self, type_name: str) -> bool:
        return type_name in self._parents or type_name in ("Element", "Resource", "BackboneElement")

    def _lookup_child(self, parent: str, name: str) -> str:
        if name in ("extension", "modifierExtension"):
            return "Extension"
        for path in self._candidate_paths(parent, name):
            found = self._path_types.get(path)
            if found is not None:
                return "string" if found == _SYSTEM_STRING else found
        # Backbone elements have no entry of their own: the element path is their "type".
        path = f"{parent}.{name}"
        return self._elsewhere.get(path, path)

    def _lookup_choices(self, parent: str, name: str) -> tuple[tuple[str, str], ...]:
        for path in self._candidate_paths(parent, name):
            suffixes = self._choices.get(path)
            if suffixes:
                return tuple((name + suffix, choice_type_name(suffix)) for suffix in suffixes)
        return ()

    def _candidate_paths(self, parent: str, name: str) -> list[str]:
        """`parent.name`, then the same child on each base type (SimpleQuantity -> Quantity)."""
        paths = []
        for owner in self.ancestors(parent) if "." not in parent else (parent,):
            path = f"{owner}.{name}"
            paths.append(self._elsewhere.get(path, path))
        return paths

    def _lookup_ancestors(self, type_name: str) -> tuple[str, ...]:
        chain = [type_name]
        current = "BackboneElement" if "." in type_name else type_name
        if current != type_name:
            chain.append(current)
        while True:
            parent = self._parents.get(current)
            if parent is None and current == "BackboneElement":
                parent = "Element"
            if parent is None or parent in chain:
                return tuple(chain)
            chain.append(parent)
            current = parent


def choice_type_name(suffix: str) -> str:
    """`DateTime` -> `dateTime`, `Quantity` -> `Quantity`: JSON suffixes capitalise primitives."""
    lowered = suffix[:1].lower() + suffix[1:]
    return lowered if lowered in PRIMITIVE_TYPES else suffix


@cache
def model_for(version: FhirVersion) -> TypeModel:
    return TypeModel(_fhirpathpy_models[_MODEL_NAMES[version]])
