"""Whether a code is in a ValueSet: first the engine's answer, then, without a terminology server, the
ValueSet's own enumerated concepts, expansion and the complete CodeSystems it includes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Protocol

from conformance.validation.questionnaire.json_values import (
    as_text,
    contained_resource,
    find_by_id,
    mappings,
    strings,
)

# A chain of ValueSets including one another ends here, so that a cycle or a hostile chain stays cheap.
_MAX_VALUE_SET_HOPS = 16


class ResourceLookup(Protocol):
    """What the module needs from the engine's context: canonical resources and ValueSet membership."""

    def resolve(self, url: str) -> Mapping[str, Any] | None:
        """The resource with this canonical URL (``url`` or ``url|version``), or None."""

    def value_set_contains(self, url: str, system: str | None, code: str) -> bool | None:
        """Whether the ValueSet holds the code; None when that cannot be told offline."""


class Verdict(Enum):
    IN = "in"
    OUT = "out"
    UNKNOWN = "unknown"
    MISSING = "missing"


class ValueSets:
    """Membership in the ValueSets one response's answers are bound to; ``#id`` names a resource contained
    in the Questionnaire or else in the response."""

    def __init__(
        self,
        lookup: ResourceLookup,
        questionnaire_contained: tuple[Mapping[str, Any], ...],
        response: Mapping[str, Any],
    ) -> None:
        self.lookup = lookup
        self.questionnaire_contained = questionnaire_contained
        self.response = response

    def membership(self, url: str, system: str | None, code: str) -> Verdict:
        if not url.startswith("#"):
            known = self.lookup.value_set_contains(url, system, code)
            if known is not None:
                return Verdict.IN if known else Verdict.OUT
        value_set = self._resolve(url)
        if value_set is None:
            return Verdict.MISSING
        found = _value_set_contains(value_set, system, code, self._resolve, frozenset({url}))
        if found is None:
            return Verdict.UNKNOWN
        return Verdict.IN if found else Verdict.OUT

    def _resolve(self, url: str) -> Mapping[str, Any] | None:
        if url.startswith("#"):
            local = find_by_id(self.questionnaire_contained, url[1:])
            return local if local is not None else contained_resource(self.response, url[1:])
        found = self.lookup.resolve(url)
        if found is None and "|" in url:
            found = self.lookup.resolve(url.split("|", 1)[0])
        return found


_Resolver = Callable[[str], Mapping[str, Any] | None]


def _value_set_contains(
    value_set: Mapping[str, Any], system: str | None, code: str, resolve: _Resolver, seen: frozenset[str]
) -> bool | None:
    expanded = _expansion_contains(value_set.get("expansion"), system, code)
    if expanded is not None:
        return expanded
    compose = value_set.get("compose")
    if not isinstance(compose, Mapping):
        return None
    included = _any_entry(compose.get("include"), system, code, resolve, seen)
    if included is not True:
        return included
    excluded = _any_entry(compose.get("exclude"), system, code, resolve, seen)
    return None if excluded is None else not excluded


def _expansion_contains(expansion: Any, system: str | None, code: str) -> bool | None:
    if not isinstance(expansion, Mapping) or "contains" not in expansion:
        return None
    listed = 0
    pending = list(mappings(expansion.get("contains")))
    while pending:
        entry = pending.pop()
        listed += 1
        if entry.get("code") == code and (system is None or entry.get("system") == system):
            return True
        pending.extend(mappings(entry.get("contains")))
    offset, total = expansion.get("offset"), expansion.get("total")
    partial = (isinstance(offset, int) and offset > 0) or (isinstance(total, int) and total > listed)
    return None if partial else False


def _any_entry(
    entries: Any, system: str | None, code: str, resolve: _Resolver, seen: frozenset[str]
) -> bool | None:
    results = [_entry_contains(entry, system, code, resolve, seen) for entry in mappings(entries)]
    if True in results:
        return True
    return None if None in results else False


def _entry_contains(
    entry: Mapping[str, Any], system: str | None, code: str, resolve: _Resolver, seen: frozenset[str]
) -> bool | None:
    entry_system = as_text(entry.get("system"))
    if entry_system is not None and system is not None and entry_system != system:
        return False
    parts: list[bool | None] = []
    if entry_system is not None:
        parts.append(_system_contains(entry, entry_system, code, resolve))
    for url in strings(entry.get("valueSet")):
        parts.append(_referenced_contains(url, system, code, resolve, seen))
    if not parts:
        return False
    if False in parts:
        return False
    return None if None in parts else True


def _system_contains(entry: Mapping[str, Any], system: str, code: str, resolve: _Resolver) -> bool | None:
    concepts = mappings(entry.get("concept"))
    if concepts:
        return any(concept.get("code") == code for concept in concepts)
    if entry.get("filter"):
        return None
    code_system = resolve(system)
    if not isinstance(code_system, Mapping) or code_system.get("content") != "complete":
        return None
    return code in _all_codes(code_system)


def _referenced_contains(
    url: Any, system: str | None, code: str, resolve: _Resolver, seen: frozenset[str]
) -> bool | None:
    if not isinstance(url, str) or url in seen or len(seen) >= _MAX_VALUE_SET_HOPS:
        return None
    value_set = resolve(url)
    if value_set is None:
        return None
    return _value_set_contains(value_set, system, code, resolve, seen | {url})


def _all_codes(code_system: Mapping[str, Any]) -> set[str]:
    codes: set[str] = set()
    pending = list(mappings(code_system.get("concept")))
    while pending:
        concept = pending.pop()
        if isinstance(concept.get("code"), str):
            codes.add(concept["code"])
        pending.extend(mappings(concept.get("concept")))
    return codes
