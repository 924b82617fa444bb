"""Reading the FHIR JSON form of a Questionnaire and its response: arrays, choice elements, numbers and dates.

Anything malformed is the engine's to report, so these readers skip it or answer None rather than raise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

# The value[x] types an answer (and an enableWhen / option value) can carry, as JSON name suffixes.
VALUE_SUFFIXES = frozenset(
    {
        "Boolean",
        "Decimal",
        "Integer",
        "Date",
        "DateTime",
        "Time",
        "String",
        "Uri",
        "Attachment",
        "Coding",
        "Quantity",
        "Reference",
    }
)

AnswerValue = tuple[str, Any]


def mappings(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a JSON array; anything malformed is the engine's to report, so it is skipped here."""
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]


def indexed_mappings(value: Any) -> list[tuple[int, Mapping[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(index, entry) for index, entry in enumerate(value) if isinstance(entry, Mapping)]


def as_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def strings(value: Any) -> list[str]:
    """A JSON string or array of strings as a list (STU3 and R4 differ on some cardinalities)."""
    if isinstance(value, str):
        return [value]
    return [entry for entry in value if isinstance(entry, str)] if isinstance(value, list) else []


def choice(mapping: Mapping[str, Any], prefix: str) -> AnswerValue | None:
    """The first ``<prefix><Type>`` element of a choice, as (Type, value)."""
    for key, value in mapping.items():
        if isinstance(key, str) and key.startswith(prefix) and key[len(prefix) :] in VALUE_SUFFIXES:
            return key[len(prefix) :], value
    return None


def value_of_extension(extension: Mapping[str, Any]) -> Any:
    for key, value in extension.items():
        if isinstance(key, str) and key.startswith("value") and key[5:6].isupper():
            return value
    return None


def typed_value(option: Mapping[str, Any], suffix: str) -> Any:
    return option.get("value" + suffix)


def reference_text(value: Any) -> str | None:
    return as_text(value.get("reference")) if isinstance(value, Mapping) else None


def contained_resource(resource: Mapping[str, Any], local_id: str) -> Mapping[str, Any] | None:
    return find_by_id(mappings(resource.get("contained")), local_id)


def find_by_id(resources: Iterable[Mapping[str, Any]], local_id: str) -> Mapping[str, Any] | None:
    return next((resource for resource in resources if resource.get("id") == local_id), None)


def as_whole_number(value: Any) -> int | None:
    number = as_decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def as_decimal(value: Any) -> Decimal | None:
    """A JSON number (int, float, Decimal or its text) as a finite Decimal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        # repr keeps the digits the JSON text had for any number a float can carry exactly
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def decimal_places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


_INSTANT = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def as_instant(value: Any) -> datetime | None:
    """The first instant a FHIR date or dateTime of any precision covers (a date without a zone is taken as
    UTC), which is how the Java validator orders dates of different precisions."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    match = _INSTANT.fullmatch(value.strip())
    if match is None:
        return None
    parts = match.groupdict()
    try:
        return datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0")[:6].ljust(6, "0")),
            tzinfo=_zone(parts["zone"]),
        )
    except ValueError:
        return None


def _zone(offset: str | None) -> timezone:
    if not offset or offset == "Z":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
