"""The statement format: its committed JSON Schema, and statements checked against it on write and read."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.settings import Settings
from conformance.statements import (
    STATEMENT_VERSION,
    StatementError,
    read_statement,
    statement_json,
    statement_schema,
    statement_schema_text,
    write_statement,
)
from conformance.statements.schema import schema_file_name, statement_from_data
from statements_support import REPO, VALID, assess, write_json

COMMITTED = REPO / "docs" / "schema" / schema_file_name()


def test_committed_schema_is_the_generated_one() -> None:
    assert COMMITTED.is_file(), f"run: python -c 'from conformance.statements import *' to write {COMMITTED}"
    assert COMMITTED.read_text(encoding="utf-8") == statement_schema_text(), (
        "the statement model changed: regenerate docs/schema with statement_schema_text() "
        "(and bump STATEMENT_VERSION if old statements no longer match)"
    )


def test_schema_is_a_valid_draft_2020_12_schema_for_this_version() -> None:
    schema = statement_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert STATEMENT_VERSION in schema["properties"]["statement_version"]["enum"]
    assert schema["additionalProperties"] is False


@pytest.fixture(scope="module")
def statement_data(shared_settings: Settings) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(statement_json(assess("shared-care-record", shared_settings, VALID)))
    return data


@pytest.mark.shared
def test_a_written_statement_reads_back_equal(shared_settings: Settings, tmp_path: Path) -> None:
    statement = assess("shared-care-record", shared_settings, VALID)
    path = tmp_path / "statement.json"
    write_statement(statement, path)
    jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), statement_schema())
    assert read_statement(path) == statement
    assert path.read_text(encoding="utf-8").endswith("}\n")


def _broken(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


_DELETE = object()


@pytest.mark.shared
@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("results", "verdict"), "maybe", r"at results\.verdict: 'maybe' is not one of"),
        (("results", "profiles", 0, "tested"), -1, r"at results\.profiles\[0\]\.tested: -1 is less than"),
        (("subject", "payload_set_sha256"), "abc", r"at subject\.payload_set_sha256: 'abc' does not match"),
        (("subject", "supplier"), _DELETE, r"'supplier' is a required property"),
        (("evidence", "payloads", 0, "note"), "extra", r"Additional properties are not allowed \('note'"),
        (("provenance", "generated_at"), "yesterday", r"at provenance\.generated_at"),
        (("signature",), {"format": "pgp"}, r"at signature"),
    ],
)
def test_schema_invalid_statements_are_rejected(
    statement_data: dict[str, Any], tmp_path: Path, path: tuple[str | int, ...], value: Any, message: str
) -> None:
    broken = write_json(tmp_path / "broken.json", _broken(statement_data, path, value))
    with pytest.raises(StatementError, match=message):
        read_statement(broken)


@pytest.mark.shared
def test_another_format_version_is_named(statement_data: dict[str, Any]) -> None:
    with pytest.raises(StatementError, match=r"statement format 9\.0 is not supported"):
        statement_from_data({**statement_data, "statement_version": "9.0"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a JSON statement"),
        (b"{not json", "not a JSON statement"),
        (b"\xff\xfe", "not a JSON statement"),
        (b"[]", "at the top: \\[\\] is not of type 'object'"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not a JSON statement|is not of type"),
    ],
)
def test_unreadable_statements_are_statement_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "statement.json"
    path.write_bytes(content)
    with pytest.raises(StatementError, match=message):
        read_statement(path)


def test_a_missing_statement_is_a_statement_error(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="cannot read the statement"):
        read_statement(tmp_path / "absent.json")
