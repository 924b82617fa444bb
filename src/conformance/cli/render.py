"""Text output for people: grouped by payload, with locations, coloured only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from conformance.outcome import Issue, Outcome, Severity

_STYLE = {
    Severity.FATAL: "bold red",
    Severity.ERROR: "red",
    Severity.WARNING: "yellow",
    Severity.INFORMATION: "cyan",
}


def _console(stream: IO[str] | None = None) -> Console:
    return Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)


def _where(issue: Issue) -> str:
    position = f"{issue.line}:{issue.column} " if issue.line is not None else ""
    return f"{position}{issue.location}".strip()


def _summary(outcome: Outcome) -> str:
    verdict = "valid" if outcome.valid else "INVALID"
    return f"{verdict}: {len(outcome.errors)} error(s), {len(outcome.warnings)} warning(s)"


def print_text_outcomes(
    outcomes: Sequence[Outcome],
    names: Sequence[str | Path],
    notes: Sequence[str] = (),
    *,
    stream: IO[str] | None = None,
) -> None:
    console = _console(stream)
    for note in notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    for outcome, name in zip(outcomes, names, strict=True):
        style = "green" if outcome.valid else "red"
        console.print(f"[bold]{escape(str(name))}[/bold]  [{style}]{_summary(outcome)}[/{style}]")
        for issue in outcome.issues:
            severity = issue.severity
            console.print(
                f"  [{_STYLE[severity]}]{severity.value:<11}[/{_STYLE[severity]}] "
                f"{escape(_where(issue))}  {escape(issue.message)} [dim]\\[{issue.message_id}][/dim]"
            )
    if len(outcomes) > 1:
        invalid = sum(1 for outcome in outcomes if not outcome.valid)
        console.print(f"{len(outcomes)} payloads: {len(outcomes) - invalid} valid, {invalid} invalid")


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr; yields the function to call once per payload done."""
    progress = Progress(
        TextColumn("validating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
    with progress:
        task = progress.add_task("validating", total=total)

        def advance(_: Any) -> None:
            progress.advance(task)

        yield advance
