"""Checks a QuestionnaireResponse against the Questionnaire it answers (FHIR R4 and STU3).

The validation engine calls :func:`check_response` once for each QuestionnaireResponse, after the ordinary
structural checks, with the Questionnaire it resolved (or ``None``). Everything here works on the FHIR JSON
form as plain mappings and does no I/O: ValueSets and CodeSystems come through the caller's
:class:`ResourceLookup`.

The rules follow the behaviour of the HL7 Java reference validator. docs/questionnaire.md catalogues every
message id and lists the places where this module deliberately differs from it.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import lru_cache
from typing import Any, Protocol

from conformance.fhirpath._fhirpathpy import models as fhirpath_models
from conformance.fhirversion import FhirVersion
from conformance.outcome import Severity

JsonPath = tuple[str | int, ...]

__all__ = [
    "MESSAGE_IDS",
    "JsonPath",
    "QuestionnaireFinding",
    "ResourceLookup",
    "check_response",
    "questionnaire_reference",
]


class ResourceLookup(Protocol):
    """What the module needs from the engine's context: canonical resources and ValueSet membership."""

    def resolve(self, url: str) -> Mapping[str, Any] | None:
        """The resource with this canonical URL (``url`` or ``url|version``), or None."""

    def value_set_contains(self, url: str, system: str | None, code: str) -> bool | None:
        """Whether the ValueSet holds the code; None when that cannot be told offline."""


@dataclass(frozen=True)
class QuestionnaireFinding:
    """One problem found in a QuestionnaireResponse; ``path`` is a JSON path inside the response."""

    severity: Severity
    code: str
    message_id: str
    message: str
    path: JsonPath = ()


def questionnaire_reference(response: Mapping[str, Any]) -> str | None:
    """The Questionnaire a response names: an R4 canonical or the ``reference`` of an STU3 Reference."""
    named = response.get("questionnaire")
    if isinstance(named, Mapping):
        named = named.get("reference")
    if isinstance(named, str) and named.strip():
        return named.strip()
    return None


def check_response(
    response: Mapping[str, Any],
    questionnaire: Mapping[str, Any] | None,
    *,
    fhir_version: FhirVersion,
    lookup: ResourceLookup,
) -> tuple[QuestionnaireFinding, ...]:
    """Every finding about ``response`` measured against ``questionnaire``.

    When ``questionnaire`` is None the response's own contained resources are searched for a ``#id``
    reference; failing that, the single finding says the Questionnaire could not be resolved.
    """
    reference = questionnaire_reference(response)
    if questionnaire is None and reference is not None and reference.startswith("#"):
        questionnaire = _contained_resource(response, reference[1:])
    if questionnaire is None or questionnaire.get("resourceType") != "Questionnaire":
        return (_unresolved(reference),)
    form = _read_form(questionnaire, fhir_version)
    return _ResponseChecker(response, form, fhir_version, lookup).run()


# ---------------------------------------------------------------------------------------------------------
# Vocabulary

_EXT = "http://hl7.org/fhir/StructureDefinition/"
_EXT_MIN_VALUE = _EXT + "minValue"
_EXT_MAX_VALUE = _EXT + "maxValue"
_EXT_MAX_DECIMALS = _EXT + "maxDecimalPlaces"
_EXT_MIN_LENGTH = _EXT + "minLength"
_EXT_REGEX = _EXT + "regex"
_EXT_ENTRY_FORMAT = _EXT + "entryFormat"
_EXT_MIME_TYPE = _EXT + "mimeType"
_EXT_MAX_SIZE = _EXT + "maxSize"
_EXT_MIN_OCCURS = _EXT + "questionnaire-minOccurs"
_EXT_MAX_OCCURS = _EXT + "questionnaire-maxOccurs"
_EXT_UNIT_OPTION = _EXT + "questionnaire-unitOption"
_EXT_UNIT_VALUE_SET = _EXT + "questionnaire-unitValueSet"
_EXT_EXCLUSIVE = _EXT + "questionnaire-optionExclusive"
_EXT_MIN_QUANTITY = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-minQuantity"
_EXT_MAX_QUANTITY = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-maxQuantity"
_EXT_ENABLE_WHEN_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
)

_UCUM = "http://unitsofmeasure.org"
_SYSTEM_NAMES = {_UCUM: "UCUM", "http://snomed.info/sct": "SNOMED CT"}

# A response in any other status is still being filled in: missing answers are only warnings.
_FINISHED_STATUSES = frozenset({"completed", "amended"})

# "question" is the abstract item type of R4 and STU3; like the Java validator, treat it as a group.
_GROUP_TYPES = frozenset({"group", "question"})
_CHOICE_TYPES = frozenset({"choice", "open-choice"})

# The value[x] types an answer (and an enableWhen / option value) can carry, as JSON name suffixes.
_VALUE_SUFFIXES = frozenset(
    {
        "Boolean",
        "Decimal",
        "Integer",
        "Date",
        "DateTime",
        "Time",
        "String",
        "Uri",
        "Attachment",
        "Coding",
        "Quantity",
        "Reference",
    }
)
_PRIMITIVE_SUFFIXES = frozenset(
    {"Boolean", "Decimal", "Integer", "Date", "DateTime", "Time", "String", "Uri"}
)

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

# Deeper nesting than this is not a real form; stopping keeps hostile payloads cheap and recursion bounded.
_MAX_DEPTH = 48
_MAX_VALUE_SET_HOPS = 16
# Python's re has no timeout, so very long answers are not matched against a Questionnaire's regex.
_MAX_REGEX_INPUT = 10_000
_MESSAGE_VALUE_LIMIT = 80


class _Verdict(Enum):
    IN = "in"
    OUT = "out"
    UNKNOWN = "unknown"
    MISSING = "missing"


# ---------------------------------------------------------------------------------------------------------
# The Questionnaire, read once into an immutable tree that hides the R4 / STU3 differences


@dataclass(frozen=True)
class _Condition:
    question: str | None
    operator: str | None
    answer_type: str | None
    answer: Any


# Identity equality: the same linkId may appear twice in a broken Questionnaire, and the enableWhen scope
# search must tell the two items apart.
@dataclass(frozen=True, eq=False)
class _Item:
    link_id: str
    type: str
    text: str | None
    required: bool
    repeats: bool
    max_length: int | None
    options: tuple[Mapping[str, Any], ...]
    value_set: str | None
    conditions: tuple[_Condition, ...]
    behavior: str | None
    expression: str | None
    extensions: tuple[Mapping[str, Any], ...]
    children: tuple[_Item, ...]

    @property
    def is_group(self) -> bool:
        return self.type in _GROUP_TYPES

    @property
    def is_choice(self) -> bool:
        return self.type in _CHOICE_TYPES

    def extension_values(self, url: str) -> list[Any]:
        """The values of this item's extensions with the given URL, whatever their value[x] type."""
        values = (_extension_value(ext) for ext in self.extensions if ext.get("url") == url)
        return [value for value in values if value is not None]

    def extension_value(self, url: str) -> Any:
        values = self.extension_values(url)
        return values[0] if values else None


