"""Whether an item is enabled: its enableWhen conditions on other answers, or its SDC enableWhenExpression."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from conformance.fhirpath._fhirpathpy import models as fhirpath_models
from conformance.fhirversion import FhirVersion
from conformance.validation.questionnaire.form import Condition, Form, Frames, Item
from conformance.validation.questionnaire.json_values import (
    AnswerValue,
    as_decimal,
    as_instant,
    as_text,
    choice,
    mappings,
    reference_text,
)
from conformance.validation.questionnaire.messages import FindingLog
from conformance.validation.questionnaire.shown import show


class EnableWhen:
    """Decides, for one response, whether each Questionnaire item is enabled where it stands."""

    def __init__(
        self, response: Mapping[str, Any], form: Form, version: FhirVersion, log: FindingLog
    ) -> None:
        self.response = response
        self.form = form
        self.version = version
        self.log = log
        self._answer_indexes: dict[int, dict[str, list[AnswerValue]]] = {}
        self._failed_expressions: set[str] = set()

    def is_enabled(self, definition: Item, frames: Frames) -> bool:
        if definition.expression is not None:
            return self._expression_enables(definition)
        if not definition.conditions:
            return True
        results = [
            self._condition_holds(condition, definition, frames) for condition in definition.conditions
        ]
        if definition.behavior == "any" or len(results) == 1:
            return any(results)
        if definition.behavior == "all":
            return all(results)
        # Several conditions and no enableBehavior break invariant que-12: that finding is the engine's, and
        # here the item counts as enabled, as in the Java validator.
        return True

    def _condition_holds(self, condition: Condition, source: Item, frames: Frames) -> bool:
        answers = self._answers_in_scope(condition.question, source, frames)
        if condition.operator == "exists":
            wanted = condition.answer if isinstance(condition.answer, bool) else True
            return bool(answers) == wanted
        return any(_answer_meets(answer, condition) for answer in answers)

    def _answers_in_scope(self, question: str | None, source: Item, frames: Frames) -> list[AnswerValue]:
        """The answers to ``question`` that govern ``source``: those inside the nearest response item that
        stands for the innermost Questionnaire item holding both (or inside the whole response)."""
        target = self.form.by_link_id.get(question) if question is not None else None
        if target is None:
            return []
        group = self.form.common_group(source, target)
        scope: Mapping[str, Any] | None = self.response
        if group is not None:
            scope = next((node for item, node in reversed(frames) if item is group), None)
        if scope is None:
            return []
        index = self._answer_indexes.get(id(scope))
        if index is None:
            index = self._answer_indexes[id(scope)] = _index_answers(scope)
        return index.get(target.link_id, [])

    def _expression_enables(self, definition: Item) -> bool:
        expression = definition.expression or ""
        try:
            result = _fhirpath(expression, self.version)(self.response, {"resource": self.response})
        except Exception:  # fhirpathpy raises many unrelated types; any failure means "cannot evaluate"
            if expression not in self._failed_expressions:
                self._failed_expressions.add(expression)
                self.log.report(
                    "enable-expression-failed", (), item=definition.link_id, value=show(expression)
                )
            return True
        return list(result) == [True]


def _index_answers(scope: Mapping[str, Any]) -> dict[str, list[AnswerValue]]:
    """Every answer value under ``scope`` (itself included), by linkId; iterative, so depth is no risk."""
    index: dict[str, list[AnswerValue]] = {}
    pending = [scope]
    while pending:
        node = pending.pop()
        answers = mappings(node.get("answer"))
        link_id = as_text(node.get("linkId"))
        if link_id is not None:
            values = [value for value in (choice(answer, "value") for answer in answers) if value is not None]
            index.setdefault(link_id, []).extend(values)
        pending.extend(mappings(node.get("item")))
        for answer in answers:
            pending.extend(mappings(answer.get("item")))
    return index


_OPERATORS: Mapping[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}


def _boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _quantity_amount(value: Any) -> Decimal | None:
    return as_decimal(value.get("value")) if isinstance(value, Mapping) else None


_ORDER_KEYS: Mapping[str, Callable[[Any], Any]] = {
    "Boolean": _boolean,
    "Decimal": as_decimal,
    "Integer": as_decimal,
    "Date": as_instant,
    "DateTime": as_instant,
    "Time": as_text,
    "String": as_text,
    "Uri": as_text,
    # Like the Java validator, quantities compare by value alone.
    "Quantity": _quantity_amount,
    "Reference": reference_text,
}


def _answer_meets(answer: AnswerValue, condition: Condition) -> bool:
    suffix, actual = answer
    compare = _OPERATORS.get(condition.operator or "")
    if suffix != condition.answer_type or compare is None:
        return False
    if suffix == "Coding":
        return _coding_meets(actual, condition)
    key = _ORDER_KEYS.get(suffix)
    if key is None or (suffix == "Reference" and condition.operator not in ("=", "!=")):
        return False
    mine, wanted = key(actual), key(condition.answer)
    if mine is None or wanted is None:
        return False
    try:
        return compare(mine, wanted)
    except TypeError:  # e.g. an aware and a naive instant cannot be ordered
        return False


def _coding_meets(actual: Any, condition: Condition) -> bool:
    if condition.operator not in ("=", "!=") or not isinstance(actual, Mapping):
        return False
    wanted = condition.answer if isinstance(condition.answer, Mapping) else {}
    same = _coding_fits(wanted, actual)
    return same if condition.operator == "=" else not same


def _coding_fits(wanted: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    """A Coding in a condition without a system matches any system; its code must be matched exactly."""
    if wanted.get("system") is not None and wanted.get("system") != actual.get("system"):
        return False
    return wanted.get("code") == actual.get("code")


@lru_cache(maxsize=256)
def _fhirpath(expression: str, version: FhirVersion) -> Callable[..., Any]:
    import fhirpathpy  # noqa: PLC0415 -- loaded by the first Questionnaire expression, not by every run

    model = fhirpath_models["stu3" if version is FhirVersion.STU3 else "r4"]
    compiled: Callable[..., Any] = fhirpathpy.compile(expression, model)
    return compiled
