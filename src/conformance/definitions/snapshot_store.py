"""An optional on-disk cache of generated snapshots.

An entry is keyed by a hash of the StructureDefinition's content, the FHIR
version and the generator version, and records the content hash of every
definition consulted to generate it (the base chain, datatypes, type profiles).
An entry is used only while all of those still hash the same, so a changed
package never serves a stale snapshot. The cache is a convenience: a missing,
unreadable or corrupt entry just means generating again, and a folder that
cannot be written is not an error.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from conformance.outcome import Issue, Severity


def content_hash(data: Any) -> str:
    """sha256 of the canonical JSON (sorted keys) of `data`.

    Definitions read from a payload keep their decimals as `Decimal` (exact values, see instance/): they are
    hashed by their text, which is what identifies them.
    """
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=_decimal_text)).hexdigest()


def _decimal_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


@dataclass(frozen=True)
class StoredSnapshot:
    structure_definition: dict[str, Any]
    issues: tuple[Issue, ...]
    dependencies: tuple[tuple[str, str], ...]


class SnapshotStore:
    """Entries under one folder, one JSON file each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def key(self, sd: Mapping[str, Any], *parts: str) -> str:
        return hashlib.sha256("\n".join([content_hash(sd), *parts]).encode()).hexdigest()

    def load(self, key: str) -> StoredSnapshot | None:
        try:
            data = orjson.loads((self.directory / f"{key}.json").read_bytes())
            return StoredSnapshot(
                structure_definition=dict(data["structure_definition"]),
                issues=tuple(_issue_from(item) for item in data["issues"]),
                dependencies=tuple((str(url), str(digest)) for url, digest in data["dependencies"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def save(self, key: str, stored: StoredSnapshot) -> None:
        try:
            payload = orjson.dumps(
                {
                    "structure_definition": stored.structure_definition,
                    "issues": [issue.to_dict() for issue in stored.issues],
                    "dependencies": [list(pair) for pair in stored.dependencies],
                }
            )
        except TypeError:
            return  # exact decimals (a definition inside a payload) have no JSON form here: not cached
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                stream.write(payload)
            os.replace(temporary, self.directory / f"{key}.json")
        except OSError:
            return


def _issue_from(data: Mapping[str, Any]) -> Issue:
    return Issue(
        severity=Severity(data["severity"]),
        code=str(data["code"]),
        message_id=str(data["message_id"]),
        message=str(data["message"]),
        location=str(data.get("location", "")),
        line=data.get("line"),
        column=data.get("column"),
        profile=data.get("profile"),
        element_id=data.get("element_id"),
        constraint=data.get("constraint"),
    )
