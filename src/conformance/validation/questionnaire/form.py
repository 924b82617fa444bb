"""The Questionnaire, read once into an immutable tree of items that hides the R4 / STU3 differences."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.fhirversion import FhirVersion
from conformance.validation.questionnaire.json_values import (
    as_text,
    as_whole_number,
    choice,
    mappings,
    reference_text,
    value_of_extension,
)

# Deeper nesting than this is not a real form; stopping keeps hostile payloads cheap and recursion bounded.
MAX_DEPTH = 48

# "question" is the abstract item type of R4 and STU3; like the Java validator, treat it as a group.
_GROUP_TYPES = frozenset({"group", "question"})
_CHOICE_TYPES = frozenset({"choice", "open-choice"})
_EXT_ENABLE_WHEN_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
)


@dataclass(frozen=True)
class Condition:
    question: str | None
    operator: str | None
    answer_type: str | None
    answer: Any


# Identity equality: the same linkId may appear twice in a broken Questionnaire, and the enableWhen scope
# search must tell the two items apart.
@dataclass(frozen=True, eq=False)
class Item:
    link_id: str
    type: str
    text: str | None
    required: bool
    repeats: bool
    max_length: int | None
    options: tuple[Mapping[str, Any], ...]
    value_set: str | None
    conditions: tuple[Condition, ...]
    behavior: str | None
    expression: str | None
    extensions: tuple[Mapping[str, Any], ...]
    children: tuple[Item, ...]

    @property
    def is_group(self) -> bool:
        return self.type in _GROUP_TYPES

    @property
    def is_choice(self) -> bool:
        return self.type in _CHOICE_TYPES

    def extension_values(self, url: str) -> list[Any]:
        """The values of this item's extensions with the given URL, whatever their value[x] type."""
        values = (value_of_extension(ext) for ext in self.extensions if ext.get("url") == url)
        return [value for value in values if value is not None]

    def extension_value(self, url: str) -> Any:
        values = self.extension_values(url)
        return values[0] if values else None


@dataclass(frozen=True)
class Form:
    items: tuple[Item, ...]
    by_link_id: Mapping[str, Item]
    parents: Mapping[Item, Item]
    contained: tuple[Mapping[str, Any], ...]
    effective_period: Mapping[str, Any] | None

    def lineage(self, item: Item) -> list[Item]:
        """The item and its ancestors, innermost first."""
        chain = [item]
        while (parent := self.parents.get(chain[-1])) is not None:
            chain.append(parent)
        return chain

    def common_group(self, first: Item, second: Item) -> Item | None:
        """The innermost item holding both (either may be it); None when only the root holds both."""
        around_second = set(self.lineage(second))
        return next((item for item in self.lineage(first) if item in around_second), None)


# The Questionnaire items being walked, outermost first, each with the response item that stands for it.
Frames = tuple[tuple[Item, Mapping[str, Any]], ...]


def read_form(questionnaire: Mapping[str, Any], version: FhirVersion) -> Form:
    items = _read_items(questionnaire.get("item"), version, 0)
    by_link_id: dict[str, Item] = {}
    parents: dict[Item, Item] = {}
    pending: list[tuple[Item, Item | None]] = [(item, None) for item in reversed(items)]
    while pending:  # depth-first, document order: the first item with a linkId wins, as in the Java validator
        item, parent = pending.pop()
        by_link_id.setdefault(item.link_id, item)
        if parent is not None:
            parents[item] = parent
        pending.extend((child, item) for child in reversed(item.children))
    period = questionnaire.get("effectivePeriod")
    return Form(
        items=items,
        by_link_id=by_link_id,
        parents=parents,
        contained=tuple(mappings(questionnaire.get("contained"))),
        effective_period=period if isinstance(period, Mapping) else None,
    )


def _read_items(raw: object, version: FhirVersion, depth: int) -> tuple[Item, ...]:
    if depth >= MAX_DEPTH:
        return ()
    return tuple(_read_item(entry, version, depth) for entry in mappings(raw))


def _read_item(raw: Mapping[str, Any], version: FhirVersion, depth: int) -> Item:
    stu3 = version is FhirVersion.STU3
    return Item(
        link_id=as_text(raw.get("linkId")) or "",
        type=as_text(raw.get("type")) or "",
        text=as_text(raw.get("text")),
        required=raw.get("required") is True,
        repeats=raw.get("repeats") is True,
        max_length=as_whole_number(raw.get("maxLength")),
        options=tuple(mappings(raw.get("option" if stu3 else "answerOption"))),
        value_set=reference_text(raw.get("options")) if stu3 else as_text(raw.get("answerValueSet")),
        conditions=tuple(_read_condition(entry, stu3) for entry in mappings(raw.get("enableWhen"))),
        # STU3 has no enableBehavior: any one satisfied condition enables the item.
        behavior="any" if stu3 else as_text(raw.get("enableBehavior")),
        expression=_enable_when_expression(raw),
        extensions=tuple(mappings(raw.get("extension"))),
        children=_read_items(raw.get("item"), version, depth + 1),
    )


def _read_condition(raw: Mapping[str, Any], stu3: bool) -> Condition:
    question = as_text(raw.get("question"))
    if stu3 and isinstance(raw.get("hasAnswer"), bool):
        return Condition(question, "exists", "Boolean", raw["hasAnswer"])
    answer = choice(raw, "answer")
    answer_type, value = answer if answer is not None else (None, None)
    operator_code = "=" if stu3 and answer is not None else as_text(raw.get("operator"))
    return Condition(question, operator_code, answer_type, value)


def _enable_when_expression(raw: Mapping[str, Any]) -> str | None:
    for extension in mappings(raw.get("extension")):
        if extension.get("url") != _EXT_ENABLE_WHEN_EXPRESSION:
            continue
        expression = extension.get("valueExpression")
        if isinstance(expression, Mapping) and expression.get("language") == "text/fhirpath":
            return as_text(expression.get("expression"))
    return None
