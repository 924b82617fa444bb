"""What a report is written from: each payload's Outcome, with where the payload came from.

A payload is one resource a run validated: a file, one line of an NDJSON file, or a Bundle (whose
entries are listed so that reports can show each entry as its own test). Issue positions in the
Outcome are positions in the file named by `source`, so a report can point into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.outcome import Issue, Outcome

_STEP_START = re.compile(r"[.\[]")


@dataclass(frozen=True, slots=True)
class EntryPart:
    """One entry of a Bundle payload: its label, where its issues are, the profiles it was checked against.

    The label and the location are made when asked for, from the index, type and id: a Bundle may have
    200,000 entries, and two strings each would be kept for the whole run.
    """

    index: int
    kind: str | None = None
    identity: str | None = None
    profiles: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return (
            f"entry[{self.index}]"
            + (f" {self.kind}" if self.kind else "")
            + (f"/{self.identity}" if self.identity is not None else "")
        )

    @property
    def location_prefix(self) -> str:
        return f"Bundle.entry[{self.index}]"

    def holds(self, issue: Issue) -> bool:
        location = issue.location
        prefix = self.location_prefix
        return location == prefix or location.startswith((prefix + ".", prefix + "["))


@dataclass(frozen=True)
class PayloadResult:
    """One validated payload."""

    outcome: Outcome
    source: str
    """The file as the user named it (a path, kept relative when it was given relative)."""
    line: int | None = None
    """For a payload that is one line of a file (NDJSON): that line."""
    resource_type: str | None = None
    profiles: tuple[str, ...] = ()
    """The profiles the run was asked to check this payload against (`meta.profile` ones are not listed)."""
    entries: tuple[EntryPart, ...] = ()

    @property
    def name(self) -> str:
        """How reports name the payload: `patients.ndjson:12` for a line, the path otherwise."""
        return self.source if self.line is None else f"{self.source}:{self.line}"

    @property
    def valid(self) -> bool:
        return self.outcome.valid

    def issues_outside_entries(self) -> tuple[Issue, ...]:
        return self.issues_by_entry()[0]

    def issues_of(self, entry: EntryPart) -> tuple[Issue, ...]:
        return tuple(issue for issue in self.outcome.issues if entry.holds(issue))

    def issues_by_entry(self) -> tuple[tuple[Issue, ...], list[list[Issue]]]:
        """The issues no entry holds, and the issues of each entry (in `entries` order), in one pass.

        An entry holds the issues whose location is its prefix or goes on below it, so each issue is
        looked up by the prefixes of its location, not tested against every entry of a large Bundle.
        """
        by_prefix: dict[str, list[int]] = {}
        for position, entry in enumerate(self.entries):
            by_prefix.setdefault(entry.location_prefix, []).append(position)
        outside: list[Issue] = []
        held: list[list[Issue]] = [[] for _ in self.entries]
        for issue in self.outcome.issues:
            holders = [p for prefix in _prefixes(issue.location) for p in by_prefix.get(prefix, ())]
            for position in holders:
                held[position].append(issue)
            if not holders:
                outside.append(issue)
        return tuple(outside), held


def _prefixes(location: str) -> list[str]:
    """`Bundle.entry[0].id` -> `Bundle`, `Bundle.entry`, `Bundle.entry[0]`, `Bundle.entry[0].id`."""
    return [location[: match.start()] for match in _STEP_START.finditer(location)] + [location]


def result_of(outcome: Outcome, name: str | None = None) -> PayloadResult:
    """A report entry for an Outcome validated outside a run (from the library, say)."""
    return PayloadResult(outcome=outcome, source=name or outcome.source or "payload")
