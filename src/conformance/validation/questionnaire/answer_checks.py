"""What the checks of every answer type share: the finding log, answer option lists, ValueSet membership,
minimum / maximum bounds and decimal places."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from conformance.validation.questionnaire.form import Item
from conformance.validation.questionnaire.json_values import (
    as_decimal,
    as_whole_number,
    decimal_places,
    reference_text,
    typed_value,
)
from conformance.validation.questionnaire.messages import FindingLog, JsonPath
from conformance.validation.questionnaire.shown import clip, show, type_name
from conformance.validation.questionnaire.value_sets import ValueSets, Verdict

_EXT_MAX_DECIMALS = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces"


class AnswerChecks:
    def __init__(self, log: FindingLog, value_sets: ValueSets) -> None:
        self.log = log
        self.value_sets = value_sets

    def check_listed(
        self, definition: Item, suffix: str, value: Any, path: JsonPath, *, typed_list_required: bool
    ) -> None:
        """The answer is one of the item's answer options of its type (when it lists some of that type)."""
        listed = [
            option_value
            for option in definition.options
            if (option_value := typed_value(option, suffix)) is not None
        ]
        if not listed and typed_list_required:
            self.log.report("no-options-of-type", path, item=definition.link_id, found=type_name(suffix))
        elif not any(_same_value(suffix, value, option_value) for option_value in listed):
            self.log.report("answer-not-in-options", path, item=definition.link_id, value=show(value))

    def report_membership(
        self, definition: Item, url: str, coded: tuple[str | None, str], shown: str, path: JsonPath
    ) -> None:
        verdict = self.value_sets.membership(url, *coded)
        params = {"item": definition.link_id, "url": clip(url), "value": shown}
        if verdict is Verdict.OUT:
            self.log.report("answer-not-in-value-set", path, **params)
        elif verdict is Verdict.MISSING:
            self.log.report("value-set-not-found", path, **params)
        elif verdict is Verdict.UNKNOWN:
            self.log.report("value-set-not-checked", path, **params)

    def report_beyond_bound(
        self, path: JsonPath, comparison: int, *, is_minimum: bool, params: Mapping[str, object]
    ) -> None:
        """``comparison`` is -1, 0 or 1 as the answer is below, at or above the bound."""
        if is_minimum and comparison < 0:
            self.log.report("value-too-small", path, **params)
        elif not is_minimum and comparison > 0:
            self.log.report("value-too-large", path, **params)

    def check_decimal_places(self, definition: Item, number: Decimal, path: JsonPath) -> None:
        limit = as_whole_number(definition.extension_value(_EXT_MAX_DECIMALS))
        places = decimal_places(number)
        if limit is not None and places > limit:
            self.log.report(
                "too-many-decimals",
                path,
                item=definition.link_id,
                value=show(number),
                count=places,
                limit=limit,
            )


def _same_value(suffix: str, answer: Any, option: Any) -> bool:
    if suffix in ("Integer", "Decimal"):
        mine, theirs = as_decimal(answer), as_decimal(option)
        return mine is not None and mine == theirs
    if suffix == "Reference":
        return reference_text(answer) is not None and reference_text(answer) == reference_text(option)
    return bool(answer == option)
