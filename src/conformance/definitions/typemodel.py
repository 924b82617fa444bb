"""The layout of FHIR types, read from their base StructureDefinitions.

Parsers need to know, for a child element met in a payload, whether it repeats (a JSON array), which type
it has (a JSON string, number or boolean, an object, an inline resource, XHTML), whether it is written as an
XML attribute, and where to look up its own children. `TypeModel` answers those questions from the snapshots
of the base definitions of one FHIR version (R4 or STU3), indexing each type once, on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from conformance.definitions.plan import SYSTEM_TO_FHIR

_FHIRPATH_SYSTEM = "http://hl7.org/fhirpath/System."
_FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
_RESOURCE_BASES = ("Resource", "DomainResource")


class DefinitionSource(Protocol):
    """Where base StructureDefinitions come from (a `conformance.context.Context` is one)."""

    def structure_definition(self, url_or_type: str) -> Mapping[str, Any] | None: ...


def is_primitive_type(code: str) -> bool:
    """FHIR primitive type codes start with a lower-case letter (`string`, `dateTime`, `xhtml`)."""
    return bool(code) and code[0].islower()


@dataclass(frozen=True)
class ChildInfo:
    """What the base definitions say about one child element, under the name it has in a payload."""

    name: str
    """The name as written in the payload: `given`, or `valueQuantity` for a choice element."""
    path: str
    """The ElementDefinition path: `HumanName.given`, `Observation.value[x]`."""
    repeats: bool
    type_codes: tuple[str, ...]
    is_primitive: bool
    """The type this name stands for is a primitive (for a choice element: the chosen type)."""
    choice_type: str | None
    """For a choice element, the type chosen by the name's suffix (`Quantity` for `valueQuantity`)."""
    content_reference: str | None
    """`#Questionnaire.item` for elements defined by reference to another element."""
    element_type: str
    """The type whose definition holds this element's own children."""
    element_path: str
    """The path of this element inside `element_type` (its children are `element_path` + `.name`)."""
    representation: tuple[str, ...] = ()

    @property
    def type_code(self) -> str | None:
        """The single type of this element, or the chosen one for a choice element."""
        if self.choice_type is not None:
            return self.choice_type
        return self.type_codes[0] if len(self.type_codes) == 1 else None

    @property
    def is_xml_attribute(self) -> bool:
        return "xmlAttr" in self.representation

    @property
    def is_xhtml(self) -> bool:
        return self.type_code == "xhtml" or "xhtml" in self.representation


@dataclass(frozen=True)
class _Element:
    path: str
    repeats: bool
    type_codes: tuple[str, ...]
    content_reference: str | None
    representation: tuple[str, ...]
    has_children: bool


@dataclass(frozen=True)
class _TypeIndex:
    name: str
    kind: str
    children: Mapping[str, Mapping[str, _Element]]
    """parent path -> child name -> element; choice elements are listed under their `[x]`-less stem."""


class TypeModel:
    """Children, cardinality and types of FHIR elements, from the base definitions of one FHIR version."""

    def __init__(self, source: DefinitionSource) -> None:
        self._source = source
        self._types: dict[str, _TypeIndex | None] = {}
        self._children: dict[tuple[str, str, str], ChildInfo | None] = {}

    def child(self, type_name: str, element_path: str, child_name: str) -> ChildInfo | None:
        """The child `child_name` of the element at `element_path` in type `type_name`, if it exists.

        `element_path` is `type_name` itself for the type's top level (`child("Patient", "Patient", "name")`),
        or an inner path for backbone elements (`child("Patient", "Patient.contact", "name")`); `ChildInfo`
        gives the pair to use for the child's own children.
        """
        key = (type_name, element_path, child_name)
        try:
            return self._children[key]
        except KeyError:
            info = self._find_child(type_name, element_path, child_name)
            self._children[key] = info
            return info

    def has_type(self, type_name: str) -> bool:
        return self._index(type_name) is not None

    def is_resource(self, type_name: str) -> bool:
        """True for resource types, including the abstract `Resource` and `DomainResource`."""
        index = self._index(type_name)
        return index is not None and index.kind == "resource"

    def _find_child(self, type_name: str, element_path: str, child_name: str) -> ChildInfo | None:
        index = self._index(type_name)
        if index is None:
            return None
        # A constraint's top level is its base type's (`SimpleQuantity` is laid out as `Quantity`).
        children = index.children.get(index.name if element_path == type_name else element_path)
        if not children:
            return None
        element = children.get(child_name)
        if element is not None and not element.path.endswith("[x]"):
            return self._info(index, element, child_name, None)
        return self._choice(index, children, child_name)

    def _choice(
        self, index: _TypeIndex, children: Mapping[str, _Element], child_name: str
    ) -> ChildInfo | None:
        # A choice name is the stem followed by a type code with its first letter upper-cased; stems can be
        # prefixes of one another (`value`, `valueSet`), so every split point is tried.
        for cut in range(len(child_name) - 1, 0, -1):
            element = children.get(child_name[:cut])
            if element is None or not element.path.endswith("[x]"):
                continue
            chosen = _chosen_type(element.type_codes, child_name[cut:])
            if chosen is not None:
                return self._info(index, element, child_name, chosen)
        return None

    def _info(self, index: _TypeIndex, element: _Element, name: str, chosen: str | None) -> ChildInfo:
        own_type = chosen if chosen is not None else _single(element.type_codes)
        element_type, element_path = self._children_home(index, element, own_type)
        return ChildInfo(
            name=name,
            path=element.path,
            repeats=element.repeats,
            type_codes=element.type_codes,
            is_primitive=own_type is not None and is_primitive_type(own_type),
            choice_type=chosen,
            content_reference=element.content_reference,
            element_type=element_type,
            element_path=element_path,
            representation=element.representation,
        )

    def _children_home(self, index: _TypeIndex, element: _Element, own_type: str | None) -> tuple[str, str]:
        if element.content_reference:
            return index.name, element.content_reference.partition("#")[2]
        if element.has_children or own_type is None:
            return index.name, element.path
        return own_type, own_type

    def _index(self, type_name: str) -> _TypeIndex | None:
        try:
            return self._types[type_name]
        except KeyError:
            index = self._build_index(type_name)
            self._types[type_name] = index
            return index

    def _build_index(self, type_name: str) -> _TypeIndex | None:
        definition = self._base_definition(type_name)
        if definition is None:
            return None
        elements = _snapshot_elements(definition)
        if not elements:
            return None
        return _TypeIndex(
            name=str(elements[0].get("path", type_name)),
            kind=str(definition.get("kind", "")),
            children=_index_children(elements),
        )

    def _base_definition(self, type_name: str) -> Mapping[str, Any] | None:
        definition = self._source.structure_definition(type_name)
        # Constraints (STU3 SimpleQuantity, or a profile given by mistake) have their base type's layout.
        if definition is not None and definition.get("derivation") == "constraint":
            base_type = definition.get("type")
            if isinstance(base_type, str) and base_type != type_name:
                return self._source.structure_definition(base_type)
        return definition


