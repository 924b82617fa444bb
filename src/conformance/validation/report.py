"""Locations and the per-payload issue collector.

A `Loc` is a cheap linked list (parent, step): most elements never have an
issue, so the FHIRPath string and JSON path are only built when one is reported.

A payload may have an issue in each of 200,000 entries, so the Reporter keeps what it finds compactly until
the positions are known: what is the same from issue to issue (severity, code, message, rule) is kept once
and shared, and each issue holds only its location text (and its JSON path, when that cannot be read back
from the location). The `Issue` objects are made once, with their positions, at the end.
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

    def __init__(
        self,
        parent: Loc | None,
        name: str,
        index: int | None = None,
        json_key: str | None = None,
        rule_path: str | None = None,
        base_path: str | None = None,
    ):
        self.parent = parent
        self.name = name
        self.index = index
        self.json_key = json_key if json_key is not None else name
        self._text: str | None = None
        self._json: JsonPath | None = None
        # What the walk learnt about the element here (for extension contexts): its definition path and type.
        self.rule_path = rule_path
        self.base_path = base_path
        self.type_code: str | None = None

    @classmethod
    def root(cls, resource_type: str) -> Loc:
        return cls(None, resource_type, json_key="")

    def child(self, name: str, index: int | None = None, json_key: str | None = None) -> Loc:
        return Loc(self, name, index, json_key)

    def at(self, index: int) -> Loc:
        return Loc(self.parent, self.name, index, self.json_key, self.rule_path, self.base_path)

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
    """An issue and the JSON path its position will be looked up by."""

    issue: Issue
    path: JsonPath


class _Kind(NamedTuple):
    """What one issue shares with every other issue of the same rule and words: all but its location."""

    severity: Severity
    code: str
    message_id: str
    message: str
    profile: str | None
    element_id: str | None
    constraint: str | None

    def issue(self, location: str, line: int | None = None, column: int | None = None) -> Issue:
        return Issue(
            self.severity,
            self.code,
            self.message_id,
            self.message,
            location,
            line,
            column,
            self.profile,
            self.element_id,
            self.constraint,
        )


_Same = tuple[Severity, str, Any]
"""What makes two issues at one location the same: severity, message id, and the dedupe key or message."""


class Reporter:
    """Collects issues for one payload; positions are attached at the end."""

    def __init__(self) -> None:
        # One issue per index of these three lists; a path is None when the location reads back to it.
        self._kinds: list[_Kind] = []
        self._locations: list[str] = []
        self._paths: list[JsonPath | None] = []
        # Location -> the `_Same` of the issue there, or a set of them when several share the location.
        self._seen: dict[str, _Same | set[_Same]] = {}
        self._errors = 0
        self._done: set[tuple[Any, ...]] = set()
        self._shared: dict[Any, Any] = {}
        # Every issue offered, kept or not (a repeat is dropped): a walk reads it to tell whether a part of
        # the payload gave rise to anything at all (see validation/coverage.py).
        self.attempts = 0

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
        self.attempts += 1
        location = loc.text if loc is not None else ""
        same = self._one_copy((severity, message_id, dedupe if dedupe is not None else message))
        if not self._first_at(location, same):
            return
        kind = self._one_copy(_Kind(severity, code, message_id, message, profile, element_id, constraint))
        path = None if loc is None or _path_reads_back(loc) else loc.json_path
        self._keep(kind, location, path)

    def _one_copy(self, value: Any) -> Any:
        # The same words and keys recur wherever a rule fails (an invariant in each of 200,000 entries): one
        # copy of each is kept. A tuple equal to a shared one is dropped at once; a new one is shared.
        return self._shared.setdefault(value, value)

    def _first_at(self, location: str, same: _Same) -> bool:
        """Records `same` at `location`; False when an issue the same was reported there already."""
        there = self._seen.get(location)
        if there is None:
            self._seen[location] = same
            return True
        if isinstance(there, set):
            if same in there:
                return False
            there.add(same)
            return True
        if there == same:
            return False
        self._seen[location] = {there, same}
        return True

    def _keep(self, kind: _Kind, location: str, path: JsonPath | None) -> None:
        self._kinds.append(kind)
        self._locations.append(location)
        self._paths.append(path)
        if kind.severity.is_error:
            self._errors += 1

    def error(self, code: str, message_id: str, message: str, loc: Loc | None, **kw: Any) -> None:
        self.add(Severity.ERROR, code, message_id, message, loc, **kw)

    def warning(self, code: str, message_id: str, message: str, loc: Loc | None, **kw: Any) -> None:
        self.add(Severity.WARNING, code, message_id, message, loc, **kw)

    def info(self, code: str, message_id: str, message: str, loc: Loc | None, **kw: Any) -> None:
        self.add(Severity.INFORMATION, code, message_id, message, loc, **kw)

    @property
    def found(self) -> list[Found]:
        """What was found so far, in order: each issue (without a position) and its JSON path."""
        return [
            Found(kind.issue(location), _path_of(location, path))
            for kind, location, path in zip(self._kinds, self._locations, self._paths, strict=True)
        ]

    def absorb(self, other: Reporter) -> None:
        """Take over what a trial walk found (its issues already carry their locations)."""
        self.attempts += len(other._kinds)
        for kind, location, path in zip(other._kinds, other._locations, other._paths, strict=True):
            same = self._one_copy((kind.severity, kind.message_id, kind.message))
            if self._first_at(location, same):
                self._keep(self._one_copy(kind), location, path)

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0

    @property
    def error_count(self) -> int:
        return self._errors

    def positioned(self, position: Callable[[JsonPath], tuple[int, int] | None]) -> list[Issue]:
        """The issues with their line and column. Ends the report: what it kept is let go as the issues are
        made (a payload with an issue per entry does not hold both at once)."""
        kinds, locations, paths = self._kinds, self._locations, self._paths
        self._kinds, self._locations, self._paths = [], [], []
        for kept in (self._seen, self._done, self._shared):
            kept.clear()  # what deduplicated the issues is no longer needed: let it go before positions
        issues = []
        for index, kind in enumerate(kinds):
            location = locations[index]
            where = _nearest_position(_path_of(location, paths[index]), position)
            issues.append(kind.issue(location, *where) if where else kind.issue(location))
            locations[index] = ""
            paths[index] = None
        return issues


def _path_reads_back(loc: Loc) -> bool:
    """Whether `_location_path(loc.text)` is `loc.json_path`: each step's JSON key is its name, and no name
    holds the `.` or `[` that separate steps in the text. Such issues keep no JSON path of their own."""
    step: Loc | None = loc
    while step is not None:
        name = step.name
        if "." in name or "[" in name:
            return False
        if step.parent is None:
            return step.index is None
        if step.json_key != name:
            return False
        step = step.parent
    return True


def _path_of(location: str, path: JsonPath | None) -> JsonPath:
    return path if path is not None else _location_path(location)


def _location_path(location: str) -> JsonPath:
    """`Bundle.entry[3].resource` -> ("entry", 3, "resource"), for locations `_path_reads_back` accepted."""
    if not location:
        return ()
    steps: list[str | int] = []
    for step in location.split(".")[1:]:
        if step.endswith("]") and "[" in step:
            name, _, index = step[:-1].rpartition("[")
            steps.append(name)
            steps.append(int(index))
        else:
            steps.append(step)
    return tuple(steps)


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
