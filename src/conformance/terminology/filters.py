"""ValueSet `compose.include.filter` evaluated over a local CodeSystem.

Each operation returns the set of matching codes, or None when the filter
cannot be evaluated here (an operation this module does not know, a bad
regex, a regex too costly to run); the caller then treats the include as
not enumerable rather than guessing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from conformance.terminology.codesystem import CodeSystemIndex

# Filters come from packages and user files, which may be hostile: a regex gets this long per code.
REGEX_TIMEOUT_SECONDS = 0.05
REGEX_BUDGET_SECONDS = 2.0  # for one filter over a whole CodeSystem

Evaluator = Callable[[CodeSystemIndex, str, str], "set[str] | None"]


_CODE_PROPERTIES = ("concept", "code")


def _is_a(cs: CodeSystemIndex, prop: str, value: str) -> set[str] | None:
    if prop not in _CODE_PROPERTIES:
        return None
    concept = cs.find(value)
    return {concept.code, *cs.descendants(concept.code)} if concept else set()


def _descendent_of(cs: CodeSystemIndex, prop: str, value: str) -> set[str] | None:
    if prop not in _CODE_PROPERTIES:
        return None
    concept = cs.find(value)
    return cs.descendants(concept.code) - {concept.code} if concept else set()


def _is_not_a(cs: CodeSystemIndex, prop: str, value: str) -> set[str] | None:
    below = _is_a(cs, prop, value)
    return None if below is None else set(cs.concepts) - below


def _generalizes(cs: CodeSystemIndex, prop: str, value: str) -> set[str] | None:
    if prop not in _CODE_PROPERTIES:
        return None
    concept = cs.find(value)
    return {concept.code, *cs.ancestors(concept.code)} if concept else set()


def _equals(cs: CodeSystemIndex, prop: str, value: str) -> set[str] | None:
    return {code for code in cs.concepts if value in cs.values_of(code, prop)}


def _listed(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def _in(cs: CodeSystemIndex, prop: str, value: str) -> set[str] | None:
    wanted = _listed(value)
    return {code for code in cs.concepts if wanted.intersection(cs.values_of(code, prop))}


def _not_in(cs: CodeSystemIndex, prop: str, value: str) -> set[str] | None:
    return set(cs.concepts) - (_in(cs, prop, value) or set())


def _exists(cs: CodeSystemIndex, prop: str, value: str) -> set[str] | None:
    if value not in ("true", "false"):
        return None
    wanted = value == "true"
    return {code for code in cs.concepts if cs.has_property(code, prop) == wanted}


def _regex(cs: CodeSystemIndex, prop: str, value: str) -> set[str] | None:
    import regex  # noqa: PLC0415 -- loaded by the first regex filter, not by every run

    try:
        pattern = regex.compile(value)
    except regex.error:
        return None
    deadline = time.monotonic() + REGEX_BUDGET_SECONDS
    matched: set[str] = set()
    for code in cs.concepts:
        try:
            if any(
                pattern.fullmatch(text, timeout=REGEX_TIMEOUT_SECONDS) for text in cs.values_of(code, prop)
            ):
                matched.add(code)
        except TimeoutError:
            return None
        if time.monotonic() > deadline:
            return None
    return matched


_OPERATIONS: Mapping[str, Evaluator] = {
    "is-a": _is_a,
    "descendent-of": _descendent_of,
    "is-not-a": _is_not_a,
    "generalizes": _generalizes,
    "=": _equals,
    "in": _in,
    "not-in": _not_in,
    "exists": _exists,
    "regex": _regex,
}


def evaluate_filter(cs: CodeSystemIndex, raw: Mapping[str, Any]) -> set[str] | None:
    """The codes of `cs` that a filter selects; None when it cannot be evaluated locally."""
    prop, op, value = raw.get("property"), raw.get("op"), raw.get("value")
    if not (isinstance(prop, str) and isinstance(op, str) and isinstance(value, str)):
        return None
    evaluator = _OPERATIONS.get(op)
    return evaluator(cs, prop, value) if evaluator else None


def supported_operations() -> frozenset[str]:
    return frozenset(_OPERATIONS)
