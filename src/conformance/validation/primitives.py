"""Primitive values: JSON type, lexical form by the FHIR datatype rules, ranges and lengths.

The lexical regexes come from the primitive types' own StructureDefinitions
(the regex extension on `<type>.value`); what a regex cannot say (real calendar
dates, 32-bit ranges, base64 padding) is checked here. Regexes are Java's, matched
against the whole value (XML Schema patterns, Java's `String.matches`): see
`conformance.fhirpath.javaregex`.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from conformance.fhirpath.javaregex import JavaRegexError, translate

NUMBER_TYPES = frozenset({"integer", "positiveInt", "unsignedInt", "decimal", "integer64"})
INT32 = (-(2**31), 2**31 - 1)
MAX_STRING_BYTES = 1024 * 1024
REGEX_TIMEOUT_SECONDS = 0.25

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_DATETIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)
_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_OID_ARCS = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/=\s]*")

# The HL7 validator's whitespace (Utilities.isWhitespace): ASCII space and controls, the Unicode space
# separators and line separators; not Python's isspace(), which adds the \x1c-\x1f separators.
JAVA_WHITESPACE = frozenset(
    " \t\n\x0b\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True)
class Problem:
    message_id: str
    message: str
    code: str = "invalid"
    warning: bool = False


def json_type_problem(type_code: str, value: Any) -> Problem | None:
    """FHIR JSON puts booleans as true/false, numbers as numbers, everything else as strings."""
    if type_code == "boolean":
        ok = isinstance(value, bool)
        expected = "a boolean"
    elif type_code in NUMBER_TYPES and type_code != "integer64":
        ok = isinstance(value, int | Decimal | float) and not isinstance(value, bool)
        expected = "a number"
    else:
        ok = isinstance(value, str)
        expected = "a string"
    if ok:
        return None
    return Problem(
        "type.json-type",
        f"Error parsing JSON: the primitive value must be {expected}, "
        f"not {_describe(value)} (type {type_code})",
        code="structure",
    )


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _valid_date_parts(year: str, month: str | None, day: str | None) -> bool:
    if month is None:
        return True
    m = int(month)
    if not 1 <= m <= 12:
        return False
    if day is None:
        return True
    return 1 <= int(day) <= calendar.monthrange(int(year), m)[1]


def _check_date(value: str) -> Problem | None:
    match = _DATE.fullmatch(value)
    if not match or not _valid_date_parts(*match.groups()):
        return Problem("type.date", f"Not a valid date ({value!r})")
    return None


def _valid_clock(hour: str | None, minute: str | None, second: str | None) -> bool:
    if hour is None:
        return True
    return int(hour) <= 23 and int(minute or 0) <= 59 and int(second or 0) <= 60


def _check_datetime(value: str, *, instant: bool = False) -> Problem | None:
    kind = "instant" if instant else "date/time"
    match = _DATETIME.fullmatch(value)
    if not match:
        return Problem("type.datetime", f"Not a valid {kind} ({value!r})")
    year, month, day, hour, minute, second, zone = match.groups()
    if not _valid_date_parts(year, month, day) or not _valid_clock(hour, minute, second):
        return Problem("type.datetime", f"Not a valid {kind} ({value!r})")
    if hour is not None and zone is None:
        return Problem("type.datetime.timezone", "If a date has a time, it must have a timezone")
    if instant and (second is None or zone is None):
        return Problem(
            "type.instant", f"Not a valid instant ({value!r}): seconds and a timezone are required"
        )
    return None


def _check_time(value: str) -> Problem | None:
    match = _TIME.fullmatch(value)
    if not match or not _valid_clock(*match.groups()):
        return Problem("type.time", f"Not a valid time ({value!r})")
    return None


def _check_integer(value: Any, type_code: str) -> Problem | None:
    if not isinstance(value, int):
        return Problem("type.integer", f"The value '{value}' is not a valid integer")
    low = 1 if type_code == "positiveInt" else 0 if type_code == "unsignedInt" else INT32[0]
    if type_code == "integer64":
        return None
    if not low <= value <= INT32[1]:
        return Problem("type.integer.range", f"The value '{value}' is outside the range of {type_code}")
    return None


def _check_decimal(value: Any) -> Problem | None:
    if isinstance(value, Decimal) and not value.is_finite():
        return Problem("type.decimal", f"The value '{value}' is not a valid decimal")
    return None


def _check_base64(value: str) -> Problem | None:
    if not _BASE64_CHARS.fullmatch(value):
        return Problem("type.base64", "The value is not a valid Base64 value")
    compact = re.sub(r"\s+", "", value)
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return Problem("type.base64", "The value is not a valid Base64 value")
    return None


def _check_id(value: str) -> Problem | None:
    if _ID.fullmatch(value):
        return None
    if len(value) > 64:
        return Problem("type.id.length", f"Invalid id: too long ({len(value)} chars)")
    return Problem("type.id", f"Invalid id: invalid characters ({value!r})")


def _check_code(value: str) -> Problem | None:
    """A code has no leading, trailing or doubled space, and no whitespace but single spaces."""
    inner = value.split(" ")
    if value and ("" in inner or any(ch in JAVA_WHITESPACE for part in inner for ch in part)):
        return Problem("type.code", f"The code '{value}' is not valid (whitespace)")
    return None


def _check_uri(value: str, *, canonical: bool = False) -> Problem | None:
    """The HL7 validator's URI rules: no space at all, no whitespace at either end; valid OIDs and UUIDs
    (a canonical's `|version` and a UUID's `#fragment` are not part of them)."""
    if value != _java_trim(value).replace(" ", ""):
        return Problem("type.uri", f"URI values cannot have whitespace ('{value}')")
    oid = value[8:].split("|", maxsplit=1)[0] if canonical else value[8:]
    if value.startswith("urn:oid:") and not _valid_oid(oid):
        return Problem("type.oid", f"The OID '{value}' is not valid")
    if value.startswith("urn:uuid:"):
        uuid = value.split("#", maxsplit=1)[0]
        uuid = uuid.rsplit("|", 1)[0] if canonical else uuid
        if not _UUID.fullmatch(uuid):
            return Problem("type.uuid", f"The UUID '{value}' is not valid")
    return None


def _java_trim(value: str) -> str:
    start, end = 0, len(value)
    while start < end and value[start] in JAVA_WHITESPACE:
        start += 1
    while end > start and value[end - 1] in JAVA_WHITESPACE:
        end -= 1
    return value[start:end]


def _valid_oid(oid: str) -> bool:
    """Arcs of digits without leading zeros, the first 0, 1 or 2; and, as the HL7 validator requires, a
    root longer than a registration authority's own arcs (the last dot at index 4 or later, or 1.3.x)."""
    return _OID_ARCS.fullmatch(oid) is not None and (oid.rfind(".") >= 4 or oid.startswith("1.3"))


