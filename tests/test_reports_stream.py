"""Reports written as results arrive: the same bytes as the whole report at once, and nothing kept."""

from __future__ import annotations

import gc
import io
import json
import weakref
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO

import pytest

from conformance.cli.render import print_text_outcomes
from conformance.fhirversion import FhirVersion
from conformance.instance import Limits, Parsed, parse
from conformance.instance.jsonform import read_json
from conformance.outcome import Outcome
from conformance.reports.junit import JUnitStream, junit_xml
from conformance.reports.model import EntryPart, PayloadResult
from conformance.reports.payloads import Payload
from conformance.reports.runner import ContextSpec, PayloadChecker, RunSpec
from conformance.reports.stream import JsonStream, ResultSink, TextStream, held, operation_outcome_document
from conformance.settings import Settings
from conformance.validation import Validator

_PAYLOADS = (
    b'{"resourceType": "Patient", "id": "ok", "gender": "female"}',
    b'{"resourceType": "Patient",\n "gender": "vrouw", "birthDate": "1970-13-40"}',
    b'{"resourceType": "Observation", "status": "final"}',
    b'{"resourceType": "Patient", "name": [{"text": "Zo\xc3\xab \xe2\x80\x94 \\"quoted\\"\\nline"}], "x": 1}',
    b"{not json",
)


@pytest.fixture(scope="module")
def results(r4_validator: Validator, tmp_path_factory: pytest.TempPathFactory) -> list[PayloadResult]:
    """Real results of real payloads: valid, invalid with positions, non-ASCII text, unreadable."""
    spec = RunSpec(ContextSpec(Settings(), FhirVersion.R4))
    checker = PayloadChecker(r4_validator, spec)
    ndjson = tmp_path_factory.mktemp("stream") / "lines.ndjson"
    return [checker.check(Payload(ndjson, True, data=data, line=n)) for n, data in enumerate(_PAYLOADS, 1)]


def _print(outcomes: Sequence[Outcome], names: Sequence[str], notes: Sequence[str], stream: IO[str]) -> None:
    print_text_outcomes(outcomes, names, notes, stream=stream)


def _streamed(kind: str, results: Sequence[PayloadResult], *, hold: bool = False) -> str:
    out = io.StringIO()
    sink: ResultSink = JsonStream(out) if kind == "json" else TextStream(_print, ["a note"], out)
    if hold:
        sink = held(sink)
    for result in results:
        sink.add(result)
    sink.close()
    return out.getvalue()


@pytest.mark.parametrize("count", [0, 1, 2, 5])
@pytest.mark.parametrize("hold", [False, True])
def test_the_json_report_written_entry_by_entry_is_the_whole_document(
    results: list[PayloadResult], count: int, hold: bool
) -> None:
    chosen = results[:count]
    whole = json.dumps(operation_outcome_document(chosen), indent=2, ensure_ascii=False) + "\n"
    streamed = _streamed("json", chosen, hold=hold)
    assert streamed == whole
    if count:
        assert json.loads(streamed)["resourceType"] == ("OperationOutcome" if count == 1 else "Bundle")


@pytest.mark.parametrize("count", [0, 1, 2, 5])
@pytest.mark.parametrize("hold", [False, True])
def test_the_text_report_written_result_by_result_is_the_whole_report(
    results: list[PayloadResult], count: int, hold: bool
) -> None:
    chosen = results[:count]
    whole = io.StringIO()
    print_text_outcomes([r.outcome for r in chosen], [r.name for r in chosen], ["a note"], stream=whole)
    assert _streamed("text", chosen, hold=hold) == whole.getvalue()


def test_the_results_used_cover_what_reports_show(results: list[PayloadResult]) -> None:
    # the comparisons above are only worth something if the results hold positions, text and fatal issues
    issues = [issue for result in results for issue in result.outcome.issues]
    assert [result.valid for result in results] == [True, False, False, False, False]
    assert any(issue.line == 3 for issue in issues)  # line 2 of the payload on line 2 of the file
    assert any(issue.severity.value == "fatal" for issue in issues)


