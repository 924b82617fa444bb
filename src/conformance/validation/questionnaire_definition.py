"""Rules for a Questionnaire itself: what each item's enableWhen points at.

As the HL7 validator checks them (R4 and later; STU3 is not checked): an enableWhen names a question, the
question is an item of the Questionnaire, neither the item itself nor one of its own inner items, and
(a warning) one that comes before it. The issue sits on the item that has the enableWhen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.outcome import Severity

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class DefinitionProblem:
    severity: Severity
    message_id: str
    message: str
    path: Path  # from the Questionnaire: ("item", 0, "item", 2)


def enable_when_problems(questionnaire: Mapping[str, Any]) -> list[DefinitionProblem]:
    problems: list[DefinitionProblem] = []
    _walk(questionnaire, questionnaire, (), (questionnaire,), problems)
    return problems


def _items(node: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    items = node.get("item")
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                yield index, item


def _walk(
    node: Mapping[str, Any],
    root: Mapping[str, Any],
    path: Path,
    parents: tuple[Mapping[str, Any], ...],
    problems: list[DefinitionProblem],
) -> None:
    """`parents`: the nodes that hold `node`'s items, nearest first, the Questionnaire last."""
    for index, item in _items(node):
        here = (*path, "item", index)
        problems.extend(_item_problems(item, root, here, parents))
        _walk(item, root, here, (item, *parents), problems)


def _item_problems(
    item: Mapping[str, Any], root: Mapping[str, Any], path: Path, parents: Sequence[Mapping[str, Any]]
) -> Iterator[DefinitionProblem]:
    conditions = item.get("enableWhen")
    for condition in conditions if isinstance(conditions, list) else ():
        question = condition.get("question") if isinstance(condition, Mapping) else None
        if not isinstance(question, str):
            yield _error(
                "no-question", "Questions with an enableWhen must have a value for the question link", path
            )
        elif _find(item, question) is not None:
            yield _error(
                "inner-target",
                "Questions with an enableWhen cannot refer to an inner question for its enableWhen condition",
                path,
            )
        elif (target := _find(root, question)) is None:
            yield _error(
                "unknown-target",
                f"Unable to find an item with the linkId '{question}' which is referenced in the enableWhen "
                f"for '{item.get('linkId')}'",
                path,
            )
        elif target is item:
            yield _error("self-target", "Target for this question enableWhen can't reference itself", path)
        elif not _comes_before(target, item, parents):
            yield DefinitionProblem(
                Severity.WARNING,
                "questionnaire-definition.enablewhen-after",
                f"The target of this enableWhen rule ({question}) comes after the question itself",
                path,
            )


def _error(kind: str, message: str, path: Path) -> DefinitionProblem:
    return DefinitionProblem(Severity.ERROR, f"questionnaire-definition.enablewhen-{kind}", message, path)


def _find(focus: Mapping[str, Any], link_id: str) -> Mapping[str, Any] | None:
    """The first item below `focus` (depth first, in document order) with this linkId."""
    pending = [item for _, item in _items(focus)][::-1]
    while pending:
        item = pending.pop()
        if item.get("linkId") == link_id:
            return item
        pending.extend([child for _, child in _items(item)][::-1])
    return None


def _comes_before(
    target: Mapping[str, Any], item: Mapping[str, Any], parents: Sequence[Mapping[str, Any]]
) -> bool:
    """An enclosing item comes before; otherwise compare the branches of the nearest common holder."""
    if any(parent is target for parent in parents):
        return True
    for parent in parents:
        item_at, target_at = _branch_of(parent, item), _branch_of(parent, target)
        if item_at is not None and target_at is not None:
            return item_at > target_at
    return False


def _branch_of(holder: Mapping[str, Any], wanted: Mapping[str, Any]) -> int | None:
    """The index of the item of `holder` that is `wanted` or holds it."""
    for index, item in _items(holder):
        if item is wanted or _holds(item, wanted):
            return index
    return None


def _holds(node: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    pending = [child for _, child in _items(node)]
    while pending:
        current = pending.pop()
        if current is wanted:
            return True
        pending.extend(child for _, child in _items(current))
    return False
