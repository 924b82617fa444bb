"""How values appear inside finding messages: clipped, quoted, Codings and Quantities spelled out."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from conformance.validation.questionnaire.json_values import as_text
from conformance.validation.questionnaire.ucum import UCUM

# Long values would drown the message they are quoted in.
_MESSAGE_VALUE_LIMIT = 80
_SYSTEM_NAMES = {UCUM: "UCUM", "http://snomed.info/sct": "SNOMED CT"}
_PRIMITIVE_SUFFIXES = frozenset(
    {"Boolean", "Decimal", "Integer", "Date", "DateTime", "Time", "String", "Uri"}
)


def type_name(suffix: str) -> str:
    return suffix[0].lower() + suffix[1:] if suffix in _PRIMITIVE_SUFFIXES else suffix


def clip(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= _MESSAGE_VALUE_LIMIT else text[: _MESSAGE_VALUE_LIMIT - 1] + "…"


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{clip(value)}'"
    if isinstance(value, Decimal):
        return clip(str(value))
    if isinstance(value, Mapping):
        return show_quantity(value) if "value" in value else show_coding(value)
    if isinstance(value, float):
        return clip(repr(value))
    return clip(str(value))


def _system_name(system: Any) -> str:
    return _SYSTEM_NAMES.get(system, str(system)) if isinstance(system, str) else ""


def show_coding(coding: Mapping[str, Any]) -> str:
    system, code, display = coding.get("system"), as_text(coding.get("code")), as_text(coding.get("display"))
    parts = [f"{_system_name(system)}#{code or ''}"] if isinstance(system, str) or code else []
    if display:
        parts.append(f"('{display}')")
    return clip(" ".join(parts)) or "an empty Coding"


def show_quantity(quantity: Mapping[str, Any]) -> str:
    comparator = as_text(quantity.get("comparator")) or ""
    unit = as_text(quantity.get("unit"))
    shown = f"{comparator}{show(quantity.get('value'))}" + (f" {unit}" if unit else "")
    units = " ".join(
        part for part in (_system_name(quantity.get("system")), as_text(quantity.get("code"))) if part
    )
    return clip(shown + (f" ({units})" if units else ""))
