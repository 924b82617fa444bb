"""Parse issues: one constructor, so every parse problem carries the same fields the same way."""

from __future__ import annotations

from conformance.instance.parsed import Position
from conformance.outcome import Issue, Severity


def parse_issue(
    severity: Severity,
    code: str,
    message_id: str,
    message: str,
    *,
    position: Position | None = None,
    location: str = "",
) -> Issue:
    line, column = position if position is not None else (None, None)
    return Issue(
        severity=severity,
        code=code,
        message_id=message_id,
        message=message,
        location=location,
        line=line,
        column=column,
    )


def fatal(
    code: str, message_id: str, message: str, *, position: Position | None = None, location: str = ""
) -> Issue:
    return parse_issue(Severity.FATAL, code, message_id, message, position=position, location=location)


def error(
    code: str, message_id: str, message: str, *, position: Position | None = None, location: str = ""
) -> Issue:
    return parse_issue(Severity.ERROR, code, message_id, message, position=position, location=location)


def warning(
    code: str, message_id: str, message: str, *, position: Position | None = None, location: str = ""
) -> Issue:
    return parse_issue(Severity.WARNING, code, message_id, message, position=position, location=location)


def too_large(size: int, limit: int, unit: str = "bytes") -> Issue:
    return fatal(
        "too-costly",
        "payload.too-large",
        f"the payload is larger than the limit of {limit} {unit} (at least {size} {unit}); it was not read",
    )


def too_many_nodes(limit: int) -> Issue:
    return fatal(
        "too-costly",
        "payload.too-many-nodes",
        f"the payload has more than {limit} values or elements, the most one payload may have",
    )


def snippet(text: str, width: int = 40) -> str:
    """A short, single-line excerpt of `text` for a message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
