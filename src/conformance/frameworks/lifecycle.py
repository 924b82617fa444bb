"""A standard's life cycle as frameworks and the register read it: status, version, successor.

A definition carries them in its `lifecycle` (`conformance.standards`); a statement may also record them
for the standard it was made against. This module is the one place that reads them, from either, so a
definition or a statement written before standards had a life cycle still reads: no status means
"active", no version means the version is not known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import ConformanceError
from conformance.standards import Standard, load_standard
from conformance.statements.model import StandardRecord

ACTIVE = "active"
RETIRED = "retired"
DEPRECATED = "deprecated"
STATUSES = ("draft", "trial-use", ACTIVE, DEPRECATED, RETIRED)


def _text(holder: object, name: str) -> str | None:
    """The field, on the holder's life cycle or on the holder itself; None when absent or empty."""
    for place in (getattr(holder, "lifecycle", None), holder):
        value = getattr(place, name, None)
        if isinstance(value, str) and value:
            return str(value)  # plain text, also from a str enum
    return None


def status_of(standard: Standard | StandardRecord) -> str:
    """The standard's status; "active" when it has none (definitions that predate the life cycle)."""
    return _text(standard, "status") or ACTIVE


def version_of(standard: Standard | StandardRecord) -> str | None:
    return _text(standard, "version")


def successor_of(standard: Standard | StandardRecord) -> str | None:
    return _text(standard, "successor")


@dataclass(frozen=True)
class StandardFacts:
    """What is known of the standard a statement was made against."""

    id: str
    title: str
    version: str | None
    status: str
    successor: str | None
    definition: Standard | None


class KnownStandards:
    """Standard definitions by id (searched in `search_path`, then the shipped ones), read once each."""

    def __init__(self, search_path: Sequence[Path] = ()) -> None:
        self._search_path = tuple(search_path)
        self._found: dict[str, Standard | None] = {}

    def definition(self, standard_id: str) -> Standard | None:
        """The definition with this id, or None when there is none (or it cannot be read)."""
        if standard_id not in self._found:
            try:
                self._found[standard_id] = load_standard(standard_id, search_path=self._search_path)
            except ConformanceError:
                self._found[standard_id] = None
        return self._found[standard_id]

    def facts(self, record: StandardRecord) -> StandardFacts:
        """The version and status of a statement's standard: as the statement records them, else as the
        definition of the same id says, when that definition is the very one assessed against (same digest).
        """
        definition = self.definition(record.id)
        same = definition is not None and definition.sha256 == record.definition_sha256
        version = version_of(record) or (version_of(definition) if same and definition else None)
        # A status is a fact about the standard now, not when the statement was made: the definition wins
        # when it is the same version (a standard retired since then is retired for old statements too).
        current = definition is not None and (same or version_of(definition) == version)
        status = status_of(definition) if current and definition else status_of(record)
        successor = successor_of(definition) if current and definition else successor_of(record)
        return StandardFacts(record.id, record.title, version, status, successor, definition)
