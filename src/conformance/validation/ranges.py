"""minValue[x] / maxValue[x] on numbers, dates, times, quantities and durations relative to now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Walker

UCUM = "http://unitsofmeasure.org"
# UCUM metric prefixes, so that `g` and `kg` compare; units with other spellings are not converted.
_PREFIXES = {
    "Y": 24, "Z": 21, "E": 18, "P": 15, "T": 12, "G": 9, "M": 6, "k": 3, "h": 2, "da": 1,
    "d": -1, "c": -2, "m": -3, "u": -6, "n": -9, "p": -12, "f": -15,
}  # fmt: skip
_METRIC_BASES = frozenset(
    {"g", "m", "l", "L", "s", "mol", "Pa", "J", "W", "Hz", "N", "V", "A", "K", "cal", "eq"}
)
# Durations as calendar-free approximations, enough to say "more than 100 years ago".
_DURATION_DAYS = {
    "a": 365.25,
    "mo": 30.4375,
    "wk": 7.0,
    "d": 1.0,
    "h": 1 / 24,
    "min": 1 / 1440,
    "s": 1 / 86400,
}


def _comparable(value: Any) -> Decimal | str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return None


def _compare(left: Decimal | str, right: Decimal | str) -> int | None:
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return (left > right) - (left < right)
    if isinstance(left, str) and isinstance(right, str):
        # Dates and times of one precision compare as text; other precisions are cut to the shorter.
        if len(left) != len(right) and "T" not in left + right:
            shorter = min(len(left), len(right))
            left, right = left[:shorter], right[:shorter]
        return (left > right) - (left < right)
    return None


def _metric(code: str) -> tuple[int, str] | None:
    """`kg` -> (3, "g"); a bare base unit -> (0, base)."""
    if code in _METRIC_BASES:
        return 0, code
    for prefix in sorted(_PREFIXES, key=len, reverse=True):
        if code.startswith(prefix) and code[len(prefix) :] in _METRIC_BASES:
            return _PREFIXES[prefix], code[len(prefix) :]
    return None


def quantity_in(quantity: Mapping[str, Any], unit_code: str) -> Decimal | None:
    """The quantity's value expressed in `unit_code`, when both are UCUM and convertible."""
    value, code = quantity.get("value"), quantity.get("code")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float) or not isinstance(code, str):
        return None
    if code == unit_code:
        return Decimal(str(value))
    here, there = _metric(code), _metric(unit_code)
    if quantity.get("system") != UCUM or here is None or there is None or here[1] != there[1]:
        return None
    return Decimal(str(value)).scaleb(here[0] - there[0])


def _show(quantity: Mapping[str, Any]) -> str:
    return f"{quantity.get('value')} {quantity.get('code') or quantity.get('unit') or ''}".strip()


def _relative_limit(duration: Mapping[str, Any], direction: int) -> datetime | None:
    days = _DURATION_DAYS.get(str(duration.get("code") or duration.get("unit")))
    value = duration.get("value")
    if days is None or isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return None
    return datetime.now(UTC) + direction * timedelta(days=float(value) * days)


def _as_instant(text: str) -> datetime | None:
    padded = text if "T" in text else (text + "-01-01"[len(text) - 4 :] if len(text) < 10 else text)
    try:
        moment = datetime.fromisoformat(padded.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class RangeChecks:
    def check(
        self, walker: Walker, value: Any, rule: ElementRule, type_ref: TypeRef, loc: Loc, plan: Plan
    ) -> None:
        for bound, direction in ((rule.min_value, -1), (rule.max_value, 1)):
            if bound is None:
                continue
            if bound[0] == "Duration" and isinstance(value, str):
                self._relative(walker, value, bound[1], direction, rule, loc, plan)
            elif (actual := _comparable(value)) is not None:
                self._bound(walker, actual, value, bound[1], direction, rule, loc, plan)

    def check_quantity(
        self, walker: Walker, value: Mapping[str, Any], rule: ElementRule, loc: Loc, plan: Plan
    ) -> None:
        for bound, direction in ((rule.min_value, -1), (rule.max_value, 1)):
            if bound is None or bound[0] != "Quantity" or not isinstance(bound[1], Mapping):
                continue
            limit = bound[1]
            unit = limit.get("code")
            actual = quantity_in(value, unit) if isinstance(unit, str) else None
            limit_value = _comparable(limit.get("value"))
            if actual is None or not isinstance(limit_value, Decimal):
                continue
            if (actual > limit_value) - (actual < limit_value) == direction:
                word = (
                    "less than the specified minValue"
                    if direction < 0
                    else "greater than the specified maxValue"
                )
                walker.report.error(
                    "value",
                    "value.min" if direction < 0 else "value.max",
                    f"The value in the instance ({_show(value)}) is {word} ({_show(limit)})",
                    loc,
                    profile=plan.canonical,
                    element_id=rule.id,
                )

    @staticmethod
    def _relative(
        walker: Walker, value: str, duration: Any, direction: int, rule: ElementRule, loc: Loc, plan: Plan
    ) -> None:
        limit = _relative_limit(duration, direction) if isinstance(duration, Mapping) else None
        moment = _as_instant(value)
        if limit is None or moment is None:
            return
        if (direction < 0 and moment < limit) or (direction > 0 and moment > limit):
            side, name = ("before", "minValue") if direction < 0 else ("after", "maxValue")
            walker.report.error(
                "value",
                "value.min" if direction < 0 else "value.max",
                f"The date/time value '{value}' is not legal: {name} is {_show(duration)} {side} now",
                loc,
                profile=plan.canonical,
                element_id=rule.id,
            )

    @staticmethod
    def _bound(
        walker: Walker,
        actual: Decimal | str,
        raw: Any,
        limit: Any,
        forbidden: int,
        rule: ElementRule,
        loc: Loc,
        plan: Plan,
    ) -> None:
        bound = _comparable(limit)
        if bound is None:
            return
        order = _compare(actual, bound)
        if order != forbidden:
            return
        word = "less than the permitted minimum" if forbidden < 0 else "greater than the permitted maximum"
        walker.report.error(
            "value",
            "value.min" if forbidden < 0 else "value.max",
            f"The value {raw} is {word} value of {limit}",
            loc,
            profile=plan.canonical,
            element_id=rule.id,
        )