def _snapshot_elements(definition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    snapshot = definition.get("snapshot")
    elements = snapshot.get("element") if isinstance(snapshot, Mapping) else None
    if not isinstance(elements, list):
        return []
    return [
        element
        for element in elements
        if isinstance(element, Mapping) and isinstance(element.get("path"), str)
    ]


def _index_children(elements: list[Mapping[str, Any]]) -> dict[str, dict[str, _Element]]:
    unsliced = [element for element in elements if not element.get("sliceName")]
    parents = {str(element["path"]).rpartition(".")[0] for element in unsliced}
    children: dict[str, dict[str, _Element]] = {}
    for element in unsliced:
        path = str(element["path"])
        parent, _, name = path.rpartition(".")
        if not parent:
            continue
        stem = name.removesuffix("[x]")
        children.setdefault(parent, {}).setdefault(stem, _element(element, path in parents))
    return children


def _element(element: Mapping[str, Any], has_children: bool) -> _Element:
    reference = element.get("contentReference")
    return _Element(
        path=str(element["path"]),
        repeats=_repeats(element),
        type_codes=tuple(dict.fromkeys(_type_codes(element.get("type")))),
        content_reference=reference if isinstance(reference, str) else None,
        representation=tuple(str(item) for item in element.get("representation") or ()),
        has_children=has_children,
    )


def _repeats(element: Mapping[str, Any]) -> bool:
    # JSON arrays follow the base definition's cardinality, which a snapshot keeps in `base.max`.
    base = element.get("base")
    maximum = base.get("max") if isinstance(base, Mapping) and base.get("max") else element.get("max")
    if maximum == "*":
        return True
    try:
        return int(str(maximum)) > 1
    except ValueError:
        return False


def _type_codes(types: Any) -> Iterable[str]:
    if not isinstance(types, list):
        return
    for entry in types:
        if isinstance(entry, Mapping):
            code = _fhir_type(entry)
            if code:
                yield code


def _fhir_type(entry: Mapping[str, Any]) -> str | None:
    code = entry.get("code")
    if not isinstance(code, str):
        return None
    if not code.startswith(_FHIRPATH_SYSTEM):
        return code
    for extension in entry.get("extension") or ():
        if isinstance(extension, Mapping) and extension.get("url") == _FHIR_TYPE_EXTENSION:
            named = extension.get("valueUrl") or extension.get("valueUri")
            if isinstance(named, str) and named:
                return named
    # R4 types primitives' `value`, `Element.id` and `Extension.url` with FHIRPath system types: the
    # structuredefinition-fhir-type extension names the FHIR type; the table covers definitions without it.
    return SYSTEM_TO_FHIR.get(code.removeprefix(_FHIRPATH_SYSTEM), "string")


def _single(codes: tuple[str, ...]) -> str | None:
    return codes[0] if len(codes) == 1 else None


def _chosen_type(codes: tuple[str, ...], suffix: str) -> str | None:
    for code in codes:
        if code[:1].upper() + code[1:] == suffix:
            return code
    return None


__all__ = ["ChildInfo", "DefinitionSource", "TypeModel", "is_primitive_type"]
