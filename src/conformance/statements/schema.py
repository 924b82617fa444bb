"""The statement's JSON Schema, and reading and writing statements through it.

The schema is generated from the pydantic model; the same text is committed as
docs/schema/statement-<version>.schema.json (a test keeps the two equal). Every statement written is
checked against it before it leaves, and every statement read is checked before it is used: the
schema names the first wrong place in terms a reader can act on, which pydantic's errors do not.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from conformance.errors import InputError
from conformance.statements.model import STATEMENT_VERSION, STATEMENT_VERSIONS, Statement

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_STATEMENT_BYTES = 512 * 1024 * 1024


class StatementError(InputError):
    """A statement that cannot be read, or does not match the statement schema."""


def schema_file_name(version: str = STATEMENT_VERSION) -> str:
    return f"statement-{version}.schema.json"


@cache
def statement_schema() -> dict[str, Any]:
    """The JSON Schema of the statement format, generated from the model."""
    generated = Statement.model_json_schema(mode="serialization")
    return {"$schema": SCHEMA_DIALECT, **generated}


def statement_schema_text() -> str:
    """The schema as committed: two-space indented JSON with a final newline."""
    return json.dumps(statement_schema(), indent=2, ensure_ascii=False) + "\n"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(statement_schema())


def check_statement_data(data: Any, where: str = "statement") -> None:
    """StatementError when `data` (a statement's JSON form) is not a statement of this format."""
    version = data.get("statement_version") if isinstance(data, dict) else None
    if isinstance(version, str) and version not in STATEMENT_VERSIONS:
        raise StatementError(
            f"{where}: statement format {version} is not supported "
            f"(this tool reads {', '.join(STATEMENT_VERSIONS)})"
        )
    if version == "1.0" and _api_parts(data):
        raise StatementError(f"{where}: a 1.0 statement cannot hold API test results (they came in 1.1)")
    errors = _validator().iter_errors(data)
    error: jsonschema.ValidationError | None = jsonschema.exceptions.best_match(errors)
    if error is not None:
        place = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.absolute_path)
        raise StatementError(
            f"{where}: does not match the statement schema at {place.lstrip('.') or 'the top'}: "
            f"{_short(error.message)}"
        )


def _api_parts(data: dict[str, Any]) -> bool:
    parts = (data.get("results"), data.get("evidence"))
    return any(isinstance(part, dict) and "api" in part for part in parts)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def statement_to_data(statement: Statement) -> dict[str, Any]:
    # A 1.0 statement is written back with exactly the fields it was read with: fields added since
    # (with their defaults) would change its canonical form, and so break its signature.
    legacy = statement.statement_version == "1.0"
    data: dict[str, Any] = statement.model_dump(mode="json", exclude_unset=legacy)
    # A statement without API parts carries no empty API keys either.
    for part in ("results", "evidence"):
        if data.get(part, {}).get("api") is None:
            data[part].pop("api", None)
    return data


def checked(statement: Statement) -> Statement:
    """The statement, once its JSON form has passed the schema (a model bug must not leave the tool)."""
    check_statement_data(statement_to_data(statement), "the statement written")
    return statement


def statement_from_data(data: Any, where: str = "statement") -> Statement:
    check_statement_data(data, where)
    return Statement.model_validate(data)


def statement_json(statement: Statement) -> str:
    """The statement as written to a file: checked, two-space indented, with a final newline."""
    data = statement_to_data(statement)
    check_statement_data(data, "the statement written")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def canonical_bytes(statement: Statement) -> bytes:
    """The canonical form that is signed: the statement without its signature, keys sorted, no spaces."""
    data = statement_to_data(statement)
    data.pop("signature", None)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def write_statement(statement: Statement, path: Path) -> None:
    text = statement_json(statement)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def read_statement(path: Path) -> Statement:
    """Read a statement file, checked against the schema; StatementError says what is wrong and where."""
    return statement_from_data(read_statement_data(path), str(path))


def read_statement_data(path: Path) -> Any:
    """A statement file's JSON, unchecked (for tools that report on a broken statement)."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_STATEMENT_BYTES + 1)
    except OSError as exc:
        raise StatementError(f"cannot read the statement {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_STATEMENT_BYTES:
        raise StatementError(f"{path}: larger than {MAX_STATEMENT_BYTES} bytes; not a statement")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StatementError(f"{path}: not a JSON statement ({exc})") from None
    except RecursionError:
        raise StatementError(f"{path}: nested too deeply to be a statement") from None
