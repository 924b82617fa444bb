"""The coverage data in profiles/rule-coverage: the reference catalogue snapshot, families and rules.

One rule per key of the reference's catalogue (HL7 validator, `Messages.properties` / `I18nConstants`):
what it checks in our own words, whether this engine implements it (with our message ids and the tests
that exercise them) or why not. Families give one reason to keys that share it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance._resources import PROFILES, package_folder
from conformance.errors import InputError

STATUSES = ("implemented", "not-implemented", "not-applicable")
COVERAGE_FOLDER = "rule-coverage"


@dataclass(frozen=True)
class Source:
    """Where the reference catalogue snapshot was read."""

    repository: str
    commit: str
    commit_date: str
    messages: str
    constants: str
    note: str


@dataclass(frozen=True)
class Family:
    name: str
    status: str
    title: str
    reason: str


@dataclass(frozen=True)
class Rule:
    key: str
    family: str
    status: str
    summary: str
    ids: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    reason: str = ""
    # A rule our engine checks through a FHIR constraint (txt-1, dom-3...), reported as invariant.failed.
    constraint: str = ""


@dataclass(frozen=True)
class Coverage:
    source: Source
    keys: tuple[str, ...]
    families: Mapping[str, Family]
    rules: tuple[Rule, ...]

    def reason_for(self, rule: Rule) -> str:
        """The rule's own reason, else its family's."""
        if rule.reason:
            return rule.reason
        family = self.families.get(rule.family)
        return family.reason if family else ""


def default_folder() -> Path:
    return package_folder(PROFILES, COVERAGE_FOLDER)


def load(folder: Path | None = None) -> Coverage:
    """Read catalogue.toml, families.toml and rules/*.toml; InputError on a malformed file."""
    root = folder or default_folder()
    catalogue = _read(root / "catalogue.toml")
    families = _families(_read(root / "families.toml"), root / "families.toml")
    rules: list[Rule] = []
    for path in sorted((root / "rules").glob("*.toml")):
        rules.extend(_rules(_read(path), path))
    source_table = _table(catalogue, "source", root / "catalogue.toml")
    return Coverage(
        source=Source(
            **{name: _text(source_table, name, root / "catalogue.toml") for name in _SOURCE_FIELDS}
        ),
        keys=tuple(_strings(catalogue, "keys", root / "catalogue.toml")),
        families=families,
        rules=tuple(rules),
    )


_SOURCE_FIELDS = ("repository", "commit", "commit_date", "messages", "constants", "note")


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path} is not valid TOML: {error}") from None


def _families(data: Mapping[str, Any], path: Path) -> dict[str, Family]:
    table = _table(data, "family", path)
    families: dict[str, Family] = {}
    for name, entry in table.items():
        if not isinstance(entry, Mapping):
            raise InputError(f"{path}: family {name!r} must be a table")
        status = _status(entry, f"{path}: family {name!r}")
        families[name] = Family(name, status, _text(entry, "title", path), _text(entry, "reason", path))
    return families


def _rules(data: Mapping[str, Any], path: Path) -> list[Rule]:
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise InputError(f"{path}: 'rule' must be an array of tables")
    rules = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise InputError(f"{path}: every [[rule]] must be a table")
        key = _text(entry, "key", path)
        where = f"{path}: rule {key!r}"
        rules.append(
            Rule(
                key=key,
                family=_text(entry, "family", where),
                status=_status(entry, where),
                summary=_text(entry, "summary", where),
                ids=tuple(_strings(entry, "ids", where, required=False)),
                tests=tuple(_strings(entry, "tests", where, required=False)),
                reason=str(entry.get("reason", "")),
                constraint=str(entry.get("constraint", "")),
            )
        )
    return rules


def _status(entry: Mapping[str, Any], where: str) -> str:
    status = entry.get("status")
    if status not in STATUSES:
        raise InputError(f"{where}: status must be one of {', '.join(STATUSES)}, not {status!r}")
    return str(status)


def _table(data: Mapping[str, Any], name: str, where: object) -> Mapping[str, Any]:
    value = data.get(name)
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: [{name}] table is missing")
    return value


def _text(entry: Mapping[str, Any], name: str, where: object) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: '{name}' must be a non-empty string")
    return value


def _strings(entry: Mapping[str, Any], name: str, where: object, *, required: bool = True) -> Sequence[str]:
    value = entry.get(name, None if required else [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"{where}: '{name}' must be a list of strings")
    return value