@dataclass(frozen=True)
class _Form:
    items: tuple[_Item, ...]
    by_link_id: Mapping[str, _Item]
    parents: Mapping[_Item, _Item]
    contained: tuple[Mapping[str, Any], ...]
    effective_period: Mapping[str, Any] | None

    def lineage(self, item: _Item) -> list[_Item]:
        """The item and its ancestors, innermost first."""
        chain = [item]
        while (parent := self.parents.get(chain[-1])) is not None:
            chain.append(parent)
        return chain

    def common_group(self, first: _Item, second: _Item) -> _Item | None:
        """The innermost item holding both (either may be it); None when only the root holds both."""
        around_second = set(self.lineage(second))
        return next((item for item in self.lineage(first) if item in around_second), None)


def _read_form(questionnaire: Mapping[str, Any], version: FhirVersion) -> _Form:
    items = _read_items(questionnaire.get("item"), version, 0)
    by_link_id: dict[str, _Item] = {}
    parents: dict[_Item, _Item] = {}
    pending: list[tuple[_Item, _Item | None]] = [(item, None) for item in reversed(items)]
    while pending:  # depth-first, document order: the first item with a linkId wins, as in the Java validator
        item, parent = pending.pop()
        by_link_id.setdefault(item.link_id, item)
        if parent is not None:
            parents[item] = parent
        pending.extend((child, item) for child in reversed(item.children))
    period = questionnaire.get("effectivePeriod")
    return _Form(
        items=items,
        by_link_id=by_link_id,
        parents=parents,
        contained=tuple(_mappings(questionnaire.get("contained"))),
        effective_period=period if isinstance(period, Mapping) else None,
    )


def _read_items(raw: object, version: FhirVersion, depth: int) -> tuple[_Item, ...]:
    if depth >= _MAX_DEPTH:
        return ()
    return tuple(_read_item(entry, version, depth) for entry in _mappings(raw))


def _read_item(raw: Mapping[str, Any], version: FhirVersion, depth: int) -> _Item:
    stu3 = version is FhirVersion.STU3
    return _Item(
        link_id=_text(raw.get("linkId")) or "",
        type=_text(raw.get("type")) or "",
        text=_text(raw.get("text")),
        required=raw.get("required") is True,
        repeats=raw.get("repeats") is True,
        max_length=_whole_number(raw.get("maxLength")),
        options=tuple(_mappings(raw.get("option" if stu3 else "answerOption"))),
        value_set=_reference_text(raw.get("options")) if stu3 else _text(raw.get("answerValueSet")),
        conditions=tuple(_read_condition(entry, stu3) for entry in _mappings(raw.get("enableWhen"))),
        # STU3 has no enableBehavior: any one satisfied condition enables the item.
        behavior="any" if stu3 else _text(raw.get("enableBehavior")),
        expression=_enable_when_expression(raw),
        extensions=tuple(_mappings(raw.get("extension"))),
        children=_read_items(raw.get("item"), version, depth + 1),
    )


def _read_condition(raw: Mapping[str, Any], stu3: bool) -> _Condition:
    question = _text(raw.get("question"))
    if stu3 and isinstance(raw.get("hasAnswer"), bool):
        return _Condition(question, "exists", "Boolean", raw["hasAnswer"])
    answer = _choice(raw, "answer")
    answer_type, value = answer if answer is not None else (None, None)
    operator_code = "=" if stu3 and answer is not None else _text(raw.get("operator"))
    return _Condition(question, operator_code, answer_type, value)


def _enable_when_expression(raw: Mapping[str, Any]) -> str | None:
    for extension in _mappings(raw.get("extension")):
        if extension.get("url") != _EXT_ENABLE_WHEN_EXPRESSION:
            continue
        expression = extension.get("valueExpression")
        if isinstance(expression, Mapping) and expression.get("language") == "text/fhirpath":
            return _text(expression.get("expression"))
    return None


# ---------------------------------------------------------------------------------------------------------
# The message catalogue: id -> (default severity, FHIR IssueType code, template). docs/questionnaire.md
# lists the same ids; a test keeps the two in step.

_ERROR, _WARNING, _INFO = Severity.ERROR, Severity.WARNING, Severity.INFORMATION

