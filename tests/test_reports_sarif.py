"""SARIF 2.1.0 over Outcomes, checked against the OASIS JSON Schema kept in tests/schemas."""

from __future__ import annotations

import gc
import io
import json
import re
import weakref
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.outcome import Issue, Outcome, Severity
from conformance.reports import PayloadResult, base_uri_of, sarif_log, write_sarif
from conformance.reports.sarif import SarifStream

SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "sarif-2.1.0.json"


@pytest.fixture(scope="module")
def sarif_schema() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def _issue(message_id: str, severity: Severity = Severity.ERROR, **fields: Any) -> Issue:
    values: dict[str, Any] = {
        "code": "value",
        "message": f"about {message_id}",
        "location": "Patient.birthDate",
    }
    values.update(fields)
    return Issue(severity=severity, message_id=message_id, **values)


def _written(results: list[PayloadResult], **options: Any) -> dict[str, Any]:
    stream = io.StringIO()
    write_sarif(results, stream, **options)
    document: dict[str, Any] = json.loads(stream.getvalue())
    return document


def _varied_results() -> list[PayloadResult]:
    return [
        PayloadResult(
            Outcome.of(
                [
                    _issue(
                        "type.date", line=4, column=16, profile="http://x/P|1", element_id="Patient.birthDate"
                    ),
                    _issue(
                        "invariant.failed",
                        Severity.WARNING,
                        location="Patient",
                        line=1,
                        column=1,
                        constraint="dom-6",
                    ),
                    _issue("invariant.not-checked", Severity.INFORMATION, location="Patient"),
                ]
            ),
            "payloads/patient.json",
        ),
        PayloadResult(
            Outcome.of([_issue("json.syntax", Severity.FATAL, location="", line=5, column=41)]),
            "d/x.ndjson",
            line=5,
        ),
        PayloadResult(Outcome.of([_issue("type.date")]), "/abs/with space/é.json"),
        PayloadResult(Outcome.of([]), "valid.json"),
    ]


def test_the_log_is_valid_sarif_2_1_0(sarif_schema: jsonschema.protocols.Validator) -> None:
    log = _written(_varied_results(), base_uri=base_uri_of(Path.cwd()))
    sarif_schema.validate(log)
    assert log["version"] == "2.1.0"


def test_an_empty_run_is_valid_sarif(sarif_schema: jsonschema.protocols.Validator) -> None:
    sarif_schema.validate(sarif_log([]))


def test_results_are_located_by_file_line_and_column() -> None:
    run = sarif_log(_varied_results())["runs"][0]
    first = next(r for r in run["results"] if r["ruleId"] == "type.date")
    physical = first["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "payloads/patient.json"
    assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert physical["region"] == {"startLine": 4, "startColumn": 16}
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "Patient.birthDate"
    absolute = run["results"][-1]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert absolute["uri"] == "file:///abs/with%20space/%C3%A9.json" and "uriBaseId" not in absolute


def test_rules_are_message_ids_each_listed_once() -> None:
    run = sarif_log(_varied_results())["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert sorted(rule_ids) == ["invariant.failed", "json.syntax", "type.date"]
    assert all(result["ruleId"] == rule_ids[result["ruleIndex"]] for result in run["results"])
    assert {rule["id"]: rule["name"] for rule in run["tool"]["driver"]["rules"]}["type.date"] == "TypeDate"


def test_levels_follow_severity_and_information_is_left_out_unless_asked() -> None:
    levels = {(r["ruleId"], r["level"]) for r in sarif_log(_varied_results())["runs"][0]["results"]}
    assert levels == {("type.date", "error"), ("invariant.failed", "warning"), ("json.syntax", "error")}
    everything = sarif_log(_varied_results(), min_severity=Severity.INFORMATION)["runs"][0]["results"]
    assert [r["level"] for r in everything].count("note") == 1


def test_fingerprints_are_stable_and_distinct() -> None:
    first = [r["partialFingerprints"] for r in sarif_log(_varied_results())["runs"][0]["results"]]
    second = [r["partialFingerprints"] for r in sarif_log(_varied_results())["runs"][0]["results"]]
    assert first == second
    assert len({f["fhirIssue/v1"] for f in first}) == len(first)


def test_hostile_text_is_written_as_valid_json(sarif_schema: jsonschema.protocols.Validator) -> None:
    hostile = 'lone \ud800 surrogate, "quotes", \x00 nul, </script>'
    log = _written(
        [PayloadResult(Outcome.of([_issue("type.string", message=hostile, location=hostile)]), hostile)]
    )
    sarif_schema.validate(log)
    assert log["runs"][0]["results"][0]["message"]["text"].startswith("lone ")


def test_base_uri_ends_with_a_slash(tmp_path: Path) -> None:
    assert base_uri_of(tmp_path).endswith("/") and base_uri_of(tmp_path).startswith("file:///")


def _whole_log(results: list[PayloadResult], **options: Any) -> str:
    """The log as one document: what the streamed writer must write, byte for byte."""
    text = json.dumps(sarif_log(results, **options), indent=2, ensure_ascii=False)
    return re.sub("[\ud800-\udfff]", lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"


@pytest.mark.parametrize("count", [0, 1, 2, 5])
@pytest.mark.parametrize("min_severity", [Severity.WARNING, Severity.INFORMATION])
def test_the_log_written_result_by_result_is_the_whole_document(count: int, min_severity: Severity) -> None:
    hostile = PayloadResult(Outcome.of([_issue("type.string", message="lone \ud800 and é")]), "h.json")
    results = [*_varied_results(), hostile][:count]
    stream = io.StringIO()
    write_sarif(results, stream, base_uri="file:///repo/", min_severity=min_severity)
    assert stream.getvalue() == _whole_log(results, base_uri="file:///repo/", min_severity=min_severity)


def test_a_streamed_log_keeps_no_outcome_once_its_results_are_written() -> None:
    sink = SarifStream(io.StringIO())
    outcome = Outcome.of([_issue("type.date", line=3, column=1)])
    watched = weakref.ref(outcome)
    sink.add(PayloadResult(outcome, "p.json"))
    del outcome
    gc.collect()
    assert watched() is None
    sink.close()
    assert sink.tally.payloads == 1 and sink.tally.invalid == 1
