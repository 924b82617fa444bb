"""Hypothesis strategies for primitive values and codes: every value drawn is lexically valid.

Values are simple on purpose (short ASCII text, dates between 1950 and 2049, small numbers): they are
meant to pass the type rules and shrink to something readable, not to explore Unicode.
"""

from __future__ import annotations

import base64
import re
import string
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from conformance.definitions.plan import ElementRule
from conformance.errors import ConformanceError
from conformance.terminology import Concept, IdentifierRule
from conformance.terminology.checkdigits import nhs_check_digit
from conformance.terminology.identifiers import default_rules

_WORD = st.text(string.ascii_lowercase, min_size=1, max_size=8)
_TOKEN = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)
_FIRST_DAY = date(1950, 1, 1)
_DAYS = 365 * 100

# A well-formed code for each syntax-defined or external system a value set may include whole.
SYSTEM_SAMPLES: Mapping[str, str] = {
    "urn:ietf:bcp:47": "en-GB",
    "urn:ietf:bcp:13": "text/plain",
    "http://unitsofmeasure.org": "mg",
    "http://snomed.info/sct": "22298006",
    "https://dmd.nhs.uk": "39720311000001101",
    "http://loinc.org": "8867-4",
    "urn:iso:std:iso:4217": "GBP",
    "urn:iso:std:iso:3166": "GB",
}


def text(max_length: int | None = None) -> st.SearchStrategy[str]:
    """Words separated by single spaces, never blank, never padded."""
    words = st.lists(_WORD, min_size=1, max_size=3).map(" ".join)
    return words.map(lambda value: value[:max_length].strip() or "a") if max_length else words


def dates() -> st.SearchStrategy[date]:
    return st.integers(0, _DAYS).map(lambda days: _FIRST_DAY + timedelta(days=days))


def _date_text() -> st.SearchStrategy[str]:
    return st.one_of(
        dates().map(date.isoformat),
        dates().map(lambda day: f"{day.year:04d}-{day.month:02d}"),
        dates().map(lambda day: f"{day.year:04d}"),
    )


def _clock() -> st.SearchStrategy[str]:
    return st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)).map(
        lambda hms: f"{hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d}"
    )


_ZONES = st.sampled_from(["Z", "+00:00", "+01:00", "-05:00"])


def _instant_text() -> st.SearchStrategy[str]:
    return st.tuples(dates(), _clock(), _ZONES).map(lambda p: f"{p[0].isoformat()}T{p[1]}{p[2]}")


def date_time_text() -> st.SearchStrategy[str]:
    return st.one_of(dates().map(date.isoformat), _instant_text(), _date_text())


def _base64_text() -> st.SearchStrategy[str]:
    return st.binary(min_size=1, max_size=12).map(lambda raw: base64.b64encode(raw).decode("ascii"))


def _uuid_text() -> st.SearchStrategy[str]:
    return st.uuids().map(lambda value: f"urn:uuid:{value}")


def _oid_text() -> st.SearchStrategy[str]:
    return st.lists(st.integers(1, 999), min_size=1, max_size=4).map(
        lambda arcs: "urn:oid:2.16.840.1." + ".".join(map(str, arcs))
    )


def _url_text() -> st.SearchStrategy[str]:
    return _TOKEN.map(lambda token: f"http://example.org/fhir/{token}")


def _markdown() -> st.SearchStrategy[str]:
    return text()


XHTML = '<div xmlns="http://www.w3.org/1999/xhtml"><p>generated</p></div>'

_PRIMITIVES: Mapping[str, st.SearchStrategy[Any]] = {
    "boolean": st.booleans(),
    "integer": st.integers(-1000, 1000),
    "integer64": st.integers(-1000, 1000).map(str),
    "unsignedInt": st.integers(0, 1000),
    "positiveInt": st.integers(1, 1000),
    "decimal": st.integers(0, 100_000).map(lambda cents: cents / 100),
    "string": text(),
    "markdown": _markdown(),
    "code": _TOKEN,
    "id": st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
    "uri": _url_text(),
    "url": _url_text(),
    "canonical": _url_text(),
    "oid": _oid_text(),
    "uuid": _uuid_text(),
    "date": _date_text(),
    "dateTime": date_time_text(),
    "instant": _instant_text(),
    "time": _clock(),
    "base64Binary": _base64_text(),
    "xhtml": st.just(XHTML),
}


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _bounded(strategy: st.SearchStrategy[Any], rule: ElementRule) -> st.SearchStrategy[Any]:
    low = _number(rule.min_value[1]) if rule.min_value else None
    high = _number(rule.max_value[1]) if rule.max_value else None
    if low is None and high is None:
        return strategy
    if low is not None and high is not None and low > high:
        return strategy
    # Inside a declared range: the bound itself is always valid; shift drawn values into the range.
    return strategy.map(lambda value: _clamp(value, low, high))


def _clamp(value: Any, low: Decimal | None, high: Decimal | None) -> Any:
    number = _number(value)
    if number is None:
        return value
    if low is not None and number < low:
        number = low
    if high is not None and number > high:
        number = high
    return int(number) if isinstance(value, int) else number


def _compiles(pattern: str) -> bool:
    # A profile's regex may be broken (the validator then only warns): generate as if it had none.
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def primitive(type_code: str, rule: ElementRule | None = None) -> st.SearchStrategy[Any]:
    """A lexically valid value of a primitive type, within the element's maxLength and value range."""
    strategy = _PRIMITIVES.get(type_code, text())
    if rule is None:
        return strategy
    if rule.regex and type_code in ("string", "code", "id", "uri", "markdown") and _compiles(rule.regex):
        strategy = st.from_regex(rule.regex, fullmatch=True).filter(
            lambda value: value.strip() == value and value
        )
    if rule.max_length is not None and type_code in ("string", "markdown", "code", "id"):
        limit = max(rule.max_length, 1)
        strategy = strategy.map(lambda value: value[:limit].strip() or "a")
    return _bounded(strategy, rule)


def identifier_value(system: str | None) -> st.SearchStrategy[str]:
    """A value for an identifier: well-formed, with a right check digit, for systems with a UK rule."""
    rule = _identifier_rule(system)
    if system == "https://fhir.nhs.uk/Id/nhs-number":
        return nhs_numbers()
    if rule is None:
        return _TOKEN
    return st.from_regex(rule.pattern, fullmatch=True).filter(lambda value: rule.problem(value) is None)


def _identifier_rule(system: str | None) -> IdentifierRule | None:
    if not system:
        return None
    try:
        return default_rules().for_system(system)
    except ConformanceError:
        return None


def nhs_numbers() -> st.SearchStrategy[str]:
    """Valid NHS numbers (Modulus 11), from the 999 test range so no real patient is named."""

    def complete(first_nine: str) -> str | None:
        check = nhs_check_digit(first_nine)
        return None if check is None else first_nine + str(check)

    return (
        st.integers(0, 999_999)
        .map(lambda n: complete(f"999{n:06d}"))
        .filter(lambda value: value is not None)
        .map(str)
    )


def coding_of(concept: Concept) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": concept.system, "code": concept.code}
    if concept.display:
        coding["display"] = concept.display
    return coding


def usable(concepts: Sequence[Concept]) -> tuple[Concept, ...]:
    """Concepts a conforming instance may carry: not abstract, not inactive."""
    return tuple(c for c in concepts if not c.abstract and not c.inactive and c.code.strip() == c.code)