_MESSAGES: Mapping[str, tuple[Severity, str, str]] = {
    "not-identified": (
        _INFO,
        "required",
        "The QuestionnaireResponse does not name its Questionnaire, so its answers were not "
        "checked against one",
    ),
    "not-found": (
        _WARNING,
        "required",
        "The Questionnaire '{reference}' could not be resolved, so the answers were not checked against it",
    ),
    "linkid-missing": (
        _ERROR,
        "required",
        "This item has no linkId, so it cannot be matched to an item of the Questionnaire",
    ),
    "linkid-not-found": (_ERROR, "not-found", "The linkId '{item}' matches no item of the Questionnaire"),
    "item-misplaced": (
        _ERROR,
        "structure",
        "The item '{item}' is at the wrong level: the Questionnaire defines it {where}",
    ),
    "item-order": (
        _ERROR,
        "structure",
        "The item '{item}' comes after items that the Questionnaire places after it",
    ),
    "item-repeated": (
        _ERROR,
        "invalid",
        "Found {count} items with the linkId '{item}', but the Questionnaire item does not "
        "repeat, so only one is allowed",
    ),
    "answer-repeated": (
        _ERROR,
        "invalid",
        "The item '{item}' has {count} answers, but the Questionnaire item does not repeat, "
        "so only one answer is allowed",
    ),
    "text-mismatch": (
        _ERROR,
        "invalid",
        "The item '{item}' has the text '{text}', but the Questionnaire gives {expected}; when "
        "present the text must match",
    ),
    "required-missing": (_ERROR, "required", "The required item '{item}' has no answer"),
    "group-empty": (_ERROR, "required", "The required group '{item}' has no nested items"),
    "too-few-occurrences": (
        _ERROR,
        "required",
        "The item '{item}' {counted}; the Questionnaire asks for at least {limit}",
    ),
    "too-many-occurrences": (
        _ERROR,
        "invalid",
        "The item '{item}' {counted}; the Questionnaire allows at most {limit}",
    ),
    "not-enabled": (
        _ERROR,
        "invalid",
        "The item '{item}' has content although its enableWhen conditions leave it disabled; a "
        "disabled item must be left empty",
    ),
    "group-answer": (
        _ERROR,
        "structure",
        "The item '{item}' is of type '{type}' and cannot have answers; its nested items belong in item.item",
    ),
    "display-answer": (_ERROR, "structure", "The item '{item}' is a display item and cannot have answers"),
    "display-items": (
        _ERROR,
        "structure",
        "The item '{item}' is a display item and cannot have nested items",
    ),
    "items-outside-answer": (
        _ERROR,
        "structure",
        "The item '{item}' is a question (type '{type}'): its nested items belong inside "
        "an answer (answer.item), not directly in item.item",
    ),
    "item-no-type": (
        _ERROR,
        "required",
        "The Questionnaire item '{item}' has no type, so its answers cannot be checked",
    ),
    "too-deep": (
        _ERROR,
        "too-costly",
        "Items are nested more than {limit} levels deep; the deeper items were not checked",
    ),
    "answer-type": (
        _ERROR,
        "structure",
        "The answer to the item '{item}' is a {found}, but an item of type '{type}' takes {wanted}",
    ),
    "answer-not-in-options": (
        _ERROR,
        "value",
        "The answer {value} to the item '{item}' is not one of its answer options",
    ),
    "no-options-of-type": (
        _ERROR,
        "value",
        "The answer to the item '{item}' is a {found}, but none of the item's answer options is a {found}",
    ),
    "options-not-checked": (
        _INFO,
        "informational",
        "The item '{item}' lists no answer options for a {found} answer, so the answer was "
        "not checked against a list",
    ),
    "answer-exclusive": (
        _ERROR,
        "business-rule",
        "The answer {value} to the item '{item}' is an exclusive option, so no other answer "
        "may be selected with it",
    ),
    "string-matches-option": (
        _WARNING,
        "business-rule",
        "The free-text answer {value} to the item '{item}' matches one of its coded "
        "options; the Coding was probably meant",
    ),
    "answer-not-in-value-set": (
        _ERROR,
        "code-invalid",
        "The answer {value} to the item '{item}' is not in the value set '{url}'",
    ),
    "value-set-not-found": (
        _WARNING,
        "not-found",
        "The value set '{url}' of the item '{item}' could not be found, so the answer was "
        "not checked against it",
    ),
    "value-set-not-checked": (
        _INFO,
        "informational",
        "Whether {value} is in the value set '{url}' cannot be decided offline",
    ),
    "coding-no-system": (
        _WARNING,
        "code-invalid",
        "The Coding answer to the item '{item}' has no system, so its code cannot be checked "
        "against the value set '{url}'",
    ),
    "value-too-small": (
        _ERROR,
        "value",
        "The answer {value} to the item '{item}' is less than the allowed minimum {limit}",
    ),
    "value-too-large": (
        _ERROR,
        "value",
        "The answer {value} to the item '{item}' is greater than the allowed maximum {limit}",
    ),
    "bound-unusable": (
        _WARNING,
        "processing",
        "The {bound} {limit} of the item '{item}' cannot be compared with its answers, so it was not checked",
    ),
    "too-many-decimals": (
        _ERROR,
        "value",
        "The answer {value} to the item '{item}' has {count} decimal places; at most {limit} are allowed",
    ),
    "too-short": (
        _ERROR,
        "value",
        "The answer {value} to the item '{item}' is {count} characters long; at least {limit} are required",
    ),
    "too-long": (
        _ERROR,
        "value",
        "The answer {value} to the item '{item}' is {count} characters long; at most {limit} are allowed",
    ),
    "regex": (
        _ERROR,
        "value",
        "The answer {value} to the item '{item}' does not match the pattern {pattern}{hint}",
    ),
    "regex-unusable": (
        _WARNING,
        "processing",
        "The pattern {pattern} of the item '{item}' is not a valid regular expression, so the "
        "answer was not checked against it",
    ),
    "line-break": (
        _WARNING,
        "value",
        "The answer to the item '{item}' contains a line break; an item of type 'string' holds one "
        "line (type 'text' is for several)",
    ),
    "attachment-type-missing": (
        _ERROR,
        "required",
        "The attachment answering the item '{item}' has no contentType, but the item accepts only {allowed}",
    ),
    "attachment-type": (
        _ERROR,
        "value",
        "The attachment answering the item '{item}' is of type {value}, but the item accepts only {allowed}",
    ),
    "attachment-too-large": (
        _ERROR,
        "too-long",
        "The attachment answering the item '{item}' holds {count} bytes; at most {limit} are allowed",
    ),
    "quantity-not-comparable": (
        _ERROR,
        "value",
        "The answer {value} to the item '{item}' cannot be compared with the allowed "
        "{bound} {limit}: {reason}",
    ),
    "unit-not-allowed": (
        _ERROR,
        "code-invalid",
        "The unit of the answer {value} to the item '{item}' is not one of the allowed units ({allowed})",
    ),
    "enable-expression-failed": (
        _WARNING,
        "processing",
        "The enableWhen expression {value} of the item '{item}' could not be "
        "evaluated, so the item was treated as enabled",
    ),
    "authored-after-end": (
        _WARNING,
        "business-rule",
        "The response was authored on {value}, after the end of the Questionnaire's "
        "effective period ({limit})",
    ),
    "authored-before-start": (
        _WARNING,
        "business-rule",
        "The response was authored on {value}, before the start of the Questionnaire's "
        "effective period ({limit})",
    ),
}

MESSAGE_IDS: tuple[str, ...] = tuple(f"questionnaire.{key}" for key in _MESSAGES)


def _finding(
    message_id: str, path: JsonPath, params: Mapping[str, object], severity: Severity | None = None
) -> QuestionnaireFinding:
    default, code, template = _MESSAGES[message_id]
    message = template.format_map(params)
    return QuestionnaireFinding(severity or default, code, f"questionnaire.{message_id}", message, path)


def _unresolved(reference: str | None) -> QuestionnaireFinding:
    if reference is None:
        return _finding("not-identified", (), {})
    # As in the Java validator, example.org questionnaires are expected not to resolve.
    example = reference.startswith(("http://example.org", "https://example.org"))
    return _finding(
        "not-found", ("questionnaire",), {"reference": _clip(reference)}, _INFO if example else None
    )


# ---------------------------------------------------------------------------------------------------------
# Walking the response


Frames = tuple[tuple[_Item, Mapping[str, Any]], ...]
Present = list[tuple[JsonPath, Mapping[str, Any]]]
AnswerValue = tuple[str, Any]