@pytest.mark.parametrize("kind", ["text", "json"])
def test_a_streamed_report_keeps_no_result_once_written(results: list[PayloadResult], kind: str) -> None:
    out = io.StringIO()
    sink: ResultSink = JsonStream(out) if kind == "json" else TextStream(_print, (), out)
    sink.add(results[0])  # the JSON report holds the first until it knows one from several
    copies = [PayloadResult(r.outcome, r.source, r.line) for r in results[1:]]
    watched = [weakref.ref(copy) for copy in copies]
    for copy in copies:
        sink.add(copy)
    del copies, copy
    gc.collect()
    assert [ref() for ref in watched] == [None] * len(watched)
    assert sink.tally.payloads == len(results) and sink.tally.invalid == 4


def test_a_payload_read_once_validates_as_its_bytes(r4_validator: Validator) -> None:
    data = _PAYLOADS[1]
    parsed = parse(data, model=r4_validator.type_model)
    assert parse(parsed) is parsed
    assert r4_validator.validate(parsed) == r4_validator.validate(data)
    assert any(issue.line == 2 for issue in r4_validator.validate(parsed).issues)


def test_issues_are_grouped_by_entry_as_each_entry_holds_them(r4_validator: Validator) -> None:
    kinds = [{"gender": "x"}, {"birthDate": "no"}, {}, {"resourceType": "Observation"}] * 3
    resources = [{"resourceType": "Patient", **kind} for kind in kinds]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{n:08d}-0000-4000-8000-000000000000", "resource": resource}
            for n, resource in enumerate(resources)
        ],
        "total": 1,
    }
    outcome = r4_validator.validate(bundle)
    entries = tuple(EntryPart(n) for n in range(len(resources)))
    result = PayloadResult(outcome, "bundle.json", entries=entries)
    outside, held_issues = result.issues_by_entry()
    assert list(outside) == [i for i in outcome.issues if not any(e.holds(i) for e in entries)]
    assert held_issues == [list(result.issues_of(entry)) for entry in entries]
    assert outside and held_issues[0] and held_issues[9]
    assert len(outside) + sum(map(len, held_issues)) == len(outcome.issues)


def test_a_bundle_file_is_read_once(
    r4_validator: Validator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []

    def counted(data: bytes | str, limits: Limits) -> Parsed:
        reads.append(len(data))
        return read_json(data, limits)

    monkeypatch.setattr("conformance.instance.api.read_json", counted)
    path = tmp_path / "bundle.json"
    entry = {
        "fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
        "resource": {"resourceType": "Patient"},
    }
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [entry]}))
    result = PayloadChecker(r4_validator, RunSpec(ContextSpec(Settings(), FhirVersion.R4))).check(
        Payload(path, True)
    )
    assert result.resource_type == "Bundle" and [e.label for e in result.entries] == ["entry[0] Patient"]
    assert reads == [path.stat().st_size]


def _junit_streamed(results: Sequence[PayloadResult]) -> str:
    out = io.StringIO()
    sink = JUnitStream(out)
    for result in results:
        sink.add(result)
    sink.close()
    return out.getvalue()


@pytest.mark.parametrize("count", [0, 1, 2, 5])
def test_the_junit_report_spooled_case_by_case_is_the_whole_document(
    results: list[PayloadResult], count: int
) -> None:
    assert _junit_streamed(results[:count]) == junit_xml(results[:count])


def test_the_junit_report_groups_a_file_named_twice_and_bundle_entries_as_the_whole_document(
    results: list[PayloadResult], r4_validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = [replace(result, source="other.ndjson") for result in results[:2]]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
                "resource": {"resourceType": "Patient", "gender": "\u00e9\u00e9"},
            }
        ],
    }
    entries = (EntryPart(0, "Patient"),)
    in_bundle = PayloadResult(r4_validator.validate(bundle), "b\u00fcndle.json", entries=entries)
    mixed = [results[0], *other, in_bundle, *results[1:]]
    monkeypatch.setattr("conformance.reports.junit._COPY_CHUNK", 3)  # chunks that cut characters
    assert _junit_streamed(mixed) == junit_xml(mixed)


@pytest.mark.parametrize("count", [1, 2])
def test_a_payload_without_issues_is_written_as_the_whole_document_says_it(count: int) -> None:
    # An OperationOutcome without issues says so in an issue of its own: the one document written whole.
    clean = [PayloadResult(Outcome.of([]), f"clean-{n}.json") for n in range(count)]
    whole = json.dumps(operation_outcome_document(clean), indent=2, ensure_ascii=False) + "\n"
    assert _streamed("json", clean) == whole
    assert "No issues detected during validation" in whole
