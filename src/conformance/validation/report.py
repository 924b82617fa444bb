"""Locations and the per-payload issue collector.

A `Loc` is a cheap linked list (parent, step): most elements never have an
issue, so the FHIRPath string and JSON path are only built when one is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from conformance.outcome import Issue, Severity

JsonPath = tuple[str | int, ...]


class Loc:
    """Where a value sits: a FHIRPath-style location and a JSON path, built on demand."""

    __slots__ = (
        "_json",
        "_text",
        "base_path",
        "index",
        "json_key",
        "name",
        "parent",
        "rule_path",
        "type_code",
    )

    def __init__(self, parent: Loc | None, name: str, index: int | None = None, json_key: str | None = None):
        self.parent = parent
        self.name = name
        self.index = index
        self.json_key = json_key if json_key is not None else name
        self._text: str | None = None
        self._json: JsonPath | None = None
        # What the walk learnt about the element here (for extension contexts): its definition path and type.
        self.rule_path: str | None = None
        self.base_path: str | None = None
        self.type_code: str | None = None

    @classmethod
    def root(cls, resource_type: str) -> Loc:
        return cls(None, resource_type, json_key="")

    def child(self, name: str, index: int | None = None, json_key: str | None = None) -> Loc:
        return Loc(self, name, index, json_key)

    def at(self, index: int) -> Loc:
        loc = Loc(self.parent, self.name, index, self.json_key)
        loc.rule_path, loc.base_path = self.rule_path, self.base_path
        return loc

    @property
    def text(self) -> str:
        if self._text is None:
            step = self.name if self.index is None else f"{self.name}[{self.index}]"
            self._text = step if self.parent is None else f"{self.parent.text}.{step}"
        return self._text

    @property
    def json_path(self) -> JsonPath:
        if self._json is None:
            if self.parent is None:
                self._json = ()
            else:
                own: JsonPath = (self.json_key,) if self.index is None else (self.json_key, self.index)
                self._json = self.parent.json_path + own
        return self._json

    def __repr__(self) -> str:
        return f"Loc({self.text})"


class Found(NamedTuple):
    """An issue and the JSON path its position will be looked up by (a tuple: one per issue adds up)."""

    issue: Issue
    path: JsonPath


_TAKEN = Found(Issue(Severity.INFORMATION, "", "", ""), ())


class Reporter:
    """Collects issues for one payload; positions are attached at the end."""

    def __init__(self) -> None:
        self.found: list[Found] = []
        self._seen: set[tuple[Any, ...]] = set()
        self._errors = 0
        self._done: set[tuple[Any, ...]] = set()
        self._texts: dict[str, str] = {}
        self._keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def first_time(self, work: tuple[Any, ...]) -> bool:
        """True the first time a piece of work (whose issues would all repeat) is announced to this report.

        Kept per report, not per walk: a trial walk into a scratch report (a slice, one of several profiles)
        may be thrown away, so what it did must not count as done for the report that is kept.
        """
        if work in self._done:
            return False
        self._done.add(work)
        return True

    def add(
        self,
        severity: Severity,
        code: str,
        message_id: str,
        message: str,
        loc: Loc | None,
        *,
        profile: str | None = None,
        element_id: str | None = None,
        constraint: str | None = None,
        dedupe: tuple[Any, ...] | None = None,
    ) -> None:
        location = loc.text if loc is not None else ""
        # The same words and keys recur wherever a rule fails (an invariant in each of 200,000 entries): one
        # copy of each is kept.
        message = self._texts.setdefault(message, message)
        if dedupe is not None:
            dedupe = self._keys.setdefault(dedupe, dedupe)
        key = (severity, location, message_id, dedupe if dedupe is not None else message)
        if key in self._seen:
            return
        self._seen.add(key)
        issue = Issue(
            severity=severity,
            code=code,
            message_id=message_id,
            message=message,
            location=location,
            profile=profile,
            element_id=element_id,
            constraint=constraint,
        )
        self.found.append(Found(issue, loc.json_path if loc is not None else ()))
        if severity.is_error:
            self._errors += 1

    def error(self, code: str, message_id: str, message: str, loc: Loc | None, **kw: Any) -> None:
        self.add(Severity.ERROR, code, message_id, message, loc, **kw)

    def warning(self, code: str, message_id: str, message: str, loc: Loc | None, **kw: Any) -> None:
        self.add(Severity.WARNING, code, message_id, message, loc, **kw)

    def info(self, code: str, message_id: str, message: str, loc: Loc | None, **kw: Any) -> None:
        self.add(Severity.INFORMATION, code, message_id, message, loc, **kw)

    def absorb(self, other: Reporter) -> None:
        """Take over what a trial walk found (its issues already carry their locations)."""
        for found in other.found:
            issue = found.issue
            key = (issue.severity, issue.location, issue.message_id, issue.message)
            if key not in self._seen:
                self._seen.add(key)
                self.found.append(found)
                self._errors += issue.severity.is_error

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0

    @property
    def error_count(self) -> int:
        return self._errors

    def positioned(self, position: Callable[[JsonPath], tuple[int, int] | None]) -> list[Issue]:
        """The issues with their line and column. Ends the report: what it found is handed over, not copied
        (each unpositioned issue is let go as its positioned copy is made, so a payload with an issue per
        entry does not hold both at once)."""
        found, self.found = self.found, []
        for kept in (self._seen, self._done, self._texts, self._keys):
            kept.clear()  # what deduplicated the issues is no longer needed: let it go before positions
        issues = []
        for index, one in enumerate(found):
            where = _nearest_position(one.path, position)
            issues.append(one.issue.with_position(*where) if where else one.issue)
            found[index] = _TAKEN
        return issues


def _nearest_position(
    path: JsonPath, position: Callable[[JsonPath], tuple[int, int] | None]
) -> tuple[int, int] | None:
    """The position of the path, or of its nearest ancestor that has one (a missing element has none)."""
    for end in range(len(path), -1, -1):
        where = position(path[:end])
        if where is not None:
            return where
    return None


def severity_of(text: str) -> Severity:
    try:
        return Severity(text)
    except ValueError:
        return Severity.ERROR
