"""Walks one QuestionnaireResponse beside its Questionnaire: which response items answer which Questionnaire
items, where they stand, how often they appear, and whether they may have content at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.fhirversion import FhirVersion
from conformance.validation.questionnaire.answers import AnswerValues
from conformance.validation.questionnaire.enable_when import EnableWhen
from conformance.validation.questionnaire.form import MAX_DEPTH, Form, Frames, Item
from conformance.validation.questionnaire.json_values import (
    as_instant,
    as_text,
    as_whole_number,
    indexed_mappings,
    mappings,
)
from conformance.validation.questionnaire.messages import FindingLog, JsonPath, QuestionnaireFinding
from conformance.validation.questionnaire.shown import clip
from conformance.validation.questionnaire.value_sets import ResourceLookup, ValueSets

_EXT_MIN_OCCURS = "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs"
_EXT_MAX_OCCURS = "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs"

# The response items that answer one Questionnaire item, with their paths.
_Present = list[tuple[JsonPath, Mapping[str, Any]]]


class ResponseChecker:
    """Walks one response beside its form, collecting findings."""

    def __init__(
        self, response: Mapping[str, Any], form: Form, version: FhirVersion, lookup: ResourceLookup
    ) -> None:
        self.response = response
        self.form = form
        self.log = FindingLog(response.get("status"))
        self.enable_when = EnableWhen(response, form, version, self.log)
        self.answers = AnswerValues(self.log, ValueSets(lookup, form.contained, response))
        self._positions: dict[int, dict[str, int]] = {}

    def run(self) -> tuple[QuestionnaireFinding, ...]:
        self._check_authored()
        self._check_item_list(self.response, (), self.form.items, (), ())
        return tuple(self.log.findings)

    # -- the items of one container (the response, an item or an answer) --------------------------------

    def _check_item_list(
        self,
        owner: Mapping[str, Any],
        owner_path: JsonPath,
        definitions: tuple[Item, ...],
        frames: Frames,
        report_path: JsonPath,
    ) -> None:
        entries = indexed_mappings(owner.get("item"))
        if entries and len(frames) >= MAX_DEPTH:
            self.log.report("too-deep", owner_path, limit=MAX_DEPTH)
            return
        matched = self._match_items(entries, owner_path, definitions, frames)
        for definition in definitions:
            self._check_definition(definition, matched.get(definition.link_id, []), frames, report_path)

    def _match_items(
        self,
        entries: list[tuple[int, Mapping[str, Any]]],
        owner_path: JsonPath,
        definitions: tuple[Item, ...],
        frames: Frames,
    ) -> dict[str, _Present]:
        positions = self._positions_of(definitions)
        matched: dict[str, _Present] = {}
        last = -1
        for index, item in entries:
            path = (*owner_path, "item", index)
            link_id = as_text(item.get("linkId"))
            position = positions.get(link_id) if link_id is not None else None
            if link_id is None:
                self.log.report("linkid-missing", path)
            elif position is None:
                self._check_stray_item(link_id, item, path, frames)
            else:
                if position < last:
                    self.log.report("item-order", path, item=link_id)
                last = position
                matched.setdefault(link_id, []).append((path, item))
        return matched

    def _positions_of(self, definitions: tuple[Item, ...]) -> dict[str, int]:
        positions = self._positions.get(id(definitions))
        if positions is None:
            positions = {}
            for position, definition in enumerate(definitions):
                positions.setdefault(definition.link_id, position)
            self._positions[id(definitions)] = positions
        return positions

    def _check_stray_item(
        self, link_id: str, item: Mapping[str, Any], path: JsonPath, frames: Frames
    ) -> None:
        definition = self.form.by_link_id.get(link_id)
        if definition is None:
            self.log.report("linkid-not-found", path, item=clip(link_id))
            return
        parent = self.form.parents.get(definition)
        where = f"inside the item '{parent.link_id}'" if parent is not None else "at the top level"
        self.log.report("item-misplaced", path, item=link_id, where=where)
        enabled = self.enable_when.is_enabled(definition, frames)
        self._check_item(definition, item, path, frames, enabled=enabled)

    # -- one Questionnaire item against the response items that answer it -------------------------------

    def _check_definition(
        self, definition: Item, present: _Present, frames: Frames, report_path: JsonPath
    ) -> None:
        enabled = self.enable_when.is_enabled(definition, frames)
        if not present:
            self._check_absent(definition, enabled, report_path)
            return
        if not enabled:
            self._check_not_enabled(definition, present)
        if len(present) > 1 and not definition.repeats:
            self.log.report("item-repeated", present[1][0], item=definition.link_id, count=len(present))
        if definition.is_group and enabled:
            self._check_occurrences(definition, len(present), present[0][0])
        for path, item in present:
            self._check_item(definition, item, path, frames, enabled=enabled)

    def _check_absent(self, definition: Item, enabled: bool, report_path: JsonPath) -> None:
        if not enabled:
            return
        if definition.required:
            self.log.report_missing("required-missing", report_path, item=definition.link_id)
        elif definition.is_group:
            self._check_occurrences(definition, 0, report_path)

    def _check_not_enabled(self, definition: Item, present: _Present) -> None:
        for path, item in present:
            if mappings(item.get("answer")) or mappings(item.get("item")):
                self.log.report("not-enabled", path, item=definition.link_id)

    def _check_item(
        self, definition: Item, item: Mapping[str, Any], path: JsonPath, frames: Frames, *, enabled: bool
    ) -> None:
        here = (*frames, (definition, item))
        self._checkas_text(definition, item, path)
        answers = indexed_mappings(item.get("answer"))
        self._check_answer_count(definition, len(answers), path, enabled)
        for index, answer in answers:
            answer_path = (*path, "answer", index)
            self._check_answer(definition, answer, answer_path, len(answers), here=here, item_path=path)
        self._check_nested_items(definition, item, path, here)

    def _checkas_text(self, definition: Item, item: Mapping[str, Any], path: JsonPath) -> None:
        text = as_text(item.get("text"))
        if text is not None and text != definition.text:
            expected = f"'{clip(definition.text)}'" if definition.text is not None else "no text"
            self.log.report(
                "text-mismatch", path, item=definition.link_id, text=clip(text), expected=expected
            )

    def _check_answer_count(self, definition: Item, count: int, path: JsonPath, enabled: bool) -> None:
        if definition.is_group:
            return
        if count == 0 and definition.required and enabled:
            self.log.report_missing("required-missing", path, item=definition.link_id)
        if count > 1 and not definition.repeats:
            self.log.report("answer-repeated", path, item=definition.link_id, count=count)
        self._check_occurrences(definition, count, path)

    def _check_occurrences(self, definition: Item, count: int, path: JsonPath) -> None:
        """questionnaire-minOccurs / -maxOccurs count the answers of a question, the repeats of a group."""
        low = as_whole_number(definition.extension_value(_EXT_MIN_OCCURS))
        high = as_whole_number(definition.extension_value(_EXT_MAX_OCCURS))
        counted = f"appears {count} times" if definition.is_group else f"has {count} answers"
        if low is not None and count < low:
            self.log.report_missing(
                "too-few-occurrences", path, item=definition.link_id, counted=counted, limit=low
            )
        if high is not None and count > high:
            self.log.report(
                "too-many-occurrences", path, item=definition.link_id, counted=counted, limit=high
            )

    def _check_nested_items(
        self, definition: Item, item: Mapping[str, Any], path: JsonPath, here: Frames
    ) -> None:
        nested = bool(mappings(item.get("item")))
        if not definition.type:
            self.log.report("item-no-type", path, item=definition.link_id)
        elif definition.type == "display":
            if nested:
                self.log.report("display-items", path, item=definition.link_id)
        elif not definition.is_group:
            if nested:
                self.log.report("items-outside-answer", path, item=definition.link_id, type=definition.type)
        else:
            if definition.required and not nested:
                self.log.report_missing("group-empty", path, item=definition.link_id)
            self._check_item_list(item, path, definition.children, here, path)

    # -- answers --------------------------------------------------------------------------------------------

    def _check_answer(
        self,
        definition: Item,
        answer: Mapping[str, Any],
        path: JsonPath,
        count: int,
        *,
        here: Frames,
        item_path: JsonPath,
    ) -> None:
        if definition.is_group:
            # Like the Java validator, do not look inside the answers of a group: they are wrong as a whole.
            self.log.report("group-answer", path, item=definition.link_id, type=definition.type)
            return
        if definition.type == "display":
            self.log.report("display-answer", path, item=definition.link_id)
        else:
            self.answers.check(definition, answer, path, count)
        # Missing nested answers are reported on the item, where the Java validator reports them too.
        self._check_item_list(answer, path, definition.children, here, item_path)

    # -- the response as a whole ----------------------------------------------------------------------------

    def _check_authored(self) -> None:
        period = self.form.effective_period
        authored = as_instant(self.response.get("authored"))
        if period is None or authored is None:
            return
        shown = str(self.response.get("authored"))
        end, start = as_instant(period.get("end")), as_instant(period.get("start"))
        if end is not None and authored > end:
            self.log.report("authored-after-end", ("authored",), value=shown, limit=period.get("end"))
        if start is not None and authored < start:
            self.log.report("authored-before-start", ("authored",), value=shown, limit=period.get("start"))
