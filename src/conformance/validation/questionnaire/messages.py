"""The finding catalogue of QuestionnaireResponse checks, and the log the checks write findings into.

Each message id maps to its default severity, FHIR IssueType code and template. docs/questionnaire.md lists
the same ids; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conformance.outcome import Severity
from conformance.validation.questionnaire.shown import clip

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class QuestionnaireFinding:
    """One problem found in a QuestionnaireResponse; ``path`` is a JSON path inside the response."""

    severity: Severity
    code: str
    message_id: str
    message: str
    path: JsonPath = ()


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

# A response in any other status is still being filled in: missing answers are only warnings.
_FINISHED_STATUSES = frozenset({"completed", "amended"})


def _finding(
    message_id: str, path: JsonPath, params: Mapping[str, object], severity: Severity | None = None
) -> QuestionnaireFinding:
    default, code, template = _MESSAGES[message_id]
    message = template.format_map(params)
    return QuestionnaireFinding(severity or default, code, f"questionnaire.{message_id}", message, path)


def unresolved(reference: str | None) -> QuestionnaireFinding:
    """The single finding of a response whose Questionnaire is unnamed or cannot be found."""
    if reference is None:
        return _finding("not-identified", (), {})
    # As in the Java validator, example.org questionnaires are expected not to resolve.
    example = reference.startswith(("http://example.org", "https://example.org"))
    return _finding(
        "not-found", ("questionnaire",), {"reference": clip(reference)}, _INFO if example else None
    )


class FindingLog:
    """The findings of one response, in the order the checks report them."""

    def __init__(self, status: object) -> None:
        self.finished = status in _FINISHED_STATUSES
        self.findings: list[QuestionnaireFinding] = []

    def report(self, message_id: str, path: JsonPath, **params: object) -> None:
        self.findings.append(_finding(message_id, path, params))

    def report_missing(self, message_id: str, path: JsonPath, **params: object) -> None:
        """Missing content is an error in a finished response and only a warning in one still in progress."""
        self.findings.append(_finding(message_id, path, params, _ERROR if self.finished else _WARNING))
