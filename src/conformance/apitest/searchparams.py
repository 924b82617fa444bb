"""Search parameters as the loaded FHIR packages define them: which a type has, the values a resource
holds for one (its FHIRPath expression), and whether a returned resource matches a search.

Matching follows the FHIR search rules for the types the tests search with: token (`[system]|code`,
or a code alone), string (starts with, ignoring case and accents), reference (`[type]/id` or id), and
the resource id. Other types are not compared (the test says so).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.context import Context
from conformance.fhirpath import FhirPathEngine, FhirPathError, Hooks, ResolveScope

MATCHED_TYPES = frozenset({"token", "string", "reference"})
_NAME_PARTS = ("text", "family", "given", "line", "city", "district", "state", "postalCode", "country")


@dataclass(frozen=True)
class SearchParam:
    code: str
    type: str
    expression: str


class SearchParams:
    """The search parameters of the types in scope, by type and code, and their evaluation."""

    def __init__(self, context: Context, types: set[str]) -> None:
        self._by_type: dict[str, dict[str, SearchParam]] = {name: {} for name in types}
        for definition in context.resources("SearchParameter"):
            code, kind = definition.get("code"), definition.get("type")
            expression = definition.get("expression")
            if not (isinstance(code, str) and isinstance(kind, str) and isinstance(expression, str)):
                continue
            for base in definition.get("base") or ():
                if base in self._by_type:
                    self._by_type[base].setdefault(code, SearchParam(code, kind, _for_type(expression, base)))
        self._engine = FhirPathEngine(context.fhir_version, Hooks(resolve=_reference_stub))

    def get(self, resource_type: str, code: str) -> SearchParam | None:
        if code == "_id":
            return SearchParam("_id", "token", f"{resource_type}.id")
        return self._by_type.get(resource_type, {}).get(code)

    def values(self, param: SearchParam, resource: Mapping[str, Any]) -> list[Any]:
        """What the resource holds for the parameter (JSON values); [] when it cannot be evaluated."""
        try:
            return [_plain(value) for value in self._engine.compile(param.expression).evaluate(resource)]
        except FhirPathError:
            return []

    def search_value(self, param: SearchParam, resource: Mapping[str, Any]) -> str | None:
        """A value to search by, taken from a resource (as Inferno does for follow-up searches)."""
        for value in self.values(param, resource):
            text = _as_search_value(param.type, value)
            if text:
                return text
        return None

    def matches(self, param: SearchParam, wanted: str, resource: Mapping[str, Any]) -> bool | None:
        """Whether the resource matches `param=wanted`; None when this type of parameter is not compared."""
        if param.type not in MATCHED_TYPES:
            return None
        held = self.values(param, resource)
        return any(_one_matches(param.type, wanted, value) for value in held)


def _for_type(expression: str, base: str) -> str:
    """The part of a shared expression (`A.x | B.y`) that applies to one type."""
    parts = [part.strip() for part in expression.split("|")]
    own = [part for part in parts if part.startswith(f"{base}.") or part.startswith(f"({base}.")]
    return " | ".join(own) if own else expression


def _reference_stub(reference: str, scope: ResolveScope) -> Mapping[str, Any] | None:
    """resolve() in search expressions only asks what type a reference points to."""
    parts = reference.split("/")
    return {"resourceType": parts[-2], "id": parts[-1]} if len(parts) >= 2 else None


def _plain(value: Any) -> Any:
    inner = getattr(value, "value", value)
    return inner if isinstance(inner, (dict, list, str, bool, int)) else str(inner)


def _as_search_value(kind: str, value: Any) -> str | None:
    if kind == "token":
        coding = next(iter(_codings(value)), None)
        return None if coding is None else (f"{coding[0]}|{coding[1]}" if coding[0] else coding[1])
    if kind == "string":
        # A HumanName or Address matches by any of its parts (not its use or type codes): search by one.
        return next(iter(_string_parts(value)), None)
    if kind == "date" and isinstance(value, str) and len(value) >= 10:
        return value[:10]  # the day: a date search matches when the value's range overlaps it
    if kind == "reference" and isinstance(value, dict) and isinstance(value.get("reference"), str):
        return str(value["reference"])
    return None


def _string_parts(value: Any) -> list[str]:
    """The texts a string parameter searches in a value: itself, or a name's or address's parts."""
    if isinstance(value, dict):
        return [text for key in _NAME_PARTS if value.get(key) for text in _strings(value[key])]
    return [value] if isinstance(value, str) else []


def _codings(value: Any) -> Iterator[tuple[str, str]]:
    """(system, code) pairs a token parameter sees in a value: code, Coding, CodeableConcept, Identifier."""
    if isinstance(value, (str, bool)):
        yield "", str(value).lower() if isinstance(value, bool) else value
    elif isinstance(value, dict):
        for coding in value.get("coding") or ():
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                yield str(coding.get("system") or ""), coding["code"]
        for key in ("code", "value"):
            if isinstance(value.get(key), str):
                yield str(value.get("system") or ""), value[key]


def _one_matches(kind: str, wanted: str, value: Any) -> bool:
    if kind == "token":
        system, _, code = wanted.rpartition("|") if "|" in wanted else ("", "", wanted)
        return any(
            held_code == code and ("|" not in wanted or held_system == system)
            for held_system, held_code in _codings(value)
        )
    if kind == "string":
        return any(_folded(text).startswith(_folded(wanted)) for text in _string_parts(value))
    held = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(held, str):
        return False
    return held == wanted or held.endswith(f"/{wanted}") or wanted.endswith(f"/{held}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
