"""minValue[x] / maxValue[x] on numbers, dates, times and quantities."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Walker


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


class RangeChecks:
    def check(
        self, walker: Walker, value: Any, rule: ElementRule, type_ref: TypeRef, loc: Loc, plan: Plan
    ) -> None:
        actual = _comparable(value)
        if actual is None:
            return
        if rule.min_value is not None:
            self._bound(walker, actual, value, rule.min_value[1], -1, rule, loc, plan)
        if rule.max_value is not None:
            self._bound(walker, actual, value, rule.max_value[1], 1, rule, loc, plan)

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
