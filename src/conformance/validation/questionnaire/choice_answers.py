"""Answers to choice and open-choice items: Codings against the answer options or the answer ValueSet,
other types against the options of their type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.validation.questionnaire.answer_checks import AnswerChecks
from conformance.validation.questionnaire.form import Item
from conformance.validation.questionnaire.json_values import as_text, mappings, typed_value
from conformance.validation.questionnaire.messages import JsonPath
from conformance.validation.questionnaire.shown import clip, show, show_coding, type_name

_EXT_EXCLUSIVE = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"


class ChoiceAnswers(AnswerChecks):
    def check(self, definition: Item, suffix: str, value: Any, path: JsonPath, count: int) -> None:
        if suffix == "Coding":
            self._check_coding(definition, value, path, count)
        elif suffix == "String":
            self._check_string(definition, value, path)
        elif not definition.options:
            self.log.report("options-not-checked", path, item=definition.link_id, found=type_name(suffix))
        else:
            # Like the Java validator, an open-choice only frees strings from the option list.
            self.check_listed(
                definition, suffix, value, path, typed_list_required=definition.type == "choice"
            )

    def _check_coding(self, definition: Item, coding: Any, path: JsonPath, count: int) -> None:
        if not isinstance(coding, Mapping):
            return
        if definition.options:
            self._check_coding_options(definition, coding, path, count)
        elif definition.value_set is not None:
            self._check_coding_value_set(definition, definition.value_set, coding, path)
        else:
            self.log.report("options-not-checked", path, item=definition.link_id, found="Coding")

    def _check_coding_options(
        self, definition: Item, coding: Mapping[str, Any], path: JsonPath, count: int
    ) -> None:
        coded = [
            option for option in definition.options if isinstance(typed_value(option, "Coding"), Mapping)
        ]
        if not coded:
            self.log.report("no-options-of-type", path, item=definition.link_id, found="Coding")
            return
        chosen = next((option for option in coded if _same_coding(option["valueCoding"], coding)), None)
        if chosen is None:
            self.log.report("answer-not-in-options", path, item=definition.link_id, value=show_coding(coding))
        elif count > 1 and _is_exclusive(chosen):
            self.log.report("answer-exclusive", path, item=definition.link_id, value=show_coding(coding))

    def _check_coding_value_set(
        self, definition: Item, url: str, coding: Mapping[str, Any], path: JsonPath
    ) -> None:
        code, system = as_text(coding.get("code")), as_text(coding.get("system"))
        if code is None:
            return
        if system is None:
            self.log.report("coding-no-system", path, item=definition.link_id, url=clip(url))
            return
        self.report_membership(definition, url, (system, code), show_coding(coding), path)

    def _check_string(self, definition: Item, value: Any, path: JsonPath) -> None:
        if not isinstance(value, str):
            return
        if not definition.options:
            self.log.report("options-not-checked", path, item=definition.link_id, found="string")
        elif definition.type == "open-choice":
            self._check_string_against_codings(definition, value, path)
        else:
            self.check_listed(definition, "String", value, path, typed_list_required=True)

    def _check_string_against_codings(self, definition: Item, value: str, path: JsonPath) -> None:
        folded = value.casefold()
        codings = [typed_value(option, "Coding") for option in definition.options]
        if any(isinstance(coding, Mapping) and folded in _folded_labels(coding) for coding in codings):
            self.log.report("string-matches-option", path, item=definition.link_id, value=show(value))


def _is_exclusive(option: Mapping[str, Any]) -> bool:
    return any(
        ext.get("url") == _EXT_EXCLUSIVE and ext.get("valueBoolean") is True
        for ext in mappings(option.get("extension"))
    )


def _same_coding(option: Mapping[str, Any], answer: Mapping[str, Any]) -> bool:
    return option.get("system") == answer.get("system") and option.get("code") == answer.get("code")


def _folded_labels(coding: Mapping[str, Any]) -> set[str]:
    return {
        label.casefold() for label in (coding.get("display"), coding.get("code")) if isinstance(label, str)
    }
