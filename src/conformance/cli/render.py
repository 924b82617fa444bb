"""Text output for people: grouped by file, with locations, coloured only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from conformance.outcome import Issue, Outcome, Severity

_STYLE = {
    Severity.FATAL: "bold red",
    Severity.ERROR: "red",
    Severity.WARNING: "yellow",
    Severity.INFORMATION: "cyan",
}


def _console() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def _where(issue: Issue) -> str:
    position = f"{issue.line}:{issue.column} " if issue.line is not None else ""
    return f"{position}{issue.location}".strip()


def _summary(outcome: Outcome) -> str:
    verdict = "valid" if outcome.valid else "INVALID"
    return f"{verdict}: {len(outcome.errors)} error(s), {len(outcome.warnings)} warning(s)"


def print_text_outcomes(
    outcomes: Sequence[Outcome], files: Sequence[Path], notes: Sequence[str] = ()
) -> None:
    console = _console()
    for note in notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    for outcome, path in zip(outcomes, files, strict=True):
        style = "green" if outcome.valid else "red"
        console.print(f"[bold]{escape(str(path))}[/bold]  [{style}]{_summary(outcome)}[/{style}]")
        for issue in outcome.issues:
            severity = issue.severity
            console.print(
                f"  [{_STYLE[severity]}]{severity.value:<11}[/{_STYLE[severity]}] "
                f"{escape(_where(issue))}  {escape(issue.message)} [dim]\\[{issue.message_id}][/dim]"
            )
