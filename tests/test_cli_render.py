"""The text report: plain text off a terminal (exactly what rich printed there), colour on a terminal."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from rich.console import Console
from rich.markup import escape

from conformance.cli.render import print_text_outcomes
from conformance.outcome import Issue, Outcome, Severity

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _issue(
    severity: Severity, message: str, location: str = "Patient.name[0]", line: int | None = 3
) -> Issue:
    return Issue(
        severity=severity,
        code="value",
        message_id="type.pattern",
        message=message,
        location=location,
        line=line,
        column=7 if line is not None else None,
    )


OUTCOMES = [
    Outcome((_issue(Severity.ERROR, "value [not] allowed: 'a\tb' [/bold]"),)),
    Outcome((_issue(Severity.WARNING, "bell\x07 and return\r kept out", line=None),)),
    Outcome(()),
    Outcome((_issue(Severity.FATAL, "broken"), _issue(Severity.INFORMATION, "note [x]", location=""))),
]
NAMES = ["bad.json", "[odd] name.json", "ok.json", "x/fatal.xml"]
NOTES = ["duplicate [canonical] in a package"]


def _rich_reference(outcomes: list[Outcome], names: list[str], notes: list[str]) -> str:
    """What the command printed through rich's markup before the plain writer (emoji codes aside)."""
    stream = io.StringIO()
    console = Console(file=stream, highlight=False, soft_wrap=True, emoji=False)
    for note in notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    for outcome, name in zip(outcomes, names, strict=True):
        verdict = "valid" if outcome.valid else "INVALID"
        summary = f"{verdict}: {len(outcome.errors)} error(s), {len(outcome.warnings)} warning(s)"
        console.print(f"[bold]{escape(name)}[/bold]  {summary}")
        for issue in outcome.issues:
            position = f"{issue.line}:{issue.column} " if issue.line is not None else ""
            where = f"{position}{issue.location}".strip()
            console.print(
                f"  {issue.severity.value:<11} {escape(where)}  {escape(issue.message)} "
                f"[dim]\\[{issue.message_id}][/dim]"
            )
    invalid = sum(1 for outcome in outcomes if not outcome.valid)
    console.print(f"{len(outcomes)} payloads: {len(outcomes) - invalid} valid, {invalid} invalid")
    return stream.getvalue()


def test_plain_output_is_what_rich_prints_off_a_terminal() -> None:
    stream = io.StringIO()
    print_text_outcomes(OUTCOMES, NAMES, NOTES, stream=stream)
    assert stream.getvalue() == _rich_reference(OUTCOMES, NAMES, NOTES)


def test_plain_output_keeps_brackets_and_drops_control_characters() -> None:
    stream = io.StringIO()
    print_text_outcomes(OUTCOMES[:2], NAMES[:2], stream=stream)
    text = stream.getvalue()
    assert "value [not] allowed: 'a" in text and "b' [/bold] [type.pattern]" in text
    assert "\t" not in text  # expanded to the next tab stop, as rich does
    assert "bell and return kept out" in text
    assert "\x07" not in text and "\r" not in text
    assert "[odd] name.json  valid: 0 error(s), 1 warning(s)" in text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_colour_and_the_same_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal, plain = _Terminal(), io.StringIO()
    print_text_outcomes(OUTCOMES, NAMES, NOTES, stream=terminal)
    print_text_outcomes(OUTCOMES, NAMES, NOTES, stream=plain)
    assert _ANSI.search(terminal.getvalue())
    assert _ANSI.sub("", terminal.getvalue()) == plain.getvalue()


def test_emoji_codes_in_a_message_are_printed_as_written() -> None:
    stream = io.StringIO()
    print_text_outcomes(
        [Outcome((_issue(Severity.ERROR, "code :smile: unknown"),))], ["p.json"], stream=stream
    )
    assert "code :smile: unknown" in stream.getvalue()


def test_plain_output_does_not_import_rich() -> None:
    code = (
        "import io, sys\n"
        "from conformance.cli.render import print_text_outcomes\n"
        "from conformance.outcome import Outcome\n"
        "print_text_outcomes([Outcome(())], ['p.json'], stream=io.StringIO())\n"
        "print(sorted(m for m in sys.modules if m == 'rich' or m.startswith('rich.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
