"""Suppressions: issues an assessor sets aside on purpose, each with the reason written down.

A suppressed issue stays in the evidence (marked), but counts for nothing in the results; the
statement lists every suppression with its rationale and how many issues it set aside, so a reader
can judge it. A suppressions file is TOML:

    [[suppress]]
    message_id = "invariant.failed"      # a glob: "binding.*" sets aside every binding issue
    constraint = "dom-6"                 # optional: only this invariant
    profile = "https://..."              # optional: only issues from this profile
    location = "Patient.extension[*]"    # optional: a glob over the issue location
    rationale = "Narrative is generated downstream by the shared record, not by the feed."
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from conformance.errors import InputError
from conformance.outcome import Issue
from conformance.standards import bare_canonical

_FIELDS = frozenset({"message_id", "constraint", "profile", "location", "rationale"})
MAX_FILE_BYTES = 1 << 20
MAX_RATIONALE = 2000


@dataclass(frozen=True)
class Suppression:
    """Which issues to set aside (every given field must match) and why."""

    message_id: str
    rationale: str
    constraint: str | None = None
    profile: str | None = None
    location: str | None = None

    def __post_init__(self) -> None:
        if not self.message_id.strip():
            raise InputError("a suppression needs a message_id")
        if not self.rationale.strip():
            raise InputError(
                f"the suppression of {self.message_id} needs a rationale: say why it is set aside"
            )
        if len(self.rationale) > MAX_RATIONALE:
            raise InputError(f"the rationale for {self.message_id} is over {MAX_RATIONALE} characters")

    def matches(self, issue: Issue) -> bool:
        return (
            fnmatchcase(issue.message_id, self.message_id)
            and (self.constraint is None or issue.constraint == self.constraint)
            and (self.profile is None or bare_canonical(issue.profile or "") == bare_canonical(self.profile))
            and (self.location is None or fnmatchcase(issue.location, self.location))
        )


def first_match(suppressions: Sequence[Suppression], issue: Issue) -> int | None:
    """The index of the first suppression that sets the issue aside, if any."""
    return next((index for index, rule in enumerate(suppressions) if rule.matches(issue)), None)


def load_suppressions(path: Path) -> tuple[Suppression, ...]:
    """Read a suppressions file (TOML, see the module doc)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the suppressions file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{path}: a suppressions file may not exceed {MAX_FILE_BYTES} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML suppressions file ({exc})") from None
    items = data.get("suppress", [])
    if not isinstance(items, list) or set(data) - {"suppress"}:
        raise InputError(f"{path}: a suppressions file holds only [[suppress]] tables")
    return tuple(
        suppression_from_dict(item, where=f"{path}: suppression {n}") for n, item in enumerate(items, 1)
    )


def suppression_from_dict(item: Any, *, where: str) -> Suppression:
    if not isinstance(item, Mapping) or set(item) - _FIELDS:
        raise InputError(f"{where}: expected the fields {', '.join(sorted(_FIELDS))} only")
    if not all(isinstance(value, str) for value in item.values()):
        raise InputError(f"{where}: every field must be text")
    try:
        return Suppression(
            message_id=item.get("message_id", ""),
            rationale=item.get("rationale", ""),
            constraint=item.get("constraint"),
            profile=item.get("profile"),
            location=item.get("location"),
        )
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
