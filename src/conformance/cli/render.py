"""Text output for people: grouped by payload, with locations, coloured only on a terminal.

Each line is built once as styled segments. On a terminal, rich prints them in colour; anywhere else
(a pipe, a file, a test) they are written as plain text, so that a one-file run never imports rich,
which costs more than validating a small payload.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from conformance.outcome import Issue, Outcome, Severity

_STYLE = {
    Severity.FATAL: "bold red",
    Severity.ERROR: "red",
    Severity.WARNING: "yellow",
    Severity.INFORMATION: "cyan",
}

Segment = tuple[str, str]
"""A piece of a line and its rich style ("" for none)."""

Line = tuple[Segment, ...]

# The control characters rich removes from text (bell, backspace, vertical tab, form feed, carriage
# return): plain output drops them too, so a payload's text cannot rewrite a line in either form.
_STRIPPED = dict.fromkeys((7, 8, 11, 12, 13))
_TAB_SIZE = 8


def _where(issue: Issue) -> str:
    position = f"{issue.line}:{issue.column} " if issue.line is not None else ""
    return f"{position}{issue.location}".strip()


def _summary(outcome: Outcome) -> str:
    verdict = "valid" if outcome.valid else "INVALID"
    return f"{verdict}: {len(outcome.errors)} error(s), {len(outcome.warnings)} warning(s)"


def outcome_lines(
    outcomes: Sequence[Outcome], names: Sequence[str | Path], notes: Sequence[str] = ()
) -> Iterator[Line]:
    """The text report as lines of styled segments: notes, then each payload and its issues, then a total.

    Made one at a time as they are written: a payload may have an issue in each of 200,000 entries.
    """
    for note in notes:
        yield ((f"note: {note}", "dim"),)
    for outcome, name in zip(outcomes, names, strict=True):
        yield ((str(name), "bold"), ("  ", ""), (_summary(outcome), "green" if outcome.valid else "red"))
        yield from (_issue_line(issue) for issue in outcome.issues)
    if len(outcomes) > 1:
        invalid = sum(1 for outcome in outcomes if not outcome.valid)
        yield ((f"{len(outcomes)} payloads: {len(outcomes) - invalid} valid, {invalid} invalid", ""),)


def _issue_line(issue: Issue) -> Line:
    severity = issue.severity
    return (
        ("  ", ""),
        (f"{severity.value:<11}", _STYLE[severity]),
        (f" {_where(issue)}  {issue.message} ", ""),
        (f"[{issue.message_id}]", "dim"),
    )


def plain_text(line: Line) -> str:
    """A line without styles, as rich would print it to a file (control characters removed, tabs expanded)."""
    return "".join(text for text, _ in line).translate(_STRIPPED).expandtabs(_TAB_SIZE)


def print_text_outcomes(
    outcomes: Sequence[Outcome],
    names: Sequence[str | Path],
    notes: Sequence[str] = (),
    *,
    stream: IO[str] | None = None,
) -> None:
    out = stream or sys.stdout
    lines = outcome_lines(outcomes, names, notes)
    if _is_terminal(out):
        _print_styled(lines, out)
    else:
        out.writelines(plain_text(line) + "\n" for line in lines)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: no colour
        return False


def _print_styled(lines: Iterable[Line], stream: IO[str]) -> None:
    from rich.console import Console  # noqa: PLC0415 -- only terminals get colour
    from rich.text import Text  # noqa: PLC0415

    console = Console(file=stream, highlight=False, soft_wrap=True, emoji=False)
    for line in lines:
        console.print(Text.assemble(*line))


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr; yields the function to call once per payload done."""
    from rich.console import Console  # noqa: PLC0415 -- only long runs show a bar
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

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
