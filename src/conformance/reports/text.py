"""Plain-text lines for issues, shared by every report a person reads (JUnit failures, test assertions)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from conformance.outcome import Issue, Severity

_SEVERITY_WIDTH = len("information")


def position_of(issue: Issue) -> str:
    """`line 3, column 16`, or an empty string when the issue has no position."""
    if issue.line is None:
        return ""
    return f"line {issue.line}" + (f", column {issue.column}" if issue.column is not None else "")


def rule_of(issue: Issue) -> str:
    """Which rule produced the issue: invariant key, element definition and profile, as far as known."""
    parts: list[str] = []
    if issue.constraint:
        parts.append(f"constraint {issue.constraint}")
    if issue.element_id:
        parts.append(f"element {issue.element_id}")
    if issue.profile:
        parts.append(f"profile {issue.profile}")
    return ", ".join(parts)


def issue_lines(issue: Issue, indent: str = "") -> list[str]:
    """Two lines at most: what and where, then the rule it breaks."""
    where = "  ".join(part for part in (issue.location or "(payload)", position_of(issue)) if part)
    head = (
        f"{indent}{issue.severity.value:<{_SEVERITY_WIDTH}}  {where}  [{issue.message_id}]  {issue.message}"
    )
    rule = rule_of(issue)
    if not rule:
        return [head]
    return [head, f"{indent}{'':<{_SEVERITY_WIDTH}}  rule: {rule}"]


def issues_text(issues: Iterable[Issue], indent: str = "") -> str:
    return "\n".join(line for issue in issues for line in issue_lines(issue, indent))


def count_text(issues: Sequence[Issue]) -> str:
    """`2 errors, 1 warning`."""
    errors = sum(1 for issue in issues if issue.severity.is_error)
    warnings = sum(1 for issue in issues if issue.severity is Severity.WARNING)
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
