"""Reports written while a run goes: each payload's result is written as it arrives and then dropped.

A run over a million NDJSON lines must not keep a million outcomes to write its report at the end. The
text report and the JSON Bundle of OperationOutcomes are written result by result, keeping only counts;
their bytes are the same as when the whole report is written at once. JUnit and SARIF documents begin
with totals over every result (JUnit's `tests` and `failures`, SARIF's rules), so those are written at
the end from the results kept (`Collected`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from conformance.outcome import Outcome
from conformance.reports.model import PayloadResult

PrintOutcomes = Callable[[Sequence[Outcome], Sequence[str], Sequence[str], IO[str]], None]
"""Writes the text report of some outcomes (with their names and notes) to a stream."""

_BUNDLE_HEAD = '{\n  "resourceType": "Bundle",\n  "type": "collection",\n  "entry": ['
_ENTRY_INDENT = "    "


class ResultSink(Protocol):
    """Where a run's results go, one at a time; `close` once after the last."""

    tally: Tally

    def add(self, result: PayloadResult) -> None: ...

    def close(self) -> None: ...


class Spooled:
    """A report whose totals come before its body: the body is spooled to a temporary file as results arrive,
    and `close` writes the head (`_write`, known only at the end) and then copies the body after it."""

    def __init__(self) -> None:
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in close()

    def close(self) -> None:
        try:
            self._write()
        finally:
            self._spool.close()

    def _write(self) -> None:
        raise NotImplementedError


class Tally:
    """How many payloads a run validated and how many were invalid: all a streamed report keeps."""

    def __init__(self) -> None:
        self.payloads = 0
        self.invalid = 0

    def count(self, result: PayloadResult) -> None:
        self.payloads += 1
        self.invalid += not result.valid

    @property
    def all_valid(self) -> bool:
        return self.invalid == 0


class TextStream:
    """The text report: notes, then each payload with its issues as it arrives, then the total."""

    def __init__(self, print_outcomes: PrintOutcomes, notes: Sequence[str], stream: IO[str]) -> None:
        self._print = print_outcomes
        self._notes = tuple(notes)
        self._stream = stream
        self.tally = Tally()

    def add(self, result: PayloadResult) -> None:
        notes = self._notes if self.tally.payloads == 0 else ()
        self._print([result.outcome], [result.name], notes, self._stream)
        self.tally.count(result)

    def close(self) -> None:
        tally = self.tally
        if tally.payloads == 0:
            self._print([], [], self._notes, self._stream)
        elif tally.payloads > 1:
            valid = tally.payloads - tally.invalid
            self._stream.write(f"{tally.payloads} payloads: {valid} valid, {tally.invalid} invalid\n")


def operation_outcome_document(results: Sequence[PayloadResult]) -> dict[str, Any]:
    """One OperationOutcome for one payload; a Bundle of OperationOutcomes for several."""
    if len(results) == 1:
        return results[0].outcome.to_operation_outcome()
    return {"resourceType": "Bundle", "type": "collection", "entry": [_bundle_entry(r) for r in results]}


def _bundle_entry(result: PayloadResult) -> dict[str, Any]:
    return {"fullUrl": _entry_full_url(result), "resource": result.outcome.to_operation_outcome()}


def _entry_full_url(result: PayloadResult) -> str:
    uri = Path(result.source).resolve().as_uri()
    return uri if result.line is None else f"{uri}#line={result.line}"


def _dumps(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def _write_operation_outcome(outcome: Outcome, stream: IO[str], indent: str) -> None:
    """`_dumps(outcome.to_operation_outcome())`, each line after the first indented by `indent`, written
    issue by issue: a payload with an issue in each of 200,000 entries never has its whole document (or
    a dict for each issue) in memory at once. JSON strings hold no raw line breaks, so indenting every
    line of an issue's text is exact."""
    if not outcome.issues:  # the document says so in an issue of its own: small, written whole
        stream.write(_dumps(outcome.to_operation_outcome()).replace("\n", "\n" + indent))
        return
    inner = indent + "  "
    item = inner + "  "
    stream.write(f'{{\n{inner}"resourceType": "OperationOutcome",\n{inner}"issue": [')
    separator = "\n"
    for issue in outcome.issues:
        text = _dumps(issue.to_operation_outcome_issue())
        stream.write(separator + item + text.replace("\n", "\n" + item))
        separator = ",\n"
    stream.write(f"\n{inner}]\n{indent}}}")


class JsonStream:
    """`operation_outcome_document` as indented JSON, written entry by entry.

    The first result is held back until a second says whether the document is one OperationOutcome or a
    Bundle; each Bundle entry is then written as `json.dumps` would indent it inside the whole document
    (JSON strings hold no raw line breaks, so indenting every line of an entry is exact).
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._first: PayloadResult | None = None
        self.tally = Tally()

    def add(self, result: PayloadResult) -> None:
        if self.tally.payloads == 0:
            self._first = result
        else:
            if self._first is not None:
                self._stream.write(_BUNDLE_HEAD + "\n")
                self._write_entry(self._first)
                self._first = None
            self._stream.write(",\n")
            self._write_entry(result)
        self.tally.count(result)

    def _write_entry(self, result: PayloadResult) -> None:
        uri = _entry_full_url(result)
        inner = _ENTRY_INDENT + "  "
        self._stream.write(f'{_ENTRY_INDENT}{{\n{inner}"fullUrl": {_dumps(uri)},\n{inner}"resource": ')
        _write_operation_outcome(result.outcome, self._stream, inner)
        self._stream.write(f"\n{_ENTRY_INDENT}}}")

    def close(self) -> None:
        if self._first is not None:
            _write_operation_outcome(self._first.outcome, self._stream, "")
            self._stream.write("\n")
        elif self.tally.payloads == 0:
            self._stream.write(_dumps(operation_outcome_document([])) + "\n")
        else:
            self._stream.write("\n  ]\n}\n")


class Collected:
    """Reports that need every result before their first line (JUnit, SARIF): kept, written at the end."""

    def __init__(self, write: Callable[[Sequence[PayloadResult]], None]) -> None:
        self._write = write
        self._results: list[PayloadResult] = []
        self.tally = Tally()

    def add(self, result: PayloadResult) -> None:
        self._results.append(result)
        self.tally.count(result)

    def close(self) -> None:
        self._write(self._results)


def held(sink: ResultSink) -> Collected:
    """`sink`, given every result only at the end (when nothing may be written while the run goes)."""

    def replay(results: Sequence[PayloadResult]) -> None:
        for result in results:
            sink.add(result)
        sink.close()

    return Collected(replay)
