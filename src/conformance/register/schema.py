"""register.json's JSON Schema, and writing register.json through it."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from conformance.errors import ConformanceError
from conformance.register.model import REGISTER_VERSION, Register

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_file_name(version: str = REGISTER_VERSION) -> str:
    return f"register-{version}.schema.json"


@cache
def register_schema() -> dict[str, Any]:
    """The JSON Schema of register.json, generated from the model."""
    return {"$schema": SCHEMA_DIALECT, **Register.model_json_schema(mode="serialization")}


def register_schema_text() -> str:
    """The schema as committed: two-space indented JSON with a final newline."""
    return json.dumps(register_schema(), indent=2, ensure_ascii=False) + "\n"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(register_schema())


def check_register_data(data: Any) -> None:
    """ConformanceError naming the first wrong place when `data` is not a register of this format."""
    error: jsonschema.ValidationError | None = jsonschema.exceptions.best_match(
        _validator().iter_errors(data)
    )
    if error is not None:
        place = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.absolute_path)
        raise ConformanceError(
            f"register.json does not match its schema at {place.lstrip('.') or 'the top'}: {error.message}"
        )


def register_json(register: Register) -> str:
    """register.json's text, checked against the schema: two-space indented, with a final newline."""
    data = register.model_dump(mode="json")
    check_register_data(data)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