class _ResponseChecker:
    """Walks one response beside its form, collecting findings."""

    def __init__(
        self, response: Mapping[str, Any], form: _Form, version: FhirVersion, lookup: ResourceLookup
    ) -> None:
        self.response = response
        self.form = form
        self.version = version
        self.lookup = lookup
        self.finished = response.get("status") in _FINISHED_STATUSES
        self.findings: list[QuestionnaireFinding] = []
        self._answer_indexes: dict[int, dict[str, list[AnswerValue]]] = {}
        self._positions: dict[int, dict[str, int]] = {}
        self._failed_expressions: set[str] = set()
        self._value_checks: dict[str, Callable[[_Item, Any, JsonPath], None]] = {
            "decimal": self._check_decimal,
            "integer": self._check_integer,
            "date": self._check_date,
            "dateTime": self._check_date,
            "time": self._check_time,
            "string": self._check_string,
            "attachment": self._check_attachment,
            "quantity": self._check_quantity,
        }

    def run(self) -> tuple[QuestionnaireFinding, ...]:
        self._check_authored()
        self._check_item_list(self.response, (), self.form.items, (), ())
        return tuple(self.findings)

    def _report(self, message_id: str, path: JsonPath, **params: object) -> None:
        self.findings.append(_finding(message_id, path, params))

    def _report_missing(self, message_id: str, path: JsonPath, **params: object) -> None:
        """Missing content is an error in a finished response and only a warning in one still in progress."""
        self.findings.append(_finding(message_id, path, params, _ERROR if self.finished else _WARNING))

    # -- the items of one container (the response, an item or an answer) --------------------------------

    def _check_item_list(
        self,
        owner: Mapping[str, Any],
        owner_path: JsonPath,
        definitions: tuple[_Item, ...],
        frames: Frames,
        report_path: JsonPath,
    ) -> None:
        entries = _indexed_mappings(owner.get("item"))
        if entries and len(frames) >= _MAX_DEPTH:
            self._report("too-deep", owner_path, limit=_MAX_DEPTH)
            return
        matched = self._match_items(entries, owner_path, definitions, frames)
        for definition in definitions:
            self._check_definition(definition, matched.get(definition.link_id, []), frames, report_path)

    def _match_items(
        self,
        entries: list[tuple[int, Mapping[str, Any]]],
        owner_path: JsonPath,
        definitions: tuple[_Item, ...],
        frames: Frames,
    ) -> dict[str, Present]:
        positions = self._positions_of(definitions)
        matched: dict[str, Present] = {}
        last = -1
        for index, item in entries:
            path = (*owner_path, "item", index)
            link_id = _text(item.get("linkId"))
            position = positions.get(link_id) if link_id is not None else None
            if link_id is None:
                self._report("linkid-missing", path)
            elif position is None:
                self._check_stray_item(link_id, item, path, frames)
            else:
                if position < last:
                    self._report("item-order", path, item=link_id)
                last = position
                matched.setdefault(link_id, []).append((path, item))
        return matched

    def _positions_of(self, definitions: tuple[_Item, ...]) -> dict[str, int]:
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
            self._report("linkid-not-found", path, item=_clip(link_id))
            return
        parent = self.form.parents.get(definition)
        where = f"inside the item '{parent.link_id}'" if parent is not None else "at the top level"
        self._report("item-misplaced", path, item=link_id, where=where)
        self._check_item(definition, item, path, frames, enabled=self._is_enabled(definition, frames))

    # -- one Questionnaire item against the response items that answer it -------------------------------

    def _check_definition(
        self, definition: _Item, present: Present, frames: Frames, report_path: JsonPath
    ) -> None:
        enabled = self._is_enabled(definition, frames)
        if not present:
            self._check_absent(definition, enabled, report_path)
            return
        if not enabled:
            self._check_not_enabled(definition, present)
        if len(present) > 1 and not definition.repeats:
            self._report("item-repeated", present[1][0], item=definition.link_id, count=len(present))
        if definition.is_group and enabled:
            self._check_occurrences(definition, len(present), present[0][0])
        for path, item in present:
            self._check_item(definition, item, path, frames, enabled=enabled)

    def _check_absent(self, definition: _Item, enabled: bool, report_path: JsonPath) -> None:
        if not enabled:
            return
        if definition.required:
            self._report_missing("required-missing", report_path, item=definition.link_id)
        elif definition.is_group:
            self._check_occurrences(definition, 0, report_path)

    def _check_not_enabled(self, definition: _Item, present: Present) -> None:
        for path, item in present:
            if _mappings(item.get("answer")) or _mappings(item.get("item")):
                self._report("not-enabled", path, item=definition.link_id)

    def _check_item(
        self, definition: _Item, item: Mapping[str, Any], path: JsonPath, frames: Frames, *, enabled: bool
    ) -> None:
        here = (*frames, (definition, item))
        self._check_text(definition, item, path)
        answers = _indexed_mappings(item.get("answer"))
        self._check_answer_count(definition, len(answers), path, enabled)
        for index, answer in answers:
            answer_path = (*path, "answer", index)
            self._check_answer(definition, answer, answer_path, len(answers), here=here, item_path=path)
        self._check_nested_items(definition, item, path, here)

    def _check_text(self, definition: _Item, item: Mapping[str, Any], path: JsonPath) -> None:
        text = _text(item.get("text"))
        if text is not None and text != definition.text:
            expected = f"'{_clip(definition.text)}'" if definition.text is not None else "no text"
            self._report("text-mismatch", path, item=definition.link_id, text=_clip(text), expected=expected)

    def _check_answer_count(self, definition: _Item, count: int, path: JsonPath, enabled: bool) -> None:
        if definition.is_group:
            return
        if count == 0 and definition.required and enabled:
            self._report_missing("required-missing", path, item=definition.link_id)
        if count > 1 and not definition.repeats:
            self._report("answer-repeated", path, item=definition.link_id, count=count)
        self._check_occurrences(definition, count, path)

    def _check_occurrences(self, definition: _Item, count: int, path: JsonPath) -> None:
        """questionnaire-minOccurs / -maxOccurs count the answers of a question, the repeats of a group."""
        low = _whole_number(definition.extension_value(_EXT_MIN_OCCURS))
        high = _whole_number(definition.extension_value(_EXT_MAX_OCCURS))
        counted = f"appears {count} times" if definition.is_group else f"has {count} answers"
        if low is not None and count < low:
            self._report_missing(
                "too-few-occurrences", path, item=definition.link_id, counted=counted, limit=low
            )
        if high is not None and count > high:
            self._report("too-many-occurrences", path, item=definition.link_id, counted=counted, limit=high)

    def _check_nested_items(
        self, definition: _Item, item: Mapping[str, Any], path: JsonPath, here: Frames
    ) -> None:
        nested = bool(_mappings(item.get("item")))
        if not definition.type:
            self._report("item-no-type", path, item=definition.link_id)
        elif definition.type == "display":
            if nested:
                self._report("display-items", path, item=definition.link_id)
        elif not definition.is_group:
            if nested:
                self._report("items-outside-answer", path, item=definition.link_id, type=definition.type)
        else:
            if definition.required and not nested:
                self._report_missing("group-empty", path, item=definition.link_id)
            self._check_item_list(item, path, definition.children, here, path)

    # -- answers --------------------------------------------------------------------------------------------

    def _check_answer(
        self,
        definition: _Item,
        answer: Mapping[str, Any],
        path: JsonPath,
        count: int,
        *,
        here: Frames,
        item_path: JsonPath,
    ) -> None:
        if definition.is_group:
            # Like the Java validator, do not look inside the answers of a group: they are wrong as a whole.
            self._report("group-answer", path, item=definition.link_id, type=definition.type)
            return
        if definition.type == "display":
            self._report("display-answer", path, item=definition.link_id)
        else:
            self._check_answer_value(definition, answer, path, count)
        # Missing nested answers are reported on the item, where the Java validator reports them too.
        self._check_item_list(answer, path, definition.children, here, item_path)

    def _check_answer_value(
        self, definition: _Item, answer: Mapping[str, Any], path: JsonPath, count: int
    ) -> None:
        found = _choice(answer, "value")
        expected = _ANSWER_SUFFIXES.get(definition.type)
        if found is None or expected is None:
            return
        suffix, value = found
        value_path = (*path, "value" + suffix)
        if suffix not in expected:
            names = [_type_name(name) for name in expected]
            wanted = names[0] if len(names) == 1 else "one of " + ", ".join(names)
            self._report(
                "answer-type",
                value_path,
                item=definition.link_id,
                type=definition.type,
                found=_type_name(suffix),
                wanted=wanted,
            )
        elif definition.is_choice:
            self._check_choice(definition, suffix, value, value_path, count)
        elif (check := self._value_checks.get(definition.type)) is not None:
            check(definition, value, value_path)

    # -- choice items ---------------------------------------------------------------------------------------

    def _check_choice(self, definition: _Item, suffix: str, value: Any, path: JsonPath, count: int) -> None:
        if suffix == "Coding":
            self._check_coding(definition, value, path, count)
        elif suffix == "String":
            self._check_choice_string(definition, value, path)
        elif not definition.options:
            self._report("options-not-checked", path, item=definition.link_id, found=_type_name(suffix))
        else:
            # Like the Java validator, an open-choice only frees strings from the option list.
            self._check_listed(
                definition, suffix, value, path, typed_list_required=definition.type == "choice"
            )

    def _check_coding(self, definition: _Item, coding: Any, path: JsonPath, count: int) -> None:
        if not isinstance(coding, Mapping):
            return
        if definition.options:
            self._check_coding_options(definition, coding, path, count)
        elif definition.value_set is not None:
            self._check_coding_value_set(definition, definition.value_set, coding, path)
        else:
            self._report("options-not-checked", path, item=definition.link_id, found="Coding")

    def _check_coding_options(
        self, definition: _Item, coding: Mapping[str, Any], path: JsonPath, count: int
    ) -> None:
        coded = [
            option for option in definition.options if isinstance(_typed_value(option, "Coding"), Mapping)
        ]
        if not coded:
            self._report("no-options-of-type", path, item=definition.link_id, found="Coding")
            return
        chosen = next((option for option in coded if _same_coding(option["valueCoding"], coding)), None)
        if chosen is None:
            self._report("answer-not-in-options", path, item=definition.link_id, value=_show_coding(coding))
        elif count > 1 and _is_exclusive(chosen):
            self._report("answer-exclusive", path, item=definition.link_id, value=_show_coding(coding))

    def _check_coding_value_set(
        self, definition: _Item, url: str, coding: Mapping[str, Any], path: JsonPath
    ) -> None:
        code, system = _text(coding.get("code")), _text(coding.get("system"))
        if code is None:
            return
        if system is None:
            self._report("coding-no-system", path, item=definition.link_id, url=_clip(url))
            return
        self._report_membership(definition, url, (system, code), _show_coding(coding), path)

    def _check_choice_string(self, definition: _Item, value: Any, path: JsonPath) -> None:
        if not isinstance(value, str):
            return
        if not definition.options:
            self._report("options-not-checked", path, item=definition.link_id, found="string")
        elif definition.type == "open-choice":
            self._check_string_against_codings(definition, value, path)
        else:
            self._check_listed(definition, "String", value, path, typed_list_required=True)

    def _check_string_against_codings(self, definition: _Item, value: str, path: JsonPath) -> None:
        folded = value.casefold()
        codings = [_typed_value(option, "Coding") for option in definition.options]
        if any(isinstance(coding, Mapping) and folded in _folded_labels(coding) for coding in codings):
            self._report("string-matches-option", path, item=definition.link_id, value=_show(value))

    def _check_listed(
        self, definition: _Item, suffix: str, value: Any, path: JsonPath, *, typed_list_required: bool
    ) -> None:
        listed = [
            option_value
            for option in definition.options
            if (option_value := _typed_value(option, suffix)) is not None
        ]
        if not listed and typed_list_required:
            self._report("no-options-of-type", path, item=definition.link_id, found=_type_name(suffix))
        elif not any(_same_value(suffix, value, option_value) for option_value in listed):
            self._report("answer-not-in-options", path, item=definition.link_id, value=_show(value))

    def _report_membership(
        self, definition: _Item, url: str, coded: tuple[str | None, str], shown: str, path: JsonPath
    ) -> None:
        verdict = self._membership(url, *coded)
        params = {"item": definition.link_id, "url": _clip(url), "value": shown}
        if verdict is _Verdict.OUT:
            self._report("answer-not-in-value-set", path, **params)
        elif verdict is _Verdict.MISSING:
            self._report("value-set-not-found", path, **params)
        elif verdict is _Verdict.UNKNOWN:
            self._report("value-set-not-checked", path, **params)

    # -- typed answers --------------------------------------------------------------------------------------

    def _check_decimal(self, definition: _Item, value: Any, path: JsonPath) -> None:
        number = _decimal(value)
        if number is None:
            return
        self._check_bounds(definition, number, _decimal, path)
        self._check_decimal_places(definition, number, path)
        if definition.options:
            self._check_listed(definition, "Decimal", number, path, typed_list_required=True)

    def _check_integer(self, definition: _Item, value: Any, path: JsonPath) -> None:
        number = _decimal(value)
        if number is None:
            return
        self._check_bounds(definition, number, _decimal, path)
        if definition.options:
            self._check_listed(definition, "Integer", number, path, typed_list_required=True)

    def _check_date(self, definition: _Item, value: Any, path: JsonPath) -> None:
        moment = _instant(value)
        if moment is None:
            return
        self._check_bounds(definition, moment, _instant, path, shown=_show(value))
        if definition.options:
            self._check_listed(definition, "Date", value, path, typed_list_required=True)

    def _check_time(self, definition: _Item, value: Any, path: JsonPath) -> None:
        if not isinstance(value, str):
            return
        # hh:mm:ss[.f] has a fixed layout, so text order is time order.
        self._check_bounds(definition, value, _text, path)
        if definition.options:
            self._check_listed(definition, "Time", value, path, typed_list_required=True)

    def _check_bounds(
        self, definition: _Item, value: Any, convert: Callable[[Any], Any], path: JsonPath, shown: str = ""
    ) -> None:
        for url, is_minimum in ((_EXT_MIN_VALUE, True), (_EXT_MAX_VALUE, False)):
            raw = definition.extension_value(url)
            if raw is None:
                continue
            bound = convert(raw)
            params = {"item": definition.link_id, "value": shown or _show(value), "limit": _show(raw)}
            if bound is None:
                self._report("bound-unusable", path, bound=url.rsplit("/", 1)[-1], **params)
            elif is_minimum and value < bound:
                self._report("value-too-small", path, **params)
            elif not is_minimum and value > bound:
                self._report("value-too-large", path, **params)

    def _check_decimal_places(self, definition: _Item, number: Decimal, path: JsonPath) -> None:
        limit = _whole_number(definition.extension_value(_EXT_MAX_DECIMALS))
        places = _decimal_places(number)
        if limit is not None and places > limit:
            self._report(
                "too-many-decimals",
                path,
                item=definition.link_id,
                value=_show(number),
                count=places,
                limit=limit,
            )

    def _check_string(self, definition: _Item, value: Any, path: JsonPath) -> None:
        if not isinstance(value, str):
            return
        self._check_length(definition, value, path)
        self._check_pattern(definition, value, path)
        if "\n" in value or "\r" in value:
            self._report("line-break", path, item=definition.link_id)
        if definition.value_set is not None:
            self._report_membership(definition, definition.value_set, (None, value), _show(value), path)
        if definition.options:
            self._check_listed(definition, "String", value, path, typed_list_required=True)

    def _check_length(self, definition: _Item, value: str, path: JsonPath) -> None:
        shortest = _whole_number(definition.extension_value(_EXT_MIN_LENGTH))
        longest = definition.max_length
        params = {"item": definition.link_id, "value": _show(value), "count": len(value)}
        if shortest is not None and len(value) < shortest:
            self._report("too-short", path, limit=shortest, **params)
        if longest is not None and len(value) > longest:
            self._report("too-long", path, limit=longest, **params)

    def _check_pattern(self, definition: _Item, value: str, path: JsonPath) -> None:
        pattern_text = definition.extension_value(_EXT_REGEX)
        if not isinstance(pattern_text, str) or len(value) > _MAX_REGEX_INPUT:
            return
        pattern = _compiled(pattern_text)
        if pattern is None:
            self._report("regex-unusable", path, item=definition.link_id, pattern=_show(pattern_text))
        elif pattern.fullmatch(value) is None:
            entry_format = definition.extension_value(_EXT_ENTRY_FORMAT)
            hint = f" (expected format: {_show(entry_format)})" if entry_format is not None else ""
            self._report(
                "regex",
                path,
                item=definition.link_id,
                value=_show(value),
                pattern=_show(pattern_text),
                hint=hint,
            )

    def _check_attachment(self, definition: _Item, value: Any, path: JsonPath) -> None:
        if not isinstance(value, Mapping):
            return
        self._check_mime_type(definition, value, path)
        limit = _decimal(definition.extension_value(_EXT_MAX_SIZE))
        data = value.get("data")
        size = _base64_size(data) if isinstance(data, str) else None
        if limit is not None and limit > 0 and size is not None and size > limit:
            self._report(
                "attachment-too-large", path, item=definition.link_id, count=size, limit=_show(limit)
            )

    def _check_mime_type(self, definition: _Item, attachment: Mapping[str, Any], path: JsonPath) -> None:
        allowed = [kind for kind in definition.extension_values(_EXT_MIME_TYPE) if isinstance(kind, str)]
        if not allowed:
            return
        content_type = _text(attachment.get("contentType"))
        listed = ", ".join(allowed)
        if content_type is None:
            self._report("attachment-type-missing", path, item=definition.link_id, allowed=listed)
        elif not any(_mime_type_matches(content_type, kind) for kind in allowed):
            self._report(
                "attachment-type", path, item=definition.link_id, value=_show(content_type), allowed=listed
            )

    def _check_quantity(self, definition: _Item, value: Any, path: JsonPath) -> None:
        if not isinstance(value, Mapping):
            return
        amount = _decimal(value.get("value"))
        if amount is not None:
            for url, is_minimum in ((_EXT_MIN_QUANTITY, True), (_EXT_MAX_QUANTITY, False)):
                bound = definition.extension_value(url)
                if isinstance(bound, Mapping):
                    self._check_quantity_bound(definition, value, bound, path, is_minimum=is_minimum)
            self._check_decimal_places(definition, amount, path)
        self._check_unit_options(definition, value, path)
        self._check_unit_value_set(definition, value, path)

    def _check_quantity_bound(
        self,
        definition: _Item,
        quantity: Mapping[str, Any],
        bound: Mapping[str, Any],
        path: JsonPath,
        *,
        is_minimum: bool,
    ) -> None:
        comparison = _compare_quantities(quantity, bound)
        params = {
            "item": definition.link_id,
            "value": _show_quantity(quantity),
            "limit": _show_quantity(bound),
        }
        if isinstance(comparison, str):
            side = "minimum" if is_minimum else "maximum"
            self._report("quantity-not-comparable", path, bound=side, reason=comparison, **params)
        elif is_minimum and comparison < 0:
            self._report("value-too-small", path, **params)
        elif not is_minimum and comparison > 0:
            self._report("value-too-large", path, **params)

    def _check_unit_options(self, definition: _Item, quantity: Mapping[str, Any], path: JsonPath) -> None:
        units = [unit for unit in definition.extension_values(_EXT_UNIT_OPTION) if isinstance(unit, Mapping)]
        if units and not any(_unit_matches(quantity, unit) for unit in units):
            allowed = ", ".join(_show_coding(unit) for unit in units)
            self._report(
                "unit-not-allowed",
                path,
                item=definition.link_id,
                value=_show_quantity(quantity),
                allowed=allowed,
            )

    def _check_unit_value_set(self, definition: _Item, quantity: Mapping[str, Any], path: JsonPath) -> None:
        url = _text(definition.extension_value(_EXT_UNIT_VALUE_SET))
        code = _text(quantity.get("code"))
        if url is not None and code is not None:
            coded = (_text(quantity.get("system")), code)
            self._report_membership(definition, url, coded, f"unit of {_show_quantity(quantity)}", path)

    # -- enableWhen -----------------------------------------------------------------------------------------

    def _is_enabled(self, definition: _Item, frames: Frames) -> bool:
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

    def _condition_holds(self, condition: _Condition, source: _Item, frames: Frames) -> bool:
        answers = self._answers_in_scope(condition.question, source, frames)
        if condition.operator == "exists":
            wanted = condition.answer if isinstance(condition.answer, bool) else True
            return bool(answers) == wanted
        return any(_answer_meets(answer, condition) for answer in answers)

    def _answers_in_scope(self, question: str | None, source: _Item, frames: Frames) -> list[AnswerValue]:
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

    def _expression_enables(self, definition: _Item) -> bool:
        expression = definition.expression or ""
        try:
            result = _fhirpath(expression, self.version)(self.response, {"resource": self.response})
        except Exception:  # fhirpathpy raises many unrelated types; any failure means "cannot evaluate"
            if expression not in self._failed_expressions:
                self._failed_expressions.add(expression)
                self._report("enable-expression-failed", (), item=definition.link_id, value=_show(expression))
            return True
        return list(result) == [True]

    # -- the response as a whole ----------------------------------------------------------------------------

    def _check_authored(self) -> None:
        period = self.form.effective_period
        authored = _instant(self.response.get("authored"))
        if period is None or authored is None:
            return
        shown = str(self.response.get("authored"))
        end, start = _instant(period.get("end")), _instant(period.get("start"))
        if end is not None and authored > end:
            self._report("authored-after-end", ("authored",), value=shown, limit=period.get("end"))
        if start is not None and authored < start:
            self._report("authored-before-start", ("authored",), value=shown, limit=period.get("start"))

    # -- value sets -----------------------------------------------------------------------------------------

    def _membership(self, url: str, system: str | None, code: str) -> _Verdict:
        if not url.startswith("#"):
            known = self.lookup.value_set_contains(url, system, code)
            if known is not None:
                return _Verdict.IN if known else _Verdict.OUT
        value_set = self._resolve(url)
        if value_set is None:
            return _Verdict.MISSING
        found = _value_set_contains(value_set, system, code, self._resolve, frozenset({url}))
        if found is None:
            return _Verdict.UNKNOWN
        return _Verdict.IN if found else _Verdict.OUT

    def _resolve(self, url: str) -> Mapping[str, Any] | None:
        if url.startswith("#"):
            local = _find_by_id(self.form.contained, url[1:])
            return local if local is not None else _contained_resource(self.response, url[1:])
        found = self.lookup.resolve(url)
        if found is None and "|" in url:
            found = self.lookup.resolve(url.split("|", 1)[0])
        return found