def _check_canonical(value: str) -> Problem | None:
    if value.startswith("#") or ":" in value:
        return None
    return Problem(
        "type.canonical.relative",
        f"Canonical URLs must be absolute URLs if they are not fragment references ({value})",
    )


def _check_string(value: str) -> Problem | None:
    if len(value) * 4 > MAX_STRING_BYTES and len(value.encode("utf-8")) > MAX_STRING_BYTES:
        return Problem("type.string.too-long", "value is longer than permitted maximum length of 1 MB")
    return None


_STRING_CHECKS: dict[str, Callable[[str], Problem | None]] = {
    "date": _check_date,
    "dateTime": _check_datetime,
    "instant": lambda v: _check_datetime(v, instant=True),
    "time": _check_time,
    "base64Binary": _check_base64,
    "id": _check_id,
    "code": _check_code,
    "uri": _check_uri,
    "url": _check_uri,
    "canonical": lambda v: _check_uri(v, canonical=True) or _check_canonical(v),
    "oid": _check_uri,
    "uuid": _check_uri,
    "string": _check_string,
    "markdown": _check_string,
}


def lexical_problem(type_code: str, value: Any) -> Problem | None:
    """Type-specific lexical rules, after the JSON type is known to be right."""
    if isinstance(value, str):
        if value == "":
            return Problem("type.empty-string", "@value cannot be empty", code="structure")
        check = _STRING_CHECKS.get(type_code)
        return check(value) if check else None
    if type_code in {"integer", "positiveInt", "unsignedInt", "integer64"}:
        return _check_integer(value, type_code)
    if type_code == "decimal":
        return _check_decimal(value)
    return None


_compiled: dict[str, Any] = {}


_trusted: dict[str, re.Pattern[str] | None] = {}


def type_regex_problem(pattern: str, value: Any, type_code: str) -> Problem | None:
    """A primitive type's own lexical regex, from the FHIR core definitions: trusted, so no time limit.

    The standard library's engine is several times faster on these simple patterns, which run on every
    primitive value; a pattern it cannot compile goes the guarded way.
    """
    compiled = _trusted.get(pattern, ...)
    if compiled is ...:
        compiled = _compile_trusted(pattern)
        _trusted[pattern] = compiled
    if compiled is None:
        return regex_problem(pattern, value, type_code)
    text = _regex_text(value)
    if compiled.fullmatch(text) is None:
        return Problem("type.regex", f"The value '{_clip(text)}' does not match the regex for {type_code}")
    return None


def _compile_trusted(pattern: str) -> re.Pattern[str] | None:
    """The standard library's compiled form, when the Java pattern has one (no nested classes)."""
    try:
        translation = translate(pattern)
        return None if translation.nested_sets else re.compile(translation.pattern)
    except (JavaRegexError, re.error):
        return None


def regex_problem(pattern: str, value: Any, type_code: str) -> Problem | None:
    """Check a value against a profile's regex, with a time limit (profiles can be hostile)."""
    text = _regex_text(value)
    compiled = _compiled.get(pattern)
    if compiled is None:
        import regex  # noqa: PLC0415 -- loaded by the first profile regex, not by every run

        try:
            translation = translate(pattern)
            flavour = regex.VERSION1 if translation.nested_sets else regex.VERSION0
            compiled = regex.compile(translation.pattern, flavour)
        except (JavaRegexError, regex.error, RecursionError, OverflowError):
            return Problem(
                "type.regex.invalid", f"The regex {pattern!r} in the definition is not valid", warning=True
            )
        _compiled[pattern] = compiled
    try:
        matched = compiled.fullmatch(text, timeout=REGEX_TIMEOUT_SECONDS)
    except TimeoutError:
        return Problem(
            "type.regex.too-costly",
            f"The regex {pattern!r} could not be evaluated in time on this value; not checked",
            code="too-costly",
            warning=True,
        )
    if matched is None:
        return Problem("type.regex", f"The value '{_clip(text)}' does not match the regex for {type_code}")
    return None


def _regex_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
