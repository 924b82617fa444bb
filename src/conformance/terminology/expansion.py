"""ValueSet expansion from `compose` over local definitions, cached per canonical.

Includes by whole system, by concept list and by filter, imports of other
value sets, excludes, `compose.inactive`, and `|version` on value sets and
code systems. What cannot be evaluated locally (external code systems,
filters on them, missing imports) is kept as "cannot tell" rather than
guessed; a published `expansion.contains` stands in when `compose` cannot be
evaluated completely.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from conformance.terminology.codesystem import CodeSystemIndex, ConceptDefinition
from conformance.terminology.filters import evaluate_filter
from conformance.terminology.members import Concept, Members
from conformance.terminology.source import Resource, ResourceSource, split_canonical
from conformance.terminology.systems import LOINC, SNOMED_CT, SYNTAX_SYSTEMS

MAX_IMPORT_DEPTH = 40  # value sets importing value sets; deeper chains are hostile or broken
IMPLICIT_VALUE_SETS = ((f"{SNOMED_CT}?fhir_vs", SNOMED_CT), (f"{LOINC}/vs", LOINC))


def _mappings(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, Mapping))


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _designations(raw: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(v for d in _mappings(raw.get("designation")) if (v := _string(d.get("value"))))


def label(url: str, version: str | None, title: str | None = None) -> str:
    """How a value set or code system is named in messages: 'Title' (url|version)."""
    canonical = f"{url}|{version}" if version else url
    return f"'{title}' ({canonical})" if title and title != url else f"'{canonical}'"


@dataclass(frozen=True)
class CodeSystemLookup:
    """A CodeSystem found for a system (and version), with a note when the version asked for was not."""

    index: CodeSystemIndex | None
    note: str | None = None


@dataclass(frozen=True)
class Expansion:
    """The members of a value set as far as they are known here.

    `contains` lists the concepts that are certainly members. `complete` says
    it lists every member; `decidable` that every membership question can
    still be answered (a whole-system include of UCUM is decidable by syntax
    but cannot be listed). `notes` say what could not be evaluated and why.
    """

    url: str
    version: str | None
    title: str
    contains: tuple[Concept, ...]
    complete: bool
    decidable: bool
    notes: tuple[str, ...] = ()
    members: Members = field(default_factory=Members, repr=False, compare=False)

    @property
    def label(self) -> str:
        return label(self.url, self.version, self.title)

    def lookup(self, system: str, code: str) -> Concept | None:
        """The listed concept for `system#code` (a dictionary lookup), or None."""
        return self.members.definite.get((system, code))

    def __len__(self) -> int:
        return len(self.contains)


class Expander:
    """Expands value sets over a `ResourceSource`; every expansion and CodeSystem index is built once."""

    def __init__(self, source: ResourceSource) -> None:
        self.source = source
        self._expansions: dict[str, Expansion | None] = {}
        self._codesystems: dict[tuple[str, str | None], CodeSystemLookup] = {}
        self._in_progress: set[str] = set()
        self._cuts = 0  # imports cut short for depth so far
        self._lock = threading.RLock()

    # --- code systems --------------------------------------------------------------------------

    def codesystem(self, system: str, version: str | None = None) -> CodeSystemLookup:
        key = (system, version)
        found = self._codesystems.get(key)
        if found is None:
            with self._lock:
                found = self._codesystems.setdefault(key, self._find_codesystem(system, version))
        return found

    def _find_codesystem(self, system: str, version: str | None) -> CodeSystemLookup:
        resource = self._resolve("CodeSystem", system, version)
        if resource is None and version is not None:
            fallback = self.codesystem(system)
            if fallback.index is not None:
                note = (
                    f"CodeSystem {system} version {version} is not available; "
                    f"version {fallback.index.version or '(unversioned)'} was used"
                )
                return CodeSystemLookup(fallback.index, note)
            return fallback
        if resource is None:
            return CodeSystemLookup(None)
        index = CodeSystemIndex(resource)
        return CodeSystemLookup(None if index.is_supplement else index)

    def _resolve(self, resource_type: str, url: str, version: str | None) -> Resource | None:
        resource = self.source.resolve(url, version)
        return resource if resource is not None and resource.get("resourceType") == resource_type else None

    # --- value sets ----------------------------------------------------------------------------

    def expansion(self, canonical: str) -> Expansion | None:
        """The expansion of a value set (`url` or `url|version`); None when it cannot be found."""
        if canonical in self._expansions:
            return self._expansions[canonical]
        with self._lock:
            if canonical in self._expansions:
                return self._expansions[canonical]
            cuts_before = self._cuts
            expansion = self._expand(canonical)
            # An import cut short for the caller's depth may be fine on its own: only keep whole answers.
            if self._cuts == cuts_before or not self._in_progress:
                self._expansions[canonical] = expansion
            return expansion

    def _expand(self, canonical: str) -> Expansion | None:
        url, version = split_canonical(canonical)
        resource = self._resolve("ValueSet", url, version)
        if resource is None:
            return _implicit(url, version)
        self._in_progress.add(canonical)
        try:
            members = self._members_of(resource)
        finally:
            self._in_progress.discard(canonical)
        return Expansion(
            url=url,
            version=_string(resource.get("version")),
            title=str(resource.get("title") or resource.get("name") or url),
            contains=tuple(members.definite.values()),
            complete=members.enumerated,
            decidable=members.decidable,
            notes=tuple(dict.fromkeys(members.notes)),
            members=members,
        )

    def _members_of(self, resource: Resource) -> Members:
        compose = resource.get("compose")
        published = self._published_expansion(resource)
        if not isinstance(compose, Mapping):
            return published or Members.unknown(None, "the value set has neither a compose nor an expansion")
        members = self._compose(compose)
        if members.decidable or published is None:
            return members
        # The published expansion lists members compose cannot reach here. It may predate the current
        # edition of an external code system, so a code it lacks stays "cannot tell" where compose says so.
        return published.union(members).add_note(
            "the published expansion was used for the codes compose cannot list here"
        )

    def _compose(self, compose: Mapping[str, Any]) -> Members:
        included = reduce(
            Members.union, (self._include(raw) for raw in _mappings(compose.get("include"))), Members()
        )
        members = reduce(
            Members.minus, (self._include(raw) for raw in _mappings(compose.get("exclude"))), included
        )
        return members.without_inactive() if compose.get("inactive") is False else members

    def _include(self, raw: Mapping[str, Any]) -> Members:
        parts: list[Members] = []
        system = _string(raw.get("system"))
        if system is not None:
            parts.append(self._system_part(system, _string(raw.get("version")), raw))
        imports = raw.get("valueSet")
        for canonical in imports if isinstance(imports, list) else [imports] if imports else []:
            parts.append(self._imported(canonical))
        if not parts:
            return Members().add_note("an include without a system or value set selects nothing")
        return reduce(Members.intersect, parts)

    def _imported(self, canonical: Any) -> Members:
        if not isinstance(canonical, str) or not canonical:
            return Members.unknown(None, "an imported value set has no canonical url")
        if canonical in self._in_progress:
            return Members.unknown(None, f"the value set {canonical} includes itself")
        if len(self._in_progress) >= MAX_IMPORT_DEPTH:
            self._cuts += 1
            return Members.unknown(None, f"value sets import each other more than {MAX_IMPORT_DEPTH} deep")
        imported = self.expansion(canonical)
        if imported is None:
            return Members.unknown(None, f"the imported value set {canonical} could not be found")
        return imported.members

    # --- one include or exclude of a system ----------------------------------------------------

    def _system_part(self, system: str, version: str | None, raw: Mapping[str, Any]) -> Members:
        lookup = self.codesystem(system, version)
        if "concept" in raw:
            members = self._listed(system, lookup.index, raw.get("concept"))
        elif "filter" in raw:
            members = self._filtered(system, lookup.index, raw.get("filter"))
        else:
            members = self._whole(system, lookup.index)
        return members.add_note(lookup.note) if lookup.note else members

    def _whole(self, system: str, cs: CodeSystemIndex | None) -> Members:
        if cs is not None and cs.is_complete:
            return Members.of(concept_of(cs, definition) for definition in cs.concepts.values())
        if system in SYNTAX_SYSTEMS:
            return Members.by_syntax(system)
        if cs is not None and cs.concepts:
            listed = Members.of(concept_of(cs, definition) for definition in cs.concepts.values())
            return listed.union(Members.unknown(system, _partial_note(cs)))
        return Members.unknown(system, _external_note(system, cs))

    def _listed(self, system: str, cs: CodeSystemIndex | None, raw_concepts: Any) -> Members:
        concepts: list[Concept] = []
        missing: list[str] = []
        for raw in _mappings(raw_concepts):
            code = _string(raw.get("code"))
            if code is None:
                continue
            definition = cs.find(code) if cs is not None else None
            if definition is None and cs is not None and cs.is_complete:
                missing.append(code)
                continue
            concept = concept_of(cs, definition) if cs and definition else Concept(system, code)
            concepts.append(concept.with_value_set_displays(_string(raw.get("display")), _designations(raw)))
        members = Members.of(concepts)
        if missing:
            return members.add_note(
                f"listed codes not defined by CodeSystem {system} were left out: {', '.join(missing)}"
            )
        return members

    def _filtered(self, system: str, cs: CodeSystemIndex | None, raw_filters: Any) -> Members:
        filters = list(_mappings(raw_filters))
        if cs is None or not cs.concepts or not filters:
            return Members.unknown(system, _external_note(system, cs, filtered=True))
        selected = set(cs.concepts)
        for raw in filters:
            matched = evaluate_filter(cs, raw)
            if matched is None:
                return Members.unknown(
                    system, f"the filter {_describe(raw)} on {system} cannot be evaluated here"
                )
            selected &= matched
        members = Members.of(concept_of(cs, cs.concepts[code]) for code in cs.concepts if code in selected)
        return members if cs.is_complete else members.union(Members.unknown(system, _partial_note(cs)))

    # --- a published expansion -----------------------------------------------------------------

    def _published_expansion(self, resource: Resource) -> Members | None:
        expansion = resource.get("expansion")
        if not isinstance(expansion, Mapping) or "contains" not in expansion:
            return None
        concepts = [self._expanded_concept(raw) for raw in _walk_contains(expansion.get("contains"))]
        members = Members.of(c for c in concepts if c is not None)
        total, offset = expansion.get("total"), expansion.get("offset")
        if (isinstance(total, int) and total > len(members.definite)) or offset:
            for system in members.systems():
                members = members.union(Members.unknown(system, "the published expansion is only partial"))
        return members

    def _expanded_concept(self, raw: Mapping[str, Any]) -> Concept | None:
        system, code = _string(raw.get("system")), _string(raw.get("code"))
        if system is None or code is None:
            return None
        cs = self.codesystem(system, _string(raw.get("version"))).index
        definition = cs.find(code) if cs is not None else None
        if cs is not None and definition is not None:
            return concept_of(cs, definition).with_value_set_displays(
                _string(raw.get("display")), _designations(raw)
            )
        return Concept(
            system,
            code,
            display=_string(raw.get("display")),
            version=_string(raw.get("version")),
            status="inactive" if raw.get("inactive") is True else None,
            abstract=raw.get("abstract") is True,
        )


def _implicit(url: str, version: str | None) -> Expansion | None:
    """A value set that a code system defines by its url alone (SNOMED CT `?fhir_vs`, LOINC `/vs/`)."""
    system = next((system for prefix, system in IMPLICIT_VALUE_SETS if url.startswith(prefix)), None)
    if system is None:
        return None
    members = Members.unknown(
        system, f"{url} is an implicit value set of {system}, which needs a terminology server"
    )
    return Expansion(
        url, version, url, (), complete=False, decidable=False, notes=tuple(members.notes), members=members
    )


def _walk_contains(top: Any) -> Iterator[Mapping[str, Any]]:
    pending = [top]
    while pending:
        for raw in _mappings(pending.pop()):
            yield raw
            if "contains" in raw:
                pending.append(raw["contains"])


def concept_of(cs: CodeSystemIndex, definition: ConceptDefinition) -> Concept:
    """An expansion concept for a CodeSystem's own definition of it."""
    return Concept(
        system=cs.url,
        code=definition.code,
        display=definition.display,
        version=cs.version,
        designations=definition.designations,
        status=definition.status,
        abstract=definition.abstract,
        local=True,
        case_sensitive=cs.case_sensitive,
    )


def _partial_note(cs: CodeSystemIndex) -> str:
    return f"CodeSystem {cs.url} is published with content '{cs.content}', so it does not list every code"


def _external_note(system: str, cs: CodeSystemIndex | None, *, filtered: bool = False) -> str:
    what = "codes selected by a filter on" if filtered else "codes of"
    if cs is None:
        return f"the {what} {system} cannot be listed: no definition of that code system is loaded"
    return f"the {what} {system} cannot be listed: its CodeSystem has content '{cs.content}'"


def _describe(raw: Mapping[str, Any]) -> str:
    return f"{raw.get('property')} {raw.get('op')} {raw.get('value')!r}"