# ---------------------------------------------------------------------------------------------------------
# ValueSet membership without a terminology server: enumerated concepts, expansions and complete code systems

Resolver = Callable[[str], Mapping[str, Any] | None]


def _value_set_contains(
    value_set: Mapping[str, Any], system: str | None, code: str, resolve: Resolver, seen: frozenset[str]
) -> bool | None:
    expanded = _expansion_contains(value_set.get("expansion"), system, code)
    if expanded is not None:
        return expanded
    compose = value_set.get("compose")
    if not isinstance(compose, Mapping):
        return None
    included = _any_entry(compose.get("include"), system, code, resolve, seen)
    if included is not True:
        return included
    excluded = _any_entry(compose.get("exclude"), system, code, resolve, seen)
    return None if excluded is None else not excluded


def _expansion_contains(expansion: Any, system: str | None, code: str) -> bool | None:
    if not isinstance(expansion, Mapping) or "contains" not in expansion:
        return None
    listed = 0
    pending = list(_mappings(expansion.get("contains")))
    while pending:
        entry = pending.pop()
        listed += 1
        if entry.get("code") == code and (system is None or entry.get("system") == system):
            return True
        pending.extend(_mappings(entry.get("contains")))
    offset, total = expansion.get("offset"), expansion.get("total")
    partial = (isinstance(offset, int) and offset > 0) or (isinstance(total, int) and total > listed)
    return None if partial else False


