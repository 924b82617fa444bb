"""Comparing FHIR date, dateTime, instant and time values with their precision.

FHIRPath compares such values field by field from the most significant one. When the
two values differ before either runs out of fields, the first difference decides;
when one value has fields the other lacks and they agree up to there, the answer is
unknown (an empty result): `2023-06-21 <= 2023-06-21T06:20:00Z` is empty, which is why
the HL7 validator reports per-1 on such a Period. Seconds and their fraction count as
one field. Values with a time zone are moved to UTC first; a value without one is
taken as UTC too (a validator has no "local" time zone to assume).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache

_DATE_TIME = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2}(?:\.\d+)?))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)
_TIME = re.compile(r"T?(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2}(?:\.\d+)?))?)?")


@dataclass(frozen=True)
class Moment:
    """A parsed value: its fields from the most significant, as far as it was given."""

    fields: tuple[Decimal, ...]
    is_time_of_day: bool


@lru_cache(maxsize=4096)
def parse_moment(text: str, time_of_day: bool = False) -> Moment | None:
    """The value of a FHIR date/dateTime/instant (or, with time_of_day, time) string."""
    if time_of_day:
        match = _TIME.fullmatch(text)
        if match is None:
            return None
        return Moment(_fields(match, ("hour", "minute", "second")), True)
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return None
    fields = _fields(match, ("year", "month", "day", "hour", "minute", "second"))
    zone = match.group("zone")
    if zone and zone != "Z" and len(fields) > 3:
        fields = _to_utc(fields, zone)
    return Moment(fields, False)


def compare_moments(left: Moment, right: Moment) -> int | None:
    """-1, 0 or 1; None when the values cannot be ordered at their precisions."""
    if left.is_time_of_day != right.is_time_of_day:
        return None
    for mine, theirs in zip(left.fields, right.fields, strict=False):
        if mine != theirs:
            return -1 if mine < theirs else 1
    return 0 if len(left.fields) == len(right.fields) else None


def _fields(match: re.Match[str], names: tuple[str, ...]) -> tuple[Decimal, ...]:
    values = []
    for name in names:
        text = match.group(name)
        if text is None:
            break
        values.append(Decimal(text))
    return tuple(values)


def _to_utc(fields: tuple[Decimal, ...], zone: str) -> tuple[Decimal, ...]:
    sign = 1 if zone[0] == "+" else -1
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * sign
    whole_seconds = int(fields[5]) if len(fields) > 5 else 0
    try:
        local = datetime(
            int(fields[0]),
            int(fields[1]),
            int(fields[2]),
            int(fields[3]),
            int(fields[4]) if len(fields) > 4 else 0,
            whole_seconds,
            tzinfo=timezone(offset),
        )
        utc = local.astimezone(UTC)
    except (ValueError, OverflowError):
        return fields  # an impossible date: leave it as written, the value check reports it
    moved = [utc.year, utc.month, utc.day, utc.hour, utc.minute]
    result = [Decimal(value) for value in moved[: len(fields)]]
    if len(fields) > 5:
        result.append(Decimal(utc.second) + (fields[5] - whole_seconds))
    return tuple(result)
