"""The explain entries: one per message id, kept as data in profiles/explain/<family>.toml.

Each file holds a family of ids (`structure.*`) with its title and where its rules come from, then one
`[[entry]]` per id: the rule, its source (a FHIR specification section, or the profile element that
states it), how to fix it, and a failing and a passing example. An example is a payload unless `check`
says otherwise: `profile` (a StructureDefinition whose snapshot is generated) or `terminology` (a
question put to the terminology service). `unchecked` says why an entry's examples cannot be given as a
standalone input (it needs a large payload, a terminology server...). `definitions` are resources (a
profile, say) that must be loaded for the examples to mean what they show; `profiles` are asked for.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from conformance._resources import profiles_folder
from conformance.errors import InputError

CHECKS = ("payload", "profile", "terminology")
FORMATS = ("json", "xml")
_ENTRY_FIELDS = frozenset(
    {"id", "severity", "code", "rule", "source", "element", "fix", "check", "format", "profiles"}
    | {"options", "unchecked", "failing", "passing", "definitions"}
)
_FAMILY_FIELDS = frozenset({"family", "title", "source", "element", "entry"})


@dataclass(frozen=True)
class Example:
    """An input that gives the id (`failing`) or does not (`passing`)."""

    text: str
    format: str  # json or xml


@dataclass(frozen=True)
class Entry:
    """What `conformance explain ID` says about one message id."""

    id: str
    family: str
    severity: str
    code: str | None
    rule: str
    source: str
    element: str | None
    fix: str
    check: str = "payload"
    profiles: tuple[str, ...] = ()
    options: Mapping[str, Any] | None = None
    unchecked: str | None = None
    definitions: tuple[str, ...] = ()
    failing: Example | None = None
    passing: Example | None = None


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    source: str
    entries: tuple[Entry, ...]


@cache
def families() -> tuple[Family, ...]:
    """Every family of the shipped data, in the order of their names."""
    folder = profiles_folder("explain")
    return tuple(load_family(path) for path in sorted(folder.glob("*.toml")))


def entries() -> dict[str, Entry]:
    """Every entry by message id."""
    return {entry.id: entry for family in families() for entry in family.entries}


def load_family(path: Path) -> Family:
    """One family file; InputError naming the file and the entry when it is malformed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    _no_unknown_fields(data, _FAMILY_FIELDS, path.name)
    name, title, source = (_text(data, key, path.name) for key in ("family", "title", "source"))
    element = data.get("element")
    raw_entries = data.get("entry", [])
    if not isinstance(raw_entries, list):
        raise InputError(f"{path.name}: `entry` must be a list of tables ([[entry]])")
    found = tuple(_entry(raw, name, source, element, path.name) for raw in raw_entries)
    for entry in found:
        if not entry.id.startswith(f"{name}."):
            raise InputError(f"{path.name}: {entry.id} does not belong to the {name} family")
    return Family(name, title, source, found)


def _entry(raw: Any, family: str, source: str, element: Any, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: each [[entry]] must be a table")
    label = f"{where}: {raw.get('id', '?')}"
    _no_unknown_fields(raw, _ENTRY_FIELDS, label)
    check = raw.get("check", "payload")
    example_format = raw.get("format", "json")
    if check not in CHECKS or example_format not in FORMATS:
        raise InputError(f"{label}: check must be one of {CHECKS} and format one of {FORMATS}")
    failing, passing = raw.get("failing"), raw.get("passing")
    if (failing is None) != (passing is None):
        raise InputError(f"{label}: give both a failing and a passing example, or neither")
    if failing is None and not raw.get("unchecked"):
        raise InputError(f"{label}: without examples, `unchecked` must say why")
    return Entry(
        id=_text(raw, "id", where),
        family=family,
        severity=_text(raw, "severity", label),
        code=raw.get("code"),
        rule=_text(raw, "rule", label),
        source=str(raw.get("source", source)),
        element=raw.get("element", element),
        fix=_text(raw, "fix", label),
        check=check,
        profiles=tuple(raw.get("profiles", ())),
        options=raw.get("options"),
        unchecked=raw.get("unchecked"),
        definitions=tuple(str(text) for text in raw.get("definitions", ())),
        failing=Example(str(failing), example_format) if failing is not None else None,
        passing=Example(str(passing), example_format) if passing is not None else None,
    )


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: `{key}` must be a non-empty string")
    return value


def _no_unknown_fields(data: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}")