def _any_entry(
    entries: Any, system: str | None, code: str, resolve: Resolver, seen: frozenset[str]
) -> bool | None:
    results = [_entry_contains(entry, system, code, resolve, seen) for entry in _mappings(entries)]
    if True in results:
        return True
    return None if None in results else False


def _entry_contains(
    entry: Mapping[str, Any], system: str | None, code: str, resolve: Resolver, seen: frozenset[str]
) -> bool | None:
    entry_system = _text(entry.get("system"))
    if entry_system is not None and system is not None and entry_system != system:
        return False
    parts: list[bool | None] = []
    if entry_system is not None:
        parts.append(_system_contains(entry, entry_system, code, resolve))
    for url in _strings(entry.get("valueSet")):
        parts.append(_referenced_contains(url, system, code, resolve, seen))
    if not parts:
        return False
    if False in parts:
        return False
    return None if None in parts else True


def _system_contains(entry: Mapping[str, Any], system: str, code: str, resolve: Resolver) -> bool | None:
    concepts = _mappings(entry.get("concept"))
    if concepts:
        return any(concept.get("code") == code for concept in concepts)
    if entry.get("filter"):
        return None
    code_system = resolve(system)
    if not isinstance(code_system, Mapping) or code_system.get("content") != "complete":
        return None
    return code in _all_codes(code_system)


