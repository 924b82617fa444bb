"""Answers to the items whose type takes one kind of value: numbers, dates and times within their bounds,
strings of the allowed length and pattern, attachments of the allowed type and size."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from conformance.validation.questionnaire.answer_checks import AnswerChecks
from conformance.validation.questionnaire.form import Item
from conformance.validation.questionnaire.json_values import (
    as_decimal,
    as_instant,
    as_text,
    as_whole_number,
)
from conformance.validation.questionnaire.messages import JsonPath
from conformance.validation.questionnaire.shown import show

_EXT = "http://hl7.org/fhir/StructureDefinition/"
_EXT_MIN_VALUE = _EXT + "minValue"
_EXT_MAX_VALUE = _EXT + "maxValue"
_EXT_MIN_LENGTH = _EXT + "minLength"
_EXT_REGEX = _EXT + "regex"
_EXT_ENTRY_FORMAT = _EXT + "entryFormat"
_EXT_MIME_TYPE = _EXT + "mimeType"
_EXT_MAX_SIZE = _EXT + "maxSize"

# Python's re has no timeout, so very long answers are not matched against a Questionnaire's regex.
_MAX_REGEX_INPUT = 10_000


@dataclass(frozen=True)
class _OrderedType:
    """An item type whose answers are ordered, so that minValue and maxValue apply to them."""

    read_answer: Callable[[Any], Any]  # the answer as a comparable value; None leaves it unchecked
    read_bound: Callable[[Any], Any]  # a bound as a comparable value; None makes the bound unusable
    option_suffix: str  # the value[x] of the answer options it is listed against
    # Dates are quoted and matched against their options as written: their instants lose the precision.
    keeps_written_form: bool = False
    counts_decimal_places: bool = False


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_DATE = _OrderedType(as_instant, as_instant, "Date", keeps_written_form=True)
ORDERED_TYPES: Mapping[str, _OrderedType] = {
    "decimal": _OrderedType(as_decimal, as_decimal, "Decimal", counts_decimal_places=True),
    "integer": _OrderedType(as_decimal, as_decimal, "Integer"),
    "date": _DATE,
    "dateTime": _DATE,
    # hh:mm:ss[.f] has a fixed layout, so text order is time order.
    "time": _OrderedType(_string, as_text, "Time"),
}


class TypedAnswers(AnswerChecks):
    def check_ordered(self, definition: Item, value: Any, path: JsonPath) -> None:
        kind = ORDERED_TYPES[definition.type]
        answer = kind.read_answer(value)
        if answer is None:
            return
        written = value if kind.keeps_written_form else answer
        self._check_bounds(definition, answer, kind.read_bound, path, shown=show(written))
        if kind.counts_decimal_places:
            self.check_decimal_places(definition, answer, path)
        if definition.options:
            self.check_listed(definition, kind.option_suffix, written, path, typed_list_required=True)

    def _check_bounds(
        self, definition: Item, answer: Any, read_bound: Callable[[Any], Any], path: JsonPath, shown: str
    ) -> None:
        for url, is_minimum in ((_EXT_MIN_VALUE, True), (_EXT_MAX_VALUE, False)):
            raw = definition.extension_value(url)
            if raw is None:
                continue
            bound = read_bound(raw)
            params = {"item": definition.link_id, "value": shown, "limit": show(raw)}
            if bound is None:
                self.log.report("bound-unusable", path, bound=url.rsplit("/", 1)[-1], **params)
            else:
                comparison = (answer > bound) - (answer < bound)
                self.report_beyond_bound(path, comparison, is_minimum=is_minimum, params=params)

    def check_string(self, definition: Item, value: Any, path: JsonPath) -> None:
        if not isinstance(value, str):
            return
        self._check_length(definition, value, path)
        self._check_pattern(definition, value, path)
        if "\n" in value or "\r" in value:
            self.log.report("line-break", path, item=definition.link_id)
        if definition.value_set is not None:
            self.report_membership(definition, definition.value_set, (None, value), show(value), path)
        if definition.options:
            self.check_listed(definition, "String", value, path, typed_list_required=True)

    def _check_length(self, definition: Item, value: str, path: JsonPath) -> None:
        shortest = as_whole_number(definition.extension_value(_EXT_MIN_LENGTH))
        longest = definition.max_length
        params = {"item": definition.link_id, "value": show(value), "count": len(value)}
        if shortest is not None and len(value) < shortest:
            self.log.report("too-short", path, limit=shortest, **params)
        if longest is not None and len(value) > longest:
            self.log.report("too-long", path, limit=longest, **params)

    def _check_pattern(self, definition: Item, value: str, path: JsonPath) -> None:
        pattern_text = definition.extension_value(_EXT_REGEX)
        if not isinstance(pattern_text, str) or len(value) > _MAX_REGEX_INPUT:
            return
        pattern = _compiled(pattern_text)
        if pattern is None:
            self.log.report("regex-unusable", path, item=definition.link_id, pattern=show(pattern_text))
        elif pattern.fullmatch(value) is None:
            entry_format = definition.extension_value(_EXT_ENTRY_FORMAT)
            hint = f" (expected format: {show(entry_format)})" if entry_format is not None else ""
            self.log.report(
                "regex",
                path,
                item=definition.link_id,
                value=show(value),
                pattern=show(pattern_text),
                hint=hint,
            )

    def check_attachment(self, definition: Item, value: Any, path: JsonPath) -> None:
        if not isinstance(value, Mapping):
            return
        self._check_mime_type(definition, value, path)
        limit = as_decimal(definition.extension_value(_EXT_MAX_SIZE))
        data = value.get("data")
        size = _base64_size(data) if isinstance(data, str) else None
        if limit is not None and limit > 0 and size is not None and size > limit:
            self.log.report(
                "attachment-too-large", path, item=definition.link_id, count=size, limit=show(limit)
            )

    def _check_mime_type(self, definition: Item, attachment: Mapping[str, Any], path: JsonPath) -> None:
        allowed = [kind for kind in definition.extension_values(_EXT_MIME_TYPE) if isinstance(kind, str)]
        if not allowed:
            return
        content_type = as_text(attachment.get("contentType"))
        listed = ", ".join(allowed)
        if content_type is None:
            self.log.report("attachment-type-missing", path, item=definition.link_id, allowed=listed)
        elif not any(_mime_type_matches(content_type, kind) for kind in allowed):
            self.log.report(
                "attachment-type", path, item=definition.link_id, value=show(content_type), allowed=listed
            )


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _base64_size(data: str) -> int | None:
    """The decoded size of base64 text, computed without decoding it (attachments can be large)."""
    compact = "".join(data.split())
    if len(compact) % 4 or _BASE64.fullmatch(compact) is None:
        return None
    return len(compact) // 4 * 3 - (len(compact) - len(compact.rstrip("=")))


def _mime_type_matches(content_type: str, allowed: str) -> bool:
    """``image/*`` allows every image type; parameters such as ``; charset=`` are ignored."""
    actual = content_type.split(";", 1)[0].strip().lower()
    wanted = allowed.split(";", 1)[0].strip().lower()
    if wanted.endswith("/*"):
        return actual.startswith(wanted[:-1])
    return actual == wanted
