"""Answers to quantity items: within the SDC minQuantity / maxQuantity, in an allowed unit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.validation.questionnaire.answer_checks import AnswerChecks
from conformance.validation.questionnaire.form import Item
from conformance.validation.questionnaire.json_values import as_decimal, as_text
from conformance.validation.questionnaire.messages import JsonPath
from conformance.validation.questionnaire.shown import show_coding, show_quantity
from conformance.validation.questionnaire.ucum import compare_quantities, unit_matches

_EXT_UNIT_OPTION = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption"
_EXT_UNIT_VALUE_SET = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitValueSet"
_EXT_MIN_QUANTITY = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-minQuantity"
_EXT_MAX_QUANTITY = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-maxQuantity"


class QuantityAnswers(AnswerChecks):
    def check(self, definition: Item, value: Any, path: JsonPath) -> None:
        if not isinstance(value, Mapping):
            return
        amount = as_decimal(value.get("value"))
        if amount is not None:
            for url, is_minimum in ((_EXT_MIN_QUANTITY, True), (_EXT_MAX_QUANTITY, False)):
                bound = definition.extension_value(url)
                if isinstance(bound, Mapping):
                    self._check_bound(definition, value, bound, path, is_minimum=is_minimum)
            self.check_decimal_places(definition, amount, path)
        self._check_unit_options(definition, value, path)
        self._check_unit_value_set(definition, value, path)

    def _check_bound(
        self,
        definition: Item,
        quantity: Mapping[str, Any],
        bound: Mapping[str, Any],
        path: JsonPath,
        *,
        is_minimum: bool,
    ) -> None:
        comparison = compare_quantities(quantity, bound)
        params = {
            "item": definition.link_id,
            "value": show_quantity(quantity),
            "limit": show_quantity(bound),
        }
        if isinstance(comparison, str):
            side = "minimum" if is_minimum else "maximum"
            self.log.report("quantity-not-comparable", path, bound=side, reason=comparison, **params)
        else:
            self.report_beyond_bound(path, comparison, is_minimum=is_minimum, params=params)

    def _check_unit_options(self, definition: Item, quantity: Mapping[str, Any], path: JsonPath) -> None:
        units = [unit for unit in definition.extension_values(_EXT_UNIT_OPTION) if isinstance(unit, Mapping)]
        if units and not any(unit_matches(quantity, unit) for unit in units):
            allowed = ", ".join(show_coding(unit) for unit in units)
            self.log.report(
                "unit-not-allowed",
                path,
                item=definition.link_id,
                value=show_quantity(quantity),
                allowed=allowed,
            )

    def _check_unit_value_set(self, definition: Item, quantity: Mapping[str, Any], path: JsonPath) -> None:
        url = as_text(definition.extension_value(_EXT_UNIT_VALUE_SET))
        code = as_text(quantity.get("code"))
        if url is not None and code is not None:
            coded = (as_text(quantity.get("system")), code)
            self.report_membership(definition, url, coded, f"unit of {show_quantity(quantity)}", path)
