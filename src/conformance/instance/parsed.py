"""The result of parsing one payload: its FHIR JSON form, parse issues, and positions on request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from conformance.errors import UsageError
from conformance.outcome import Issue, Severity

Path = tuple[str | int, ...]
"""A JSON path from the resource root: `("identifier", 0, "system")`, `("_birthDate", "extension", 0)`."""

Position = tuple[int, int]
"""1-based (line, column) in the source text; columns count characters."""

Format = Literal["json", "xml"]


class PositionIndex(Protocol):
    """Positions by path: a mapping, or an index that finds them on demand."""

    def get(self, path: Path, /) -> Position | None: ...


@dataclass(frozen=True)
class Limits:
    """Bounds on what one payload may cost; going past one is a fatal issue, never an exception."""

    max_bytes: int = 64 * 1024 * 1024
    """Larger payloads are refused without reading the rest (text input: counted in characters)."""
    max_depth: int = 200
    """Deepest nesting of JSON objects and arrays, or of XML elements."""
    max_nodes: int = 4_000_000
    """Most values, which bounds memory: XML elements, or JSON values (objects, arrays and scalars, counted
    from the structure of the text, so an empty object or array counts twice)."""
    max_issues: int = 1000
    """Parse issues kept per payload; one more issue says how many were left out."""

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_nodes", "max_issues"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"Limits.{name} must be a positive integer, not {value!r}")


class _LazyPositions:
    """Positions computed by `compute` on first use, once, whichever thread asks first.

    The root's position may be given: a resource-level issue (a best-practice warning on nearly every
    resource) then costs no reading of the text.
    """

    def __init__(self, compute: Callable[[], PositionIndex] | None, root: Position | None = None) -> None:
        self._compute = compute
        self._positions: PositionIndex | None = None
        self._root = root
        self._lock = threading.Lock()

    def get(self, path: Path) -> Position | None:
        if not path and self._root is not None:
            return self._root
        positions = self._positions
        if positions is None:
            positions = self._fill()
        return positions.get(path)

    def _fill(self) -> PositionIndex:
        with self._lock:
            if self._positions is None:
                self._positions = self._compute() if self._compute is not None else {}
                self._compute = None
            return self._positions


_NO_POSITIONS = _LazyPositions(None)


@dataclass(frozen=True)
class Parsed:
    """One payload in FHIR JSON form (dicts, lists, str, bool, int, Decimal), with its parse issues."""

    resource: dict[str, Any] | None
    """None when the payload could not be read; `issues` then holds a fatal issue saying why."""
    format: Format
    issues: tuple[Issue, ...] = ()
    _positions: _LazyPositions = field(default=_NO_POSITIONS, repr=False, compare=False)
    ids_may_repeat: bool = field(default=True, repr=False, compare=False)
    """False when the text shows that no two objects in it can have the same `id` (at most one `id` key,
    none spelt with escapes): validation then skips its scan for duplicate element ids."""

    @classmethod
    def of(
        cls,
        resource: dict[str, Any] | None,
        format: Format,
        issues: tuple[Issue, ...],
        positions: Callable[[], PositionIndex] | None = None,
        *,
        root_position: Position | None = None,
        ids_may_repeat: bool = True,
    ) -> Parsed:
        """`root_position`, when known at once, answers the root's position without `positions`."""
        lazy = _LazyPositions(positions, root_position) if positions else _NO_POSITIONS
        return cls(resource, format, issues, lazy, ids_may_repeat)

    @property
    def ok(self) -> bool:
        """The payload was read (it may still have non-fatal parse issues)."""
        return self.resource is not None

    @property
    def resource_type(self) -> str | None:
        kind = self.resource.get("resourceType") if self.resource is not None else None
        return kind if isinstance(kind, str) else None

    def position(self, path: Path) -> Position | None:
        """1-based (line, column) where the value at `path` starts in the source text, if known."""
        return self._positions.get(tuple(path))

    def location(self, path: Path) -> str:
        """The FHIRPath-style location of `path`: `Patient.name[0].given[1]`."""
        return location(self.resource_type or "Resource", path)


def location(root: str, path: Path) -> str:
    """`location("Patient", ("_birthDate", "extension", 0))` is `Patient.birthDate.extension[0]`."""
    parts = [root]
    for step in path:
        if isinstance(step, int):
            parts[-1] = f"{parts[-1]}[{step}]"
        else:
            parts.append(step[1:] if step.startswith("_") and len(step) > 1 else step)
    return ".".join(parts)


class IssueList:
    """Parse issues in the order found, capped at `Limits.max_issues`."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._issues: list[Issue] = []
        self._dropped = 0

    def add(self, issue: Issue) -> None:
        if len(self._issues) < self._limit or issue.severity is Severity.FATAL:
            self._issues.append(issue)
        else:
            self._dropped += 1

    def __len__(self) -> int:
        return len(self._issues)

    def freeze(self) -> tuple[Issue, ...]:
        if not self._dropped:
            return tuple(self._issues)
        note = Issue(
            severity=Severity.WARNING,
            code="too-costly",
            message_id="payload.too-many-issues",
            message=f"{self._dropped} more parse issues were found and left out (limit {self._limit})",
        )
        return (*self._issues, note)