def _referenced_contains(
    url: Any, system: str | None, code: str, resolve: Resolver, seen: frozenset[str]
) -> bool | None:
    if not isinstance(url, str) or url in seen or len(seen) >= _MAX_VALUE_SET_HOPS:
        return None
    value_set = resolve(url)
    if value_set is None:
        return None
    return _value_set_contains(value_set, system, code, resolve, seen | {url})


def _all_codes(code_system: Mapping[str, Any]) -> set[str]:
    codes: set[str] = set()
    pending = list(_mappings(code_system.get("concept")))
    while pending:
        concept = pending.pop()
        if isinstance(concept.get("code"), str):
            codes.add(concept["code"])
        pending.extend(_mappings(concept.get("concept")))
    return codes


# ---------------------------------------------------------------------------------------------------------
# Quantities and a small UCUM table: enough to compare the everyday units of lengths, masses, volumes and
# durations; anything else is reported as not comparable rather than guessed.

_Dimension = tuple[int, int, int]  # powers of length, mass, time
_LENGTH, _MASS, _TIME, _VOLUME = (1, 0, 0), (0, 1, 0), (0, 0, 1), (3, 0, 0)

_UCUM_METRIC: Mapping[str, tuple[Decimal, _Dimension]] = {
    "m": (Decimal(1), _LENGTH),
    "g": (Decimal(1), _MASS),
    "s": (Decimal(1), _TIME),
    "L": (Decimal("0.001"), _VOLUME),
    "l": (Decimal("0.001"), _VOLUME),
}
_UCUM_OTHER: Mapping[str, tuple[Decimal, _Dimension]] = {
    "[in_i]": (Decimal("0.0254"), _LENGTH),
    "[ft_i]": (Decimal("0.3048"), _LENGTH),
    "[yd_i]": (Decimal("0.9144"), _LENGTH),
    "[mi_i]": (Decimal("1609.344"), _LENGTH),
    "[lb_av]": (Decimal("453.59237"), _MASS),
    "[oz_av]": (Decimal("28.349523125"), _MASS),
    "[stone_av]": (Decimal("6350.29318"), _MASS),
    "t": (Decimal(1_000_000), _MASS),
    "min": (Decimal(60), _TIME),
    "h": (Decimal(3600), _TIME),
    "d": (Decimal(86400), _TIME),
    "wk": (Decimal(604800), _TIME),
    "mo": (Decimal(2629800), _TIME),
    "a": (Decimal(31557600), _TIME),
}
_UCUM_PREFIXES: Mapping[str, Decimal] = {
    "da": Decimal(10),
    "Y": Decimal("1e24"),
    "Z": Decimal("1e21"),
    "E": Decimal("1e18"),
    "P": Decimal("1e15"),
    "T": Decimal("1e12"),
    "G": Decimal("1e9"),
    "M": Decimal("1e6"),
    "k": Decimal(1000),
    "h": Decimal(100),
    "d": Decimal("0.1"),
    "c": Decimal("0.01"),
    "m": Decimal("0.001"),
    "u": Decimal("1e-6"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
    "f": Decimal("1e-15"),
}


def _ucum_unit(code: str) -> tuple[Decimal, _Dimension] | None:
    if code in _UCUM_OTHER:
        return _UCUM_OTHER[code]
    if code in _UCUM_METRIC:
        return _UCUM_METRIC[code]
    for prefix, factor in _UCUM_PREFIXES.items():  # "da" is listed first so that it wins over "d"
        atom = _UCUM_METRIC.get(code[len(prefix) :]) if code.startswith(prefix) else None
        if atom is not None:
            return factor * atom[0], atom[1]
    return None


def _compare_quantities(quantity: Mapping[str, Any], bound: Mapping[str, Any]) -> int | str:
    """-1, 0 or 1 as the quantity is below, at or above the bound, or the reason they cannot be compared."""
    amount, limit = _decimal(quantity.get("value")), _decimal(bound.get("value"))
    systems = (_text(quantity.get("system")), _text(bound.get("system")))
    codes = (_text(quantity.get("code")), _text(bound.get("code")))
    if amount is None or limit is None:
        return "one of them has no numeric value"
    if None in systems or None in codes:
        return "both need coded units (system and code)"
    if systems == (_UCUM, _UCUM) and codes[0] != codes[1]:
        return _compare_ucum(amount, codes[0] or "", limit, codes[1] or "")
    if systems[0] != systems[1] or codes[0] != codes[1]:
        return "their units differ"
    return (amount > limit) - (amount < limit)


def _compare_ucum(amount: Decimal, unit: str, limit: Decimal, limit_unit: str) -> int | str:
    mine, theirs = _ucum_unit(unit), _ucum_unit(limit_unit)
    if mine is None or theirs is None:
        return "the units cannot be converted into one another here"
    if mine[1] != theirs[1]:
        return "the units measure different things"
    left, right = amount * mine[0], limit * theirs[0]
    return (left > right) - (left < right)


def _unit_matches(quantity: Mapping[str, Any], unit: Mapping[str, Any]) -> bool:
    pairs = (("system", "system"), ("code", "code"), ("display", "unit"))
    return all(unit.get(mine) is None or unit.get(mine) == quantity.get(theirs) for mine, theirs in pairs)


# ---------------------------------------------------------------------------------------------------------
# Small readers, parsers and formatters


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a JSON array; anything malformed is the engine's to report, so it is skipped here."""
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]


