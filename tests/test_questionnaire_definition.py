"""A Questionnaire's enableWhen conditions point at a question that exists, before the item, outside it."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.outcome import Outcome
from conformance.validation import Validator
from conformance.validation.questionnaire_definition import enable_when_problems


def _when(question: str | None) -> dict[str, Any]:
    condition: dict[str, Any] = {"operator": "exists", "answerBoolean": True}
    if question is not None:
        condition["question"] = question
    return condition


def _item(link_id: str, *conditions: str | None, items: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id, "text": link_id, "type": "group" if items else "boolean"}
    if conditions:
        item["enableWhen"] = [_when(question) for question in conditions]
    if items:
        item["item"] = list(items)
    return item


def _questionnaire(*items: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Questionnaire", "status": "draft", "item": list(items)}


def _found(questionnaire: dict[str, Any]) -> list[tuple[str, str, tuple[str | int, ...]]]:
    return [
        (p.severity.value, p.message_id.rsplit("-", 1)[-1], p.path)
        for p in enable_when_problems(questionnaire)
    ]


CASES = [
    pytest.param(_questionnaire(_item("a"), _item("b", "a")), [], id="earlier-question"),
    pytest.param(
        _questionnaire(_item("g", items=(_item("a"), _item("b", "g")))),
        [],
        id="enclosing-group-counts-as-before",
    ),
    pytest.param(
        _questionnaire(_item("b", "a"), _item("a")),
        [("warning", "after", ("item", 0))],
        id="later-question-warns",
    ),
    pytest.param(
        _questionnaire(_item("g", items=(_item("x", "y"),)), _item("y")),
        [("warning", "after", ("item", 0, "item", 0))],
        id="later-question-in-another-branch",
    ),
    pytest.param(_questionnaire(_item("a", "a")), [("error", "target", ("item", 0))], id="itself"),
    pytest.param(_questionnaire(_item("a", "zz")), [("error", "target", ("item", 0))], id="unknown"),
    pytest.param(
        _questionnaire(_item("g", "a", items=(_item("a"),))),
        [("error", "target", ("item", 0))],
        id="inner-question",
    ),
    pytest.param(_questionnaire(_item("a", None)), [("error", "question", ("item", 0))], id="no-question"),
]


@pytest.mark.parametrize(("questionnaire", "expected"), CASES)
def test_enable_when_targets(
    questionnaire: dict[str, Any], expected: list[tuple[str, str, tuple[str | int, ...]]]
) -> None:
    assert _found(questionnaire) == expected


def test_each_error_kind_has_its_own_id() -> None:
    questionnaire = _questionnaire(
        _item("g", "a", items=(_item("a", "a"),)), _item("b", "zz"), _item("c", None)
    )
    assert sorted(p.message_id for p in enable_when_problems(questionnaire)) == [
        "questionnaire-definition.enablewhen-inner-target",
        "questionnaire-definition.enablewhen-no-question",
        "questionnaire-definition.enablewhen-self-target",
        "questionnaire-definition.enablewhen-unknown-target",
    ]


def test_a_broken_questionnaire_does_not_crash() -> None:
    hostile: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "item": [1, {"item": "x", "enableWhen": [3, {}]}],
    }
    # one issue for each of the two conditions without a question; the bad items are left to the walk
    assert [p.message_id for p in enable_when_problems(hostile)] == [
        "questionnaire-definition.enablewhen-no-question"
    ] * 2


def _ids(outcome: Outcome) -> list[str]:
    return sorted(
        f"{i.severity.value} {i.message_id} @ {i.location}"
        for i in outcome.issues
        if "enablewhen" in i.message_id
    )


@pytest.mark.shared
def test_the_validator_reports_them_on_the_item(r4_validator: Validator) -> None:
    questionnaire = _questionnaire(_item("a"), _item("g", items=(_item("b", "zz"),)))
    assert _ids(r4_validator.validate(questionnaire)) == [
        "error questionnaire-definition.enablewhen-unknown-target @ Questionnaire.item[1].item[0]"
    ]
