"""The value of one answer: that its type fits the item, then the rules of that item type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conformance.validation.questionnaire.choice_answers import ChoiceAnswers
from conformance.validation.questionnaire.form import Item
from conformance.validation.questionnaire.json_values import choice
from conformance.validation.questionnaire.messages import FindingLog, JsonPath
from conformance.validation.questionnaire.quantity_answers import QuantityAnswers
from conformance.validation.questionnaire.shown import type_name
from conformance.validation.questionnaire.typed_answers import ORDERED_TYPES, TypedAnswers
from conformance.validation.questionnaire.value_sets import ValueSets

# The value[x] types an answer to each item type may carry.
_ANSWER_SUFFIXES: Mapping[str, tuple[str, ...]] = {
    "boolean": ("Boolean",),
    "decimal": ("Decimal",),
    "integer": ("Integer",),
    "date": ("Date",),
    "dateTime": ("DateTime",),
    "time": ("Time",),
    "string": ("String",),
    "text": ("String",),
    "url": ("Uri",),
    "attachment": ("Attachment",),
    "reference": ("Reference",),
    "quantity": ("Quantity",),
    "choice": ("Coding", "Date", "Time", "Integer", "String", "Reference"),
    "open-choice": ("Coding", "Date", "Time", "Integer", "String", "Reference"),
}


class AnswerValues:
    def __init__(self, log: FindingLog, value_sets: ValueSets) -> None:
        self.log = log
        self.choices = ChoiceAnswers(log, value_sets)
        typed = TypedAnswers(log, value_sets)
        self._type_checks: Mapping[str, Callable[[Item, Any, JsonPath], None]] = {
            **dict.fromkeys(ORDERED_TYPES, typed.check_ordered),
            "string": typed.check_string,
            "attachment": typed.check_attachment,
            "quantity": QuantityAnswers(log, value_sets).check,
        }

    def check(self, definition: Item, answer: Mapping[str, Any], path: JsonPath, count: int) -> None:
        """``count`` is how many answers the item has: an exclusive option must be the only one."""
        found = choice(answer, "value")
        expected = _ANSWER_SUFFIXES.get(definition.type)
        if found is None or expected is None:
            return
        suffix, value = found
        value_path = (*path, "value" + suffix)
        if suffix not in expected:
            self._report_wrong_type(definition, suffix, expected, value_path)
        elif definition.is_choice:
            self.choices.check(definition, suffix, value, value_path, count)
        elif (check := self._type_checks.get(definition.type)) is not None:
            check(definition, value, value_path)

    def _report_wrong_type(
        self, definition: Item, suffix: str, expected: tuple[str, ...], path: JsonPath
    ) -> None:
        names = [type_name(name) for name in expected]
        wanted = names[0] if len(names) == 1 else "one of " + ", ".join(names)
        self.log.report(
            "answer-type",
            path,
            item=definition.link_id,
            type=definition.type,
            found=type_name(suffix),
            wanted=wanted,
        )
