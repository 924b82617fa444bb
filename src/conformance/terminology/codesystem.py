"""A CodeSystem resource read once into lookups: concepts, hierarchy, properties and status.

Malformed content (wrong JSON types, missing codes, cycles in the hierarchy)
is skipped rather than trusted, so a broken or hostile package cannot crash
or hang a validation run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.terminology.source import Resource

INACTIVE_STATUSES = frozenset({"inactive", "retired"})
DEPRECATED_STATUS = "deprecated"

# Property names are local to a CodeSystem; the standard meanings are known by their uri.
_STANDARD_PROPERTIES = {
    "http://hl7.org/fhir/concept-properties#status": "status",
    "http://hl7.org/fhir/concept-properties#inactive": "inactive",
    "http://hl7.org/fhir/concept-properties#deprecated": "deprecated",
    "http://hl7.org/fhir/concept-properties#deprecationDate": "deprecationDate",
    "http://hl7.org/fhir/concept-properties#notSelectable": "notSelectable",
    "http://hl7.org/fhir/concept-properties#parent": "parent",
    "http://hl7.org/fhir/concept-properties#child": "child",
}
_PARENT_PROPERTIES = frozenset({"parent", "subsumedBy"})
_CHILD_PROPERTIES = frozenset({"child"})
_DEPRECATION_PROPERTIES = frozenset({"deprecated", "deprecationDate"})
_ABSTRACT_PROPERTIES = frozenset({"notSelectable", "abstract"})
_EXT_DEPRECATED = "http://hl7.org/fhir/StructureDefinition/codesystem-deprecated"
_VALUE_KEYS = (
    "valueCode",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueDateTime",
    "valueDecimal",
    "valueCoding",
)


@dataclass(frozen=True)
class ConceptDefinition:
    """One concept as its CodeSystem defines it."""

    code: str
    display: str | None = None
    designations: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()  # (property name, value as text)
    status: str | None = None  # None when active; else inactive / retired / deprecated
    abstract: bool = False

    @property
    def inactive(self) -> bool:
        return self.status in INACTIVE_STATUSES

    @property
    def deprecated(self) -> bool:
        return self.status == DEPRECATED_STATUS

    def values_of(self, name: str) -> tuple[str, ...]:
        return tuple(value for prop, value in self.properties if prop == name)


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping):
        return _text(value.get("code"))
    return None


def _property_value(prop: Mapping[str, Any]) -> str | None:
    for key in _VALUE_KEYS:
        if key in prop:
            return _text(prop[key])
    return None


def _mappings(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if type(item) is dict or isinstance(item, Mapping))


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(value for value in values if isinstance(value, str) and value)


def _status_of(properties: tuple[tuple[str, str], ...], extensions: Any) -> str | None:
    values = dict(properties)
    status = values.get("status", "").lower()
    if status in INACTIVE_STATUSES or values.get("inactive") == "true":
        return status if status in INACTIVE_STATUSES else "inactive"
    deprecated_by_extension = any(
        ext.get("url") == _EXT_DEPRECATED and ext.get("valueBoolean") is True for ext in _mappings(extensions)
    )
    deprecated_by_property = any(
        name in _DEPRECATION_PROPERTIES and value != "false" for name, value in properties
    )
    if status == DEPRECATED_STATUS or deprecated_by_extension or deprecated_by_property:
        return DEPRECATED_STATUS
    return None


class CodeSystemIndex:
    """Lookups over one CodeSystem: find a code, walk the hierarchy, read properties."""

    def __init__(self, resource: Resource) -> None:
        self.url: str = str(resource.get("url") or "")
        self.version: str | None = _text(resource.get("version"))
        self.title: str = str(resource.get("title") or resource.get("name") or self.url)
        self.content: str = str(resource.get("content") or "complete")
        # FHIR leaves a missing caseSensitive undefined; exact matching is the safe reading.
        self.case_sensitive: bool = resource.get("caseSensitive") is not False
        self.status: str | None = _text(resource.get("status"))
        self._property_names = self._read_property_names(resource)
        self.concepts: dict[str, ConceptDefinition] = {}
        self._parents: dict[str, set[str]] = {}
        self._children: dict[str, set[str]] = {}
        self._read_concepts(resource.get("concept"))
        self._folded = {} if self.case_sensitive else {code.casefold(): code for code in self.concepts}

    @property
    def is_complete(self) -> bool:
        """Every code of the system is here, so a code that is not found does not exist."""
        return self.content == "complete"

    @property
    def is_supplement(self) -> bool:
        return self.content == "supplement"

    @staticmethod
    def _read_property_names(resource: Resource) -> dict[str, str]:
        names: dict[str, str] = {}
        for prop in _mappings(resource.get("property")):
            code, uri = prop.get("code"), prop.get("uri")
            if isinstance(code, str) and isinstance(uri, str) and uri in _STANDARD_PROPERTIES:
                names[code] = _STANDARD_PROPERTIES[uri]
        return names

    def _read_concepts(self, top: Any) -> None:
        # Iterative on purpose: a hostile CodeSystem may nest far deeper than the recursion limit.
        pending: list[tuple[str | None, Any]] = [(None, top)]
        while pending:
            parent, concepts = pending.pop()
            for raw in _mappings(concepts):
                code = raw.get("code")
                if not isinstance(code, str) or not code or code in self.concepts:
                    continue
                self.concepts[code] = self._concept(code, raw)
                if parent is not None:
                    self._link(parent, code)
                if "concept" in raw:
                    pending.append((code, raw["concept"]))
        self._link_by_properties()

    def _concept(self, code: str, raw: Mapping[str, Any]) -> ConceptDefinition:
        properties = tuple(
            (self._property_names.get(str(prop.get("code")), str(prop.get("code"))), value)
            for prop in _mappings(raw.get("property"))
            if (value := _property_value(prop)) is not None
        )
        designations = _strings(d.get("value") for d in _mappings(raw.get("designation")))
        display = raw.get("display")
        return ConceptDefinition(
            code=code,
            display=display if isinstance(display, str) else None,
            designations=designations,
            properties=properties,
            status=_status_of(properties, raw.get("extension")),
            abstract=any(name in _ABSTRACT_PROPERTIES and value == "true" for name, value in properties),
        )

    def _link(self, parent: str, child: str) -> None:
        self._children.setdefault(parent, set()).add(child)
        self._parents.setdefault(child, set()).add(parent)

    def _link_by_properties(self) -> None:
        for concept in self.concepts.values():
            for name, value in concept.properties:
                if value not in self.concepts or value == concept.code:
                    continue
                if name in _PARENT_PROPERTIES:
                    self._link(value, concept.code)
                elif name in _CHILD_PROPERTIES:
                    self._link(concept.code, value)

    def find(self, code: str) -> ConceptDefinition | None:
        """The concept for `code`; ignoring case only when the CodeSystem says it is case-insensitive."""
        concept = self.concepts.get(code)
        if concept is None and not self.case_sensitive:
            canonical = self._folded.get(code.casefold())
            concept = self.concepts.get(canonical) if canonical is not None else None
        return concept

    def parents(self, code: str) -> frozenset[str]:
        return frozenset(self._parents.get(code, ()))

    def children(self, code: str) -> frozenset[str]:
        return frozenset(self._children.get(code, ()))

    def descendants(self, code: str) -> set[str]:
        """Every code below `code` (not `code` itself unless the hierarchy loops back to it)."""
        return self._closure(code, self._children)

    def ancestors(self, code: str) -> set[str]:
        return self._closure(code, self._parents)

    @staticmethod
    def _closure(start: str, links: Mapping[str, set[str]]) -> set[str]:
        found: set[str] = set()
        pending = list(links.get(start, ()))
        while pending:
            code = pending.pop()
            if code not in found:
                found.add(code)
                pending.extend(links.get(code, ()))
        return found

    def values_of(self, code: str, name: str) -> tuple[str, ...]:
        """Values of a property, with the hierarchy and the code itself as pseudo-properties."""
        if name in ("concept", "code"):
            return (code,)
        if name in _PARENT_PROPERTIES:
            return tuple(sorted(self.parents(code)))
        if name in _CHILD_PROPERTIES:
            return tuple(sorted(self.children(code)))
        concept = self.concepts.get(code)
        return concept.values_of(self._property_names.get(name, name)) if concept else ()

    def has_property(self, code: str, name: str) -> bool:
        return bool(self.values_of(code, name))