def _indexed_mappings(value: Any) -> list[tuple[int, Mapping[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(index, entry) for index, entry in enumerate(value) if isinstance(entry, Mapping)]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> list[str]:
    """A JSON string or array of strings as a list (STU3 and R4 differ on some cardinalities)."""
    if isinstance(value, str):
        return [value]
    return [entry for entry in value if isinstance(entry, str)] if isinstance(value, list) else []


def _choice(mapping: Mapping[str, Any], prefix: str) -> AnswerValue | None:
    """The first ``<prefix><Type>`` element of a choice, as (Type, value)."""
    for key, value in mapping.items():
        if isinstance(key, str) and key.startswith(prefix) and key[len(prefix) :] in _VALUE_SUFFIXES:
            return key[len(prefix) :], value
    return None


def _extension_value(extension: Mapping[str, Any]) -> Any:
    for key, value in extension.items():
        if isinstance(key, str) and key.startswith("value") and key[5:6].isupper():
            return value
    return None


def _typed_value(option: Mapping[str, Any], suffix: str) -> Any:
    return option.get("value" + suffix)


def _contained_resource(resource: Mapping[str, Any], local_id: str) -> Mapping[str, Any] | None:
    return _find_by_id(_mappings(resource.get("contained")), local_id)


def _find_by_id(resources: Iterable[Mapping[str, Any]], local_id: str) -> Mapping[str, Any] | None:
    return next((resource for resource in resources if resource.get("id") == local_id), None)


def _is_exclusive(option: Mapping[str, Any]) -> bool:
    return any(
        ext.get("url") == _EXT_EXCLUSIVE and ext.get("valueBoolean") is True
        for ext in _mappings(option.get("extension"))
    )


def _same_coding(option: Mapping[str, Any], answer: Mapping[str, Any]) -> bool:
    return option.get("system") == answer.get("system") and option.get("code") == answer.get("code")


def _folded_labels(coding: Mapping[str, Any]) -> set[str]:
    return {
        label.casefold() for label in (coding.get("display"), coding.get("code")) if isinstance(label, str)
    }


def _same_value(suffix: str, answer: Any, option: Any) -> bool:
    if suffix in ("Integer", "Decimal"):
        mine, theirs = _decimal(answer), _decimal(option)
        return mine is not None and mine == theirs
    if suffix == "Reference":
        return _reference_text(answer) is not None and _reference_text(answer) == _reference_text(option)
    return bool(answer == option)


def _whole_number(value: Any) -> int | None:
    number = _decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def _decimal(value: Any) -> Decimal | None:
    """A JSON number (int, float, Decimal or its text) as a finite Decimal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        # repr keeps the digits the JSON text had for any number a float can carry exactly
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def _decimal_places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


_INSTANT = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def _instant(value: Any) -> datetime | None:
    """The first instant a FHIR date or dateTime of any precision covers (a date without a zone is taken as
    UTC), which is how the Java validator orders dates of different precisions."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    match = _INSTANT.fullmatch(value.strip())
    if match is None:
        return None
    parts = match.groupdict()
    try:
        return datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0")[:6].ljust(6, "0")),
            tzinfo=_zone(parts["zone"]),
        )
    except ValueError:
        return None


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


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


def _type_name(suffix: str) -> str:
    return suffix[0].lower() + suffix[1:] if suffix in _PRIMITIVE_SUFFIXES else suffix


def _clip(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= _MESSAGE_VALUE_LIMIT else text[: _MESSAGE_VALUE_LIMIT - 1] + "…"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{_clip(value)}'"
    if isinstance(value, Decimal):
        return _clip(str(value))
    if isinstance(value, Mapping):
        return _show_quantity(value) if "value" in value else _show_coding(value)
    if isinstance(value, float):
        return _clip(repr(value))
    return _clip(str(value))


def _system_name(system: Any) -> str:
    return _SYSTEM_NAMES.get(system, str(system)) if isinstance(system, str) else ""


def _show_coding(coding: Mapping[str, Any]) -> str:
    system, code, display = coding.get("system"), _text(coding.get("code")), _text(coding.get("display"))
    parts = [f"{_system_name(system)}#{code or ''}"] if isinstance(system, str) or code else []
    if display:
        parts.append(f"('{display}')")
    return _clip(" ".join(parts)) or "an empty Coding"


def _show_quantity(quantity: Mapping[str, Any]) -> str:
    comparator = _text(quantity.get("comparator")) or ""
    unit = _text(quantity.get("unit"))
    shown = f"{comparator}{_show(quantity.get('value'))}" + (f" {unit}" if unit else "")
    units = " ".join(
        part for part in (_system_name(quantity.get("system")), _text(quantity.get("code"))) if part
    )
    return _clip(shown + (f" ({units})" if units else ""))


# ---------------------------------------------------------------------------------------------------------
# enableWhen comparisons


def _index_answers(scope: Mapping[str, Any]) -> dict[str, list[AnswerValue]]:
    """Every answer value under ``scope`` (itself included), by linkId; iterative, so depth is no risk."""
    index: dict[str, list[AnswerValue]] = {}
    pending = [scope]
    while pending:
        node = pending.pop()
        answers = _mappings(node.get("answer"))
        link_id = _text(node.get("linkId"))
        if link_id is not None:
            values = [
                value for value in (_choice(answer, "value") for answer in answers) if value is not None
            ]
            index.setdefault(link_id, []).extend(values)
        pending.extend(_mappings(node.get("item")))
        for answer in answers:
            pending.extend(_mappings(answer.get("item")))
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
    return _decimal(value.get("value")) if isinstance(value, Mapping) else None


def _reference_text(value: Any) -> str | None:
    return _text(value.get("reference")) if isinstance(value, Mapping) else None


_ORDER_KEYS: Mapping[str, Callable[[Any], Any]] = {
    "Boolean": _boolean,
    "Decimal": _decimal,
    "Integer": _decimal,
    "Date": _instant,
    "DateTime": _instant,
    "Time": _text,
    "String": _text,
    "Uri": _text,
    # Like the Java validator, quantities compare by value alone.
    "Quantity": _quantity_amount,
    "Reference": _reference_text,
}


def _answer_meets(answer: AnswerValue, condition: _Condition) -> bool:
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


def _coding_meets(actual: Any, condition: _Condition) -> bool:
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
