"""An assessment's evidence as CI reports: JUnit counts and SARIF valid against the OASIS schema."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conformance.reports import write_junit, write_sarif
from conformance.settings import Settings
from conformance.statements import Statement
from conformance.statements.reports import payload_results
from statements_support import INVALID, VALID, assess

SARIF_SCHEMA = Path(__file__).resolve().parent / "schemas" / "sarif-2.1.0.json"


@pytest.fixture(scope="module")
def statement(shared_settings: Settings) -> Statement:
    return assess("uk-core-stu2", shared_settings, VALID, INVALID)


def _assessed_items(statement: Statement) -> list[tuple[str, bool]]:
    return [
        (payload.name, bool(item.valid))
        for payload in statement.evidence.payloads
        for item in payload.items
        if item.valid is not None
    ]


def test_junit_has_one_testcase_per_assessed_resource_and_its_failures(statement: Statement) -> None:
    stream = io.StringIO()
    write_junit(payload_results(statement), stream)
    root = ET.fromstring(stream.getvalue())
    items = _assessed_items(statement)
    assert int(root.get("tests", "0")) == len(items)
    assert int(root.get("failures", "0")) == sum(1 for _, valid in items if not valid)
    assert sum(1 for _, valid in items if not valid) > 0


def test_sarif_is_valid_and_names_rules_by_message_id(statement: Statement) -> None:
    stream = io.StringIO()
    write_sarif(payload_results(statement), stream)
    log = json.loads(stream.getvalue())
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    errors = [
        record.message_id
        for payload in statement.evidence.payloads
        for item in payload.items
        for record in item.issues
        if record.severity in ("error", "fatal") and not record.suppressed
    ]
    rules = {rule["id"] for rule in log["runs"][0]["tool"]["driver"].get("rules", [])}
    assert set(errors) <= rules
