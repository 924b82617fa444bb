"""Issues and outcomes: what a validation run says about one payload.

The shapes follow docs/DESIGN.md. Message ids are stable and catalogued in
docs/message-ids.md; tests and users match on them, never on the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any

EXT_LINE = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
EXT_COLUMN = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col"
EXT_MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"
EXT_SOURCE = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-source"


class Severity(Enum):
    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"

    @property
    def is_error(self) -> bool:
        return self in (Severity.FATAL, Severity.ERROR)

    @property
    def rank(self) -> int:
        return _RANK[self]


def _rebuilt(value: Any) -> tuple[Any, tuple[Any, ...]]:
    """How pickle and copy rebuild a frozen dataclass below: its class, called with its fields.

    Results cross processes (`--jobs`, Dask) pickled. Compiled by mypyc (docs/compiled.md), these classes
    have no `__dict__` for pickle's default to fill in, and setting a frozen field fails.
    """
    return type(value), tuple(getattr(value, f.name) for f in fields(value))


_RANK = {Severity.FATAL: 0, Severity.ERROR: 1, Severity.WARNING: 2, Severity.INFORMATION: 3}


@dataclass(frozen=True, slots=True)  # slots: a payload may have an issue in each of 200,000 entries
class Issue:
    """One finding about one place in one payload."""

    severity: Severity
    code: str
    message_id: str
    message: str
    location: str = ""
    line: int | None = None
    column: int | None = None
    profile: str | None = None
    element_id: str | None = None
    constraint: str | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _rebuilt(self)

    def with_position(self, line: int | None, column: int | None) -> Issue:
        return replace(self, line=line, column=column)

    def sort_key(self) -> tuple[int, int, str, str, int, str]:
        # Issues without a position sort after positioned ones, by location.
        return (
            self.line if self.line is not None else 1 << 30,
            self.column if self.column is not None else 0,
            self.location,
            self.message_id,
            self.severity.rank,
            self.message,
        )

    def to_operation_outcome_issue(self) -> dict[str, Any]:
        extensions: list[dict[str, Any]] = []
        if self.line is not None:
            extensions.append({"url": EXT_LINE, "valueInteger": self.line})
        if self.column is not None:
            extensions.append({"url": EXT_COLUMN, "valueInteger": self.column})
        extensions.append({"url": EXT_MESSAGE_ID, "valueCode": self.message_id})
        if self.profile:
            extensions.append({"url": EXT_SOURCE, "valueString": self.profile})
        issue: dict[str, Any] = {
            "extension": extensions,
            "severity": self.severity.value,
            "code": self.code,
            "details": {"text": self.message},
        }
        if self.location:
            issue["expression"] = [self.location]
        return issue

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "severity": self.severity.value,
            "code": self.code,
            "message_id": self.message_id,
            "message": self.message,
            "location": self.location,
        }
        optional = {
            "line": self.line,
            "column": self.column,
            "profile": self.profile,
            "element_id": self.element_id,
            "constraint": self.constraint,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        return data


def _in_order(issues: tuple[Issue, ...]) -> bool:
    """Whether the issues are sorted already (as a walk in text order finds them): then sorting, which holds
    a key for every issue at once, can be skipped; the order is the same either way, sorting being stable."""
    keys = map(Issue.sort_key, issues)
    previous = next(keys, None)
    if previous is None:
        return True
    for key in keys:
        if key < previous:
            return False
        previous = key
    return True


@dataclass(frozen=True)
class NotChecked:
    """A rule that was in scope but could not be evaluated, and why."""

    what: str
    reason: str

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _rebuilt(self)


@dataclass(frozen=True)
class Outcome:
    """The issues of one payload, in deterministic order."""

    issues: tuple[Issue, ...] = ()
    profiles: tuple[str, ...] = ()
    not_checked: tuple[NotChecked, ...] = ()
    source: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _rebuilt(self)

    @classmethod
    def of(
        cls,
        issues: Iterable[Issue],
        *,
        profiles: Iterable[str] = (),
        not_checked: Iterable[NotChecked] = (),
        source: str | None = None,
    ) -> Outcome:
        unique = tuple(dict.fromkeys(issues))
        return cls(
            issues=unique if _in_order(unique) else tuple(sorted(unique, key=Issue.sort_key)),
            profiles=tuple(dict.fromkeys(profiles)),
            not_checked=tuple(dict.fromkeys(not_checked)),
            source=source,
        )

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(issue for issue in self.issues if issue.severity.is_error)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(issue for issue in self.issues if issue.severity is Severity.WARNING)

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_operation_outcome(self) -> dict[str, Any]:
        issues = [issue.to_operation_outcome_issue() for issue in self.issues]
        if not issues:
            issues = [
                {
                    "severity": "information",
                    "code": "informational",
                    "details": {"text": "No issues detected during validation"},
                }
            ]
        return {"resourceType": "OperationOutcome", "issue": issues}

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "source": self.source,
            "profiles": list(self.profiles),
            "issues": [issue.to_dict() for issue in self.issues],
            "not_checked": [{"what": n.what, "reason": n.reason} for n in self.not_checked],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
