"""QuestionnaireResponse validation against its Questionnaire (conformance.validation.questionnaire).

Each rule is exercised on the fixtures in fixtures/questionnaire/: a valid response is checked clean, then
edited in one place to break one rule, and the finding is asserted by message id, severity and path.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conformance.fhirversion import FhirVersion
from conformance.outcome import Severity
from conformance.validation.questionnaire import (
    MESSAGE_IDS,
    JsonPath,
    QuestionnaireFinding,
    check_response,
    questionnaire_reference,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "questionnaire"
R4, STU3 = FhirVersion.R4, FhirVersion.STU3
COLOURS = "http://fixtures.fhir-conformance.test/CodeSystem/colours"
PETS = "http://fixtures.fhir-conformance.test/CodeSystem/pets"
SEVERITY = "http://fixtures.fhir-conformance.test/CodeSystem/severity"
VISIT = "http://fixtures.fhir-conformance.test/CodeSystem/visit"
UCUM = "http://unitsofmeasure.org"
EXT = "http://hl7.org/fhir/StructureDefinition/"

Json = dict[str, Any]


# ---------------------------------------------------------------------------------------------------------
# helpers


def load(name: str) -> Json:
    data: Json = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


class FixtureLookup:
    """Resolves canonical URLs (bare or ``|version``) among the given resources; answers
    ``value_set_contains`` only for the triples it was given, like an engine without a terminology server."""

    def __init__(
        self,
        resources: Iterable[Mapping[str, Any]] = (),
        known: Mapping[tuple[str, str | None, str], bool] | None = None,
    ) -> None:
        self.by_url: dict[str, Mapping[str, Any]] = {}
        for resource in resources:
            url = resource.get("url")
            if isinstance(url, str):
                self.by_url[url] = resource
                if isinstance(resource.get("version"), str):
                    self.by_url[f"{url}|{resource['version']}"] = resource
        self.known = dict(known or {})
        self.asked: list[tuple[str, str | None, str]] = []

    def resolve(self, url: str) -> Mapping[str, Any] | None:
        return self.by_url.get(url)

    def value_set_contains(self, url: str, system: str | None, code: str) -> bool | None:
        self.asked.append((url, system, code))
        return self.known.get((url, system, code))


def terminology(known: Mapping[tuple[str, str | None, str], bool] | None = None) -> FixtureLookup:
    return FixtureLookup((entry["resource"] for entry in load("terminology.json")["entry"]), known)


def check(
    response: Mapping[str, Any],
    questionnaire: Mapping[str, Any] | None,
    *,
    version: FhirVersion = R4,
    lookup: FixtureLookup | None = None,
) -> tuple[QuestionnaireFinding, ...]:
    return check_response(response, questionnaire, fhir_version=version, lookup=lookup or terminology())


def summary(findings: Iterable[QuestionnaireFinding]) -> list[tuple[str, str, JsonPath]]:
    """(severity, message id, path) of each finding that is not merely informational."""
    return [
        (f.severity.value, f.message_id, f.path) for f in findings if f.severity is not Severity.INFORMATION
    ]


def item(container: Mapping[str, Any], link_id: str) -> Json:
    """The first item with this linkId under a response or Questionnaire, searched breadth-first."""
    pending: list[Json] = list(container.get("item", []))
    for answer in container.get("answer", []):
        pending.extend(answer.get("item", []))
    while pending:
        candidate = pending.pop(0)
        if candidate.get("linkId") == link_id:
            return candidate
        pending.extend(candidate.get("item", []))
        for answer in candidate.get("answer", []):
            pending.extend(answer.get("item", []))
    raise KeyError(link_id)


def position(container: Mapping[str, Any], link_id: str) -> int:
    return next(i for i, entry in enumerate(container["item"]) if entry.get("linkId") == link_id)


def everything() -> tuple[Json, Json]:
    return load("r4-response-everything-valid.json"), load("r4-questionnaire-everything.json")


def path_of(container: Mapping[str, Any], link_id: str) -> JsonPath:
    """The JSON path of the first item with this linkId, searched breadth-first like ``item``."""
    pending: list[tuple[JsonPath, Mapping[str, Any]]] = [((), container)]
    while pending:
        path, node = pending.pop(0)
        if path and node.get("linkId") == link_id:
            return path
        pending.extend(((*path, "item", i), child) for i, child in enumerate(node.get("item", [])))
        for a, answer in enumerate(node.get("answer", [])):
            pending.extend(
                ((*path, "answer", a, "item", i), child) for i, child in enumerate(answer.get("item", []))
            )
    raise KeyError(link_id)


def answer_path(
    response: Mapping[str, Any], link_id: str, index: int = 0, value: str | None = None
) -> JsonPath:
    path: JsonPath = (*path_of(response, link_id), "answer", index)
    return (*path, value) if value else path


def set_answers(response: Json, link_id: str, *answers: Json) -> None:
    item(response, link_id)["answer"] = list(answers)


# ---------------------------------------------------------------------------------------------------------
# valid fixtures


@pytest.mark.parametrize(
    ("questionnaire", "response", "version"),
    [
        ("r4-questionnaire-everything.json", "r4-response-everything-valid.json", R4),
        ("r4-questionnaire-enablewhen.json", "r4-response-enablewhen-valid.json", R4),
        ("stu3-questionnaire.json", "stu3-response-valid.json", STU3),
    ],
)
def test_valid_fixture_has_no_findings(questionnaire: str, response: str, version: FhirVersion) -> None:
    assert check(load(response), load(questionnaire), version=version) == ()


def test_findings_are_immutable_values_with_catalogued_ids() -> None:
    response, questionnaire = everything()
    set_answers(response, "children", {"valueInteger": 99})
    (finding,) = check(response, questionnaire)
    assert finding.message_id in MESSAGE_IDS
    with pytest.raises(AttributeError):
        finding.severity = Severity.WARNING  # type: ignore[misc]
    assert "99" in finding.message and "20" in finding.message


# ---------------------------------------------------------------------------------------------------------
# one broken rule at a time on the "everything" fixture

Edit = Callable[[Json, Json], None]


def _edit_answer(link_id: str, *answers: Json) -> Edit:
    return lambda response, _questionnaire: set_answers(response, link_id, *answers)


ANSWER_CASES: list[tuple[str, Edit, str, str, str | None, str]] = [
    # (case, edit, linkId, message id, value key in the path, severity)
    (
        "name shorter than minLength",
        _edit_answer("name", {"valueString": "A"}),
        "name",
        "too-short",
        "valueString",
        "error",
    ),
    (
        "name longer than maxLength",
        _edit_answer("name", {"valueString": "A" * 41}),
        "name",
        "too-long",
        "valueString",
        "error",
    ),
    (
        "name breaks the regex",
        _edit_answer("name", {"valueString": "R2D2"}),
        "name",
        "regex",
        "valueString",
        "error",
    ),
    (
        "line break in a string",
        _edit_answer("postcode", {"valueString": "AB1\n2CD"}),
        "postcode",
        "line-break",
        "valueString",
        "warning",
    ),
    (
        "boolean answered with a string",
        _edit_answer("smoker", {"valueString": "no"}),
        "smoker",
        "answer-type",
        "valueString",
        "error",
    ),
    (
        "decimal below minValue",
        _edit_answer("weight", {"valueDecimal": 0.4}),
        "weight",
        "value-too-small",
        "valueDecimal",
        "error",
    ),
    (
        "decimal above maxValue",
        _edit_answer("weight", {"valueDecimal": 500.1}),
        "weight",
        "value-too-large",
        "valueDecimal",
        "error",
    ),
    (
        "decimal with too many places",
        _edit_answer("weight", {"valueDecimal": 72.55}),
        "weight",
        "too-many-decimals",
        "valueDecimal",
        "error",
    ),
    (
        "integer below minValue",
        _edit_answer("children", {"valueInteger": -1}),
        "children",
        "value-too-small",
        "valueInteger",
        "error",
    ),
    (
        "integer above maxValue",
        _edit_answer("children", {"valueInteger": 21}),
        "children",
        "value-too-large",
        "valueInteger",
        "error",
    ),
    (
        "date before minValue",
        _edit_answer("dob", {"valueDate": "1899-12-31"}),
        "dob",
        "value-too-small",
        "valueDate",
        "error",
    ),
    (
        "date after maxValue",
        _edit_answer("dob", {"valueDate": "2031"}),
        "dob",
        "value-too-large",
        "valueDate",
        "error",
    ),
    (
        "time before minValue",
        _edit_answer("wake", {"valueTime": "04:59:59"}),
        "wake",
        "value-too-small",
        "valueTime",
        "error",
    ),
    (
        "time after maxValue",
        _edit_answer("wake", {"valueTime": "11:00:01"}),
        "wake",
        "value-too-large",
        "valueTime",
        "error",
    ),
    (
        "url answered with a string",
        _edit_answer("homepage", {"valueString": "x"}),
        "homepage",
        "answer-type",
        "valueString",
        "error",
    ),
    (
        "dateTime answered with a date",
        _edit_answer("seen-at", {"valueDate": "2024-01-01"}),
        "seen-at",
        "answer-type",
        "valueDate",
        "error",
    ),
    (
        "choice code not among the options",
        _edit_answer("colours", {"valueCoding": {"system": COLOURS, "code": "purple"}}),
        "colours",
        "answer-not-in-options",
        "valueCoding",
        "error",
    ),
    (
        "choice code from another system",
        _edit_answer("colours", {"valueCoding": {"system": PETS, "code": "red"}}),
        "colours",
        "answer-not-in-options",
        "valueCoding",
        "error",
    ),
    (
        "choice string with only coded options",
        _edit_answer("colours", {"valueString": "red"}),
        "colours",
        "no-options-of-type",
        "valueString",
        "error",
    ),
    (
        "choice answered with a boolean",
        _edit_answer("colours", {"valueBoolean": True}),
        "colours",
        "answer-type",
        "valueBoolean",
        "error",
    ),
    (
        "open-choice code not among the options",
        _edit_answer("pets", {"valueCoding": {"system": PETS, "code": "hamster"}}),
        "pets",
        "answer-not-in-options",
        "valueCoding",
        "error",
    ),
    (
        "open-choice text equal to an option's display",
        _edit_answer("pets", {"valueString": "CAT"}),
        "pets",
        "string-matches-option",
        "valueString",
        "warning",
    ),
    (
        "integer choice not among the options",
        _edit_answer("size", {"valueInteger": 4}),
        "size",
        "answer-not-in-options",
        "valueInteger",
        "error",
    ),
    (
        "date answer to an integer-option choice",
        _edit_answer("size", {"valueDate": "2020-01-01"}),
        "size",
        "no-options-of-type",
        "valueDate",
        "error",
    ),
    (
        "value-set code excluded by the value set",
        _edit_answer("severity", {"valueCoding": {"system": SEVERITY, "code": "moderate-worsening"}}),
        "severity",
        "answer-not-in-value-set",
        "valueCoding",
        "error",
    ),
    (
        "value-set code unknown to its code system",
        _edit_answer("severity", {"valueCoding": {"system": SEVERITY, "code": "critical"}}),
        "severity",
        "answer-not-in-value-set",
        "valueCoding",
        "error",
    ),
    (
        "value-set Coding without a system",
        _edit_answer("severity", {"valueCoding": {"code": "mild"}}),
        "severity",
        "coding-no-system",
        "valueCoding",
        "warning",
    ),
    (
        "string outside the contained value set",
        _edit_answer("nation", {"valueString": "Atlantis"}),
        "nation",
        "answer-not-in-value-set",
        "valueString",
        "error",
    ),
    (
        "attachment of a type not allowed",
        _edit_answer("photo", {"valueAttachment": {"contentType": "image/gif", "data": "R0lG"}}),
        "photo",
        "attachment-type",
        "valueAttachment",
        "error",
    ),
    (
        "attachment without a contentType",
        _edit_answer("photo", {"valueAttachment": {"data": "R0lG"}}),
        "photo",
        "attachment-type-missing",
        "valueAttachment",
        "error",
    ),
    (
        "attachment larger than maxSize",
        _edit_answer("photo", {"valueAttachment": {"contentType": "image/png", "data": "A" * 24}}),
        "photo",
        "attachment-too-large",
        "valueAttachment",
        "error",
    ),
    (
        "quantity below the minimum",
        _edit_answer("height", {"valueQuantity": {"value": 29, "unit": "cm", "system": UCUM, "code": "cm"}}),
        "height",
        "value-too-small",
        "valueQuantity",
        "error",
    ),
    (
        "quantity above the maximum after unit conversion",
        _edit_answer(
            "height", {"valueQuantity": {"value": 100, "unit": "in", "system": UCUM, "code": "[in_i]"}}
        ),
        "height",
        "value-too-large",
        "valueQuantity",
        "error",
    ),
    (
        "quantity with too many decimal places",
        _edit_answer(
            "height", {"valueQuantity": {"value": 170.25, "unit": "cm", "system": UCUM, "code": "cm"}}
        ),
        "height",
        "too-many-decimals",
        "valueQuantity",
        "error",
    ),
    (
        "reference answered with a Coding",
        _edit_answer("gp", {"valueCoding": {"code": "x"}}),
        "gp",
        "answer-type",
        "valueCoding",
        "error",
    ),
]


@pytest.mark.parametrize(
    ("edit", "link_id", "message_id", "value_key", "severity"),
    [pytest.param(*case[1:], id=case[0]) for case in ANSWER_CASES],
)
def test_one_broken_answer_rule(
    edit: Edit, link_id: str, message_id: str, value_key: str, severity: str
) -> None:
    response, questionnaire = everything()
    edit(response, questionnaire)
    expected_path = answer_path(response, link_id, 0, value_key)
    assert summary(check(response, questionnaire)) == [
        (severity, f"questionnaire.{message_id}", expected_path)
    ]


def test_quantity_in_units_of_another_dimension_cannot_be_compared() -> None:
    response, questionnaire = everything()
    set_answers(
        response, "height", {"valueQuantity": {"value": 70, "unit": "kg", "system": UCUM, "code": "kg"}}
    )
    found = summary(check(response, questionnaire))
    path = answer_path(response, "height", 0, "valueQuantity")
    assert found == [
        ("error", "questionnaire.quantity-not-comparable", path),
        ("error", "questionnaire.quantity-not-comparable", path),
        ("error", "questionnaire.unit-not-allowed", path),
    ]


def test_quantity_without_coded_units_cannot_be_compared() -> None:
    response, questionnaire = everything()
    set_answers(response, "height", {"valueQuantity": {"value": 170, "unit": "cm"}})
    findings = check(response, questionnaire)
    assert [f.message_id for f in findings] == ["questionnaire.quantity-not-comparable"] * 2 + [
        "questionnaire.unit-not-allowed"
    ]
    assert all("coded units" in f.message for f in findings[:2])


def test_exclusive_option_chosen_with_another() -> None:
    response, questionnaire = everything()
    set_answers(
        response,
        "colours",
        {"valueCoding": {"system": COLOURS, "code": "red"}},
        {"valueCoding": {"system": COLOURS, "code": "none"}},
    )
    path = answer_path(response, "colours", 1, "valueCoding")
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.answer-exclusive", path)]


def test_exclusive_option_chosen_alone_is_valid() -> None:
    response, questionnaire = everything()
    set_answers(response, "colours", {"valueCoding": {"system": COLOURS, "code": "none"}})
    assert check(response, questionnaire) == ()


def test_attachment_exactly_at_max_size_is_allowed() -> None:
    response, questionnaire = everything()
    data = item(response, "photo")["answer"][0]["valueAttachment"]["data"]
    assert len(base64.b64decode(data)) == 16  # the fixture sits exactly on maxSize
    assert check(response, questionnaire) == ()


def test_mime_type_wildcard_and_parameters() -> None:
    response, questionnaire = everything()
    photo = item(questionnaire, "photo")
    photo["extension"] = [{"url": EXT + "mimeType", "valueCode": "image/*"}]
    set_answers(
        response, "photo", {"valueAttachment": {"contentType": "IMAGE/GIF; charset=x", "data": "R0lG"}}
    )
    assert check(response, questionnaire) == ()
    set_answers(response, "photo", {"valueAttachment": {"contentType": "application/pdf", "data": "R0lG"}})
    assert [f.message_id for f in check(response, questionnaire)] == ["questionnaire.attachment-type"]


# ---------------------------------------------------------------------------------------------------------
# item structure


def test_unknown_link_id() -> None:
    response, questionnaire = everything()
    response["item"].append({"linkId": "shoe-colour", "answer": [{"valueString": "red"}]})
    last = len(response["item"]) - 1
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.linkid-not-found", ("item", last))
    ]


def test_item_without_link_id() -> None:
    response, questionnaire = everything()
    response["item"].append({"answer": [{"valueString": "red"}]})
    last = len(response["item"]) - 1
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.linkid-missing", ("item", last))
    ]


def test_item_at_the_wrong_level_is_reported_and_still_checked() -> None:
    response, questionnaire = everything()
    response["item"].append({"linkId": "postcode", "answer": [{"valueInteger": 1}]})
    last = len(response["item"]) - 1
    findings = check(response, questionnaire)
    assert summary(findings) == [
        ("error", "questionnaire.item-misplaced", ("item", last)),
        ("error", "questionnaire.answer-type", ("item", last, "answer", 0, "valueInteger")),
    ]
    assert "inside the item 'address'" in findings[0].message


def test_items_out_of_order() -> None:
    response, questionnaire = everything()
    name = response["item"].pop(position(response, "name"))
    response["item"].append(name)
    last = len(response["item"]) - 1
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.item-order", ("item", last))]


def test_non_repeating_item_given_twice() -> None:
    response, questionnaire = everything()
    at = position(response, "smoker")
    response["item"].insert(at + 1, copy.deepcopy(response["item"][at]))
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.item-repeated", ("item", at + 1))
    ]


def test_non_repeating_item_with_two_answers() -> None:
    response, questionnaire = everything()
    set_answers(response, "smoker", {"valueBoolean": True}, {"valueBoolean": False})
    path = ("item", position(response, "smoker"))
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.answer-repeated", path)]


def test_item_text_must_match_the_questionnaire() -> None:
    response, questionnaire = everything()
    item(response, "name")["text"] = "Your name"
    path = ("item", position(response, "name"))
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.text-mismatch", path)]


def test_display_item_with_an_answer_or_nested_items() -> None:
    response, questionnaire = everything()
    item(response, "intro")["answer"] = [{"valueString": "ok"}]
    item(response, "intro")["item"] = [{"linkId": "name"}]
    found = summary(check(response, questionnaire))
    assert ("error", "questionnaire.display-answer", ("item", 0, "answer", 0)) in found
    assert ("error", "questionnaire.display-items", ("item", 0)) in found


def test_group_with_an_answer() -> None:
    response, questionnaire = everything()
    address = item(response, "address")
    address["answer"] = [{"valueString": "1 High Street", "item": address.pop("item")}]
    at = position(response, "address")
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.group-answer", ("item", at, "answer", 0)),
        ("error", "questionnaire.group-empty", ("item", at)),
        ("error", "questionnaire.required-missing", ("item", at)),
    ]


def test_question_with_nested_items_outside_its_answer() -> None:
    response, questionnaire = everything()
    allergy = item(response, "allergy")
    allergy["item"] = allergy["answer"][0].pop("item")
    at = position(response, "allergy")
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.required-missing", ("item", at)),
        ("error", "questionnaire.items-outside-answer", ("item", at)),
    ]


def test_abstract_question_type_is_treated_as_a_group() -> None:
    questionnaire = {"resourceType": "Questionnaire", "item": [{"linkId": "q", "type": "question"}]}
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"linkId": "q", "answer": [{"valueBoolean": True}]}],
    }
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.group-answer", ("item", 0, "answer", 0))
    ]


def test_questionnaire_item_without_a_type() -> None:
    questionnaire = {"resourceType": "Questionnaire", "item": [{"linkId": "q"}]}
    response = {
        "resourceType": "QuestionnaireResponse",
        "item": [{"linkId": "q", "answer": [{"valueBoolean": True}]}],
    }
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.item-no-type", ("item", 0))]


# ---------------------------------------------------------------------------------------------------------
# required items, occurrence counts and the response status


def test_required_item_missing_in_a_completed_response() -> None:
    response, questionnaire = everything()
    response["item"].pop(position(response, "smoker"))
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.required-missing", ())]


@pytest.mark.parametrize(
    ("status", "severity"), [("amended", "error"), ("in-progress", "warning"), ("stopped", "warning")]
)
def test_missing_answers_are_warnings_until_the_response_is_finished(status: str, severity: str) -> None:
    response, questionnaire = everything()
    response["status"] = status
    response["item"].pop(position(response, "smoker"))
    item(response, "line")["answer"] = []
    line_path = ("item", position(response, "address"), "item", 0)
    assert summary(check(response, questionnaire)) == [
        (severity, "questionnaire.required-missing", ()),
        (severity, "questionnaire.required-missing", line_path),
    ]


def test_required_group_absent_and_required_group_empty() -> None:
    response, questionnaire = everything()
    at = position(response, "address")
    response["item"][at].pop("item")
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.group-empty", ("item", at)),
        ("error", "questionnaire.required-missing", ("item", at)),
    ]
    response["item"].pop(at)
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.required-missing", ())]


def test_nested_required_item_missing_from_an_answer_is_reported_on_its_item() -> None:
    response, questionnaire = everything()
    item(response, "allergy")["answer"][0]["item"] = []
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.required-missing", ("item", position(response, "allergy")))
    ]


def test_min_and_max_occurs_count_the_answers_of_a_question() -> None:
    response, questionnaire = everything()
    item(questionnaire, "line")["extension"] = [
        {"url": EXT + "questionnaire-minOccurs", "valueInteger": 2},
        {"url": EXT + "questionnaire-maxOccurs", "valueInteger": 3},
    ]
    assert check(response, questionnaire) == ()  # the fixture has exactly two lines
    line_path = ("item", position(response, "address"), "item", 0)
    set_answers(response, "line", {"valueString": "1 High Street"})
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.too-few-occurrences", line_path)
    ]
    set_answers(response, "line", *[{"valueString": f"line {n}"} for n in range(4)])
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.too-many-occurrences", line_path)
    ]


def test_min_and_max_occurs_count_the_repeats_of_a_group() -> None:
    response, questionnaire = everything()
    address = item(questionnaire, "address")
    address.update(required=False, repeats=True)
    address["extension"] = [
        {"url": EXT + "questionnaire-minOccurs", "valueInteger": 1},
        {"url": EXT + "questionnaire-maxOccurs", "valueInteger": 1},
    ]
    at = position(response, "address")
    response["item"].insert(at, copy.deepcopy(response["item"][at]))
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.too-many-occurrences", ("item", at))
    ]
    del response["item"][at : at + 2]
    response["status"] = "in-progress"
    assert summary(check(response, questionnaire)) == [("warning", "questionnaire.too-few-occurrences", ())]


def test_authored_outside_the_effective_period() -> None:
    response, questionnaire = everything()
    response["authored"] = "2031-01-01"
    assert summary(check(response, questionnaire)) == [
        ("warning", "questionnaire.authored-after-end", ("authored",))
    ]
    response["authored"] = "2019-12-31T23:59:59Z"
    assert summary(check(response, questionnaire)) == [
        ("warning", "questionnaire.authored-before-start", ("authored",))
    ]


# ---------------------------------------------------------------------------------------------------------
# resolving the Questionnaire


def test_unresolved_questionnaire_gives_one_warning_only() -> None:
    response, _ = everything()
    (finding,) = check(response, None)
    assert (finding.severity, finding.code, finding.message_id) == (
        Severity.WARNING,
        "required",
        "questionnaire.not-found",
    )
    assert finding.path == ("questionnaire",)
    assert "http://fixtures.fhir-conformance.test/Questionnaire/everything|1.0.0" in finding.message


def test_example_org_questionnaire_is_expected_not_to_resolve() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://example.org/Questionnaire/x",
    }
    (finding,) = check(response, None)
    assert (finding.severity, finding.message_id) == (Severity.INFORMATION, "questionnaire.not-found")


def test_response_naming_no_questionnaire() -> None:
    (finding,) = check({"resourceType": "QuestionnaireResponse", "status": "completed"}, None)
    assert (finding.severity, finding.message_id, finding.path) == (
        Severity.INFORMATION,
        "questionnaire.not-identified",
        (),
    )


def test_contained_questionnaire_is_found_by_the_module_itself() -> None:
    response, questionnaire = everything()
    questionnaire["id"] = "q1"
    response["contained"] = [questionnaire]
    response["questionnaire"] = "#q1"
    set_answers(response, "children", {"valueInteger": 99})
    assert [f.message_id for f in check(response, None)] == ["questionnaire.value-too-large"]
    response["questionnaire"] = "#missing"
    assert [f.message_id for f in check(response, None)] == ["questionnaire.not-found"]


def test_something_other_than_a_questionnaire_counts_as_unresolved() -> None:
    response, _ = everything()
    assert [f.message_id for f in check(response, {"resourceType": "Patient"})] == ["questionnaire.not-found"]


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        ("http://x/Questionnaire/a", "http://x/Questionnaire/a"),
        ({"reference": " Questionnaire/7 "}, "Questionnaire/7"),
        ("", None),
        ({"display": "no reference"}, None),
        (42, None),
    ],
)
def test_questionnaire_reference_reads_r4_and_stu3_shapes(named: object, expected: str | None) -> None:
    assert questionnaire_reference({"questionnaire": named}) == expected


# ---------------------------------------------------------------------------------------------------------
# enableWhen


def enablewhen() -> tuple[Json, Json]:
    return load("r4-response-enablewhen-valid.json"), load("r4-questionnaire-enablewhen.json")


def test_answer_to_a_disabled_item_still_counts_for_other_conditions() -> None:
    response, questionnaire = enablewhen()
    response["item"].insert(2, {"linkId": "packs", "answer": [{"valueDecimal": 1}]})
    # packs is disabled (smoker is false), yet its answer makes "packs exists" enable the required screening
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.not-enabled", ("item", 2)),
        ("error", "questionnaire.required-missing", ()),
    ]


def test_required_item_enabled_but_missing() -> None:
    response, questionnaire = enablewhen()
    set_answers(response, "smoker", {"valueBoolean": True})
    found = summary(check(response, questionnaire))
    assert found == [("error", "questionnaire.required-missing", ())]
    assert "packs" in check(response, questionnaire)[0].message


def test_enable_behavior_all_and_any() -> None:
    response, questionnaire = enablewhen()
    set_answers(response, "age", {"valueInteger": 20})  # teen: age >= 13 holds, age < 20 does not
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.not-enabled", ("item", 2))]
    set_answers(response, "age", {"valueInteger": 61})  # screening: age > 60 is enough under "any"
    response["item"].pop(2)
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.required-missing", ())]
    response["item"].insert(2, {"linkId": "screening", "answer": [{"valueBoolean": True}]})
    assert check(response, questionnaire) == ()


def test_exists_operator_both_ways() -> None:
    response, questionnaire = enablewhen()
    at = position(response, "teen") + 1
    response["item"].insert(at, {"linkId": "no-smoking-note", "answer": [{"valueString": "never"}]})
    assert summary(check(response, questionnaire)) == [("error", "questionnaire.not-enabled", ("item", at))]
    response["item"].pop(
        position(response, "smoker")
    )  # with smoker unanswered, "smoker exists = false" holds
    assert check(response, questionnaire) == ()


def test_conditions_inside_a_repeating_group_look_at_their_own_repetition() -> None:
    response, questionnaire = enablewhen()
    first, second = (i for i, entry in enumerate(response["item"]) if entry["linkId"] == "visit")
    response["item"][first]["item"].append({"linkId": "why", "answer": [{"valueString": "no reason"}]})
    response["item"][second]["item"] = [
        entry for entry in response["item"][second]["item"] if entry["linkId"] != "why"
    ]
    assert summary(check(response, questionnaire)) == [
        ("error", "questionnaire.not-enabled", ("item", first, "item", 2)),
        ("error", "questionnaire.required-missing", ("item", second)),
    ]


def test_date_comparison_and_not_equal_coding() -> None:
    response, questionnaire = enablewhen()
    first = position(response, "visit")
    response["item"][first]["item"].append({"linkId": "recent", "answer": [{"valueString": "fine"}]})
    second = first + 1
    response["item"][second]["item"][0]["answer"][0]["valueCoding"]["code"] = "routine"
    response["item"][second]["item"].pop(2)  # "why" is disabled now
    found = summary(check(response, questionnaire))
    assert found == [
        ("error", "questionnaire.not-enabled", ("item", first, "item", 2)),
        ("error", "questionnaire.not-enabled", ("item", position(response, "not-routine"))),
    ]


def test_disabled_required_item_is_not_required_even_in_progress() -> None:
    response, questionnaire = enablewhen()
    response["status"] = "in-progress"
    assert check(response, questionnaire) == ()


def test_several_conditions_without_enable_behavior_leave_the_item_enabled() -> None:
    response, questionnaire = enablewhen()
    del item(questionnaire, "teen")["enableBehavior"]
    set_answers(response, "age", {"valueInteger": 40})
    assert check(response, questionnaire) == ()


def test_condition_of_another_type_never_holds() -> None:
    response, questionnaire = enablewhen()
    item(questionnaire, "packs")["enableWhen"] = [
        {"question": "smoker", "operator": "=", "answerString": "true"}
    ]
    set_answers(response, "smoker", {"valueBoolean": True})
    assert check(response, questionnaire) == ()  # packs stays disabled, so its absence is fine


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("%resource.item.where(linkId='age').answer.value > 10", []),
        ("%resource.item.where(linkId='age').answer.value > 90", ["questionnaire.not-enabled"]),
        ("%resource.item.where(", ["questionnaire.enable-expression-failed"]),
    ],
)
def test_enable_when_expression(expression: str, expected: list[str]) -> None:
    response, questionnaire = enablewhen()
    note = item(questionnaire, "no-smoking-note")
    del note["enableWhen"]
    note["extension"] = [
        {
            "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression",
            "valueExpression": {"language": "text/fhirpath", "expression": expression},
        }
    ]
    response["item"].insert(
        position(response, "teen") + 1, {"linkId": "no-smoking-note", "answer": [{"valueString": "x"}]}
    )
    assert [f.message_id for f in check(response, questionnaire)] == expected


# ---------------------------------------------------------------------------------------------------------
# STU3


def stu3() -> tuple[Json, Json]:
    return load("stu3-response-valid.json"), load("stu3-questionnaire.json")


def test_stu3_equality_condition_and_has_answer() -> None:
    response, questionnaire = stu3()
    item(response, "transport")["answer"][0]["valueCoding"]["code"] = "bus"
    response["item"].pop(0)  # consent unanswered: escort is disabled too
    assert summary(check(response, questionnaire, version=STU3)) == [
        ("error", "questionnaire.required-missing", ()),
        ("error", "questionnaire.not-enabled", ("item", 1)),
        ("error", "questionnaire.not-enabled", ("item", 2)),
    ]


def test_stu3_option_and_options_reference() -> None:
    response, questionnaire = stu3()
    set_answers(response, "transport", {"valueCoding": {"system": "x", "code": "car"}})
    response["item"].pop(position(response, "parking"))  # no longer enabled: the Coding differs in system
    set_answers(
        response,
        "worried",
        {
            "valueCoding": {
                "system": "http://fixtures.fhir-conformance.test/CodeSystem/yes-no-unsure",
                "code": "maybe",
            }
        },
    )
    set_answers(response, "escort", {"valueInteger": 1})
    assert summary(check(response, questionnaire, version=STU3)) == [
        ("error", "questionnaire.answer-not-in-options", ("item", 1, "answer", 0, "valueCoding")),
        ("error", "questionnaire.answer-not-in-options", ("item", 2, "answer", 0, "valueInteger")),
        ("error", "questionnaire.answer-not-in-value-set", ("item", 3, "answer", 0, "valueCoding")),
    ]


def test_stu3_reads_stu3_names_only() -> None:
    response, questionnaire = stu3()
    transport = item(questionnaire, "transport")
    transport["answerOption"] = transport.pop("option")  # an R4 name has no meaning in STU3
    findings = check(response, questionnaire, version=STU3)
    assert [(f.severity, f.message_id) for f in findings] == [
        (Severity.INFORMATION, "questionnaire.options-not-checked")
    ]


# ---------------------------------------------------------------------------------------------------------
# value sets without a terminology server


def value_set_item(url: str) -> Json:
    return {
        "resourceType": "Questionnaire",
        "item": [{"linkId": "v", "type": "choice", "answerValueSet": url}],
    }


def coded_answer(system: str, code: str) -> Json:
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"linkId": "v", "answer": [{"valueCoding": {"system": system, "code": code}}]}],
    }


VS = "http://fixtures.fhir-conformance.test/ValueSet/"
X = "http://fixtures.fhir-conformance.test/CodeSystem/x"


@pytest.mark.parametrize(
    ("value_set", "system", "code", "expected"),
    [
        ("severity", SEVERITY, "moderate", []),
        ("severity", SEVERITY, "moderate-worsening", ["questionnaire.answer-not-in-value-set"]),
        ("severe-only", SEVERITY, "severe", []),
        ("severe-only", SEVERITY, "moderate-worsening", ["questionnaire.answer-not-in-value-set"]),
        ("severe-only", SEVERITY, "mild", ["questionnaire.answer-not-in-value-set"]),
        ("expanded", X, "c", []),
        ("expanded", X, "d", ["questionnaire.answer-not-in-value-set"]),
        ("expanded", SEVERITY, "a", ["questionnaire.answer-not-in-value-set"]),
        ("expanded-partially", X, "a", []),
        ("expanded-partially", X, "z", ["questionnaire.value-set-not-checked"]),
        ("filtered", "http://snomed.info/sct", "22298006", ["questionnaire.value-set-not-checked"]),
        ("loop-a", X, "a", ["questionnaire.value-set-not-checked"]),
        ("missing", X, "a", ["questionnaire.value-set-not-found"]),
    ],
)
def test_value_set_membership_fallback(value_set: str, system: str, code: str, expected: list[str]) -> None:
    findings = check(coded_answer(system, code), value_set_item(VS + value_set))
    assert [f.message_id for f in findings] == expected


def test_engine_answer_about_membership_comes_first() -> None:
    url = VS + "filtered"
    lookup = terminology({(url, "http://snomed.info/sct", "22298006"): False})
    findings = check(coded_answer("http://snomed.info/sct", "22298006"), value_set_item(url), lookup=lookup)
    assert [f.message_id for f in findings] == ["questionnaire.answer-not-in-value-set"]
    assert lookup.asked == [(url, "http://snomed.info/sct", "22298006")]


def test_versioned_value_set_url_falls_back_to_the_bare_url() -> None:
    findings = check(coded_answer(X, "d"), value_set_item(VS + "expanded|2.0"))
    assert [f.message_id for f in findings] == ["questionnaire.answer-not-in-value-set"]


def test_unit_value_set() -> None:
    response, questionnaire = everything()
    height = item(questionnaire, "height")
    height["extension"] = [{"url": EXT + "questionnaire-unitValueSet", "valueCanonical": VS + "length-units"}]
    set_answers(
        response, "height", {"valueQuantity": {"value": 2, "unit": "ft", "system": UCUM, "code": "[ft_i]"}}
    )
    assert [f.message_id for f in check(response, questionnaire)] == ["questionnaire.answer-not-in-value-set"]


# ---------------------------------------------------------------------------------------------------------
# malformed, hostile and huge input


def test_malformed_shapes_are_left_to_the_structural_checks() -> None:
    questionnaire = {
        "resourceType": "Questionnaire",
        "item": [
            {"linkId": "a", "type": "integer", "answerOption": "not a list", "extension": {"url": "x"}},
            {"linkId": "b", "type": "choice", "answerOption": [1, None, {"valueCoding": "not a mapping"}]},
            {"linkId": 7, "type": ["group"]},
            "not an item",
        ],
    }
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            {"linkId": "a", "answer": "not a list"},
            {"linkId": "b", "answer": [{"valueCoding": "not a mapping"}, "x", {"valueInteger": "1"}]},
            17,
            {"linkId": ["x"], "item": {"linkId": "y"}},
        ],
    }
    found = summary(check(response, questionnaire))
    assert ("error", "questionnaire.linkid-missing", ("item", 3)) in found
    assert ("error", "questionnaire.answer-repeated", ("item", 1)) in found
    assert all(message_id in MESSAGE_IDS for _, message_id, _ in found)


@pytest.mark.parametrize(
    ("extension", "answer"),
    [
        ({"url": EXT + "minValue", "valueString": "ten"}, {"valueInteger": 5}),
        ({"url": EXT + "minValue", "valueDate": "20-20-20"}, {"valueInteger": 5}),
    ],
)
def test_unusable_bounds_are_warnings(extension: Json, answer: Json) -> None:
    response, questionnaire = everything()
    item(questionnaire, "children")["extension"] = [extension]
    set_answers(response, "children", answer)
    assert [(f.severity, f.message_id) for f in check(response, questionnaire)] == [
        (Severity.WARNING, "questionnaire.bound-unusable")
    ]


@pytest.mark.parametrize(
    "value", ["2020-13-45", "1999-02-29", "2024-01-01T25:00:00Z", "2024-01-01T10:00:00+99:00", "x" * 500]
)
def test_impossible_dates_are_not_compared(value: str) -> None:
    response, questionnaire = everything()
    set_answers(response, "dob", {"valueDate": value})
    assert check(response, questionnaire) == ()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "abc", None, [1]])
def test_odd_numbers_are_not_compared(value: object) -> None:
    response, questionnaire = everything()
    set_answers(response, "weight", {"valueDecimal": value})
    assert check(response, questionnaire) == ()


def test_huge_exponents_compare_without_trouble() -> None:
    response, questionnaire = everything()
    set_answers(response, "weight", {"valueDecimal": "1e999999999"})
    assert [f.message_id for f in check(response, questionnaire)] == ["questionnaire.value-too-large"]
    set_answers(response, "weight", {"valueDecimal": "1e-999999999"})
    assert [f.message_id for f in check(response, questionnaire)] == [
        "questionnaire.value-too-small",
        "questionnaire.too-many-decimals",
    ]


def test_decimal_text_keeps_its_decimal_places() -> None:
    response, questionnaire = everything()
    set_answers(response, "weight", {"valueDecimal": Decimal("72.50")})
    assert [f.message_id for f in check(response, questionnaire)] == ["questionnaire.too-many-decimals"]


def test_invalid_regex_in_the_questionnaire() -> None:
    response, questionnaire = everything()
    item(questionnaire, "name")["extension"] = [{"url": EXT + "regex", "valueString": "([a-z"}]
    assert [(f.severity, f.message_id) for f in check(response, questionnaire)] == [
        (Severity.WARNING, "questionnaire.regex-unusable")
    ]


def test_very_long_answers_are_not_matched_against_a_regex_but_still_measured() -> None:
    response, questionnaire = everything()
    set_answers(response, "name", {"valueString": "7" * 20_001})
    findings = check(response, questionnaire)
    assert [f.message_id for f in findings] == ["questionnaire.too-long"]
    assert len(findings[0].message) < 400  # the answer is clipped in the message


def test_huge_attachment_is_sized_without_decoding() -> None:
    response, questionnaire = everything()
    set_answers(
        response, "photo", {"valueAttachment": {"contentType": "image/png", "data": "QUFB" * 2_000_000}}
    )
    (finding,) = check(response, questionnaire)
    assert finding.message_id == "questionnaire.attachment-too-large"
    assert "6000000 bytes" in finding.message


def test_deep_nesting_stops_with_one_finding() -> None:
    questionnaire = {
        "resourceType": "Questionnaire",
        "item": [{"linkId": "g", "type": "group", "item": [{"linkId": "leaf", "type": "string"}]}],
    }
    node: Json = {"linkId": "g"}
    response = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [node]}
    for _ in range(400):  # every inner "g" is misplaced, so each level is checked against the same group
        child: Json = {"linkId": "g"}
        node["item"] = [child]
        node = child
    findings = check(response, questionnaire)
    assert [f.message_id for f in findings].count("questionnaire.too-deep") == 1
    assert len(findings) < 100


def test_many_items_are_handled() -> None:
    response, questionnaire = everything()
    response["item"].extend({"linkId": f"unknown-{n}"} for n in range(5_000))
    at = position(response, "smoker")
    response["item"][at:at] = [copy.deepcopy(response["item"][at]) for _ in range(5_000)]
    findings = check(response, questionnaire)
    ids = [f.message_id for f in findings]
    assert ids.count("questionnaire.linkid-not-found") == 5_000
    assert ids.count("questionnaire.item-repeated") == 1
    assert "5001 items" in next(f.message for f in findings if f.message_id == "questionnaire.item-repeated")


def test_deep_questionnaire_is_read_without_recursion_trouble() -> None:
    deep: Json = {"linkId": "d0", "type": "group"}
    questionnaire = {"resourceType": "Questionnaire", "item": [deep]}
    for level in range(1, 2_000):
        inner: Json = {"linkId": f"d{level}", "type": "group"}
        deep["item"] = [inner]
        deep = inner
    response = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [{"linkId": "d0"}]}
    assert check(response, questionnaire) == ()


# ---------------------------------------------------------------------------------------------------------
# documentation


def test_every_message_id_is_documented() -> None:
    page = (REPO / "docs" / "questionnaire.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(questionnaire\.[a-z0-9-]+)`", page))
    assert set(MESSAGE_IDS) <= documented, sorted(set(MESSAGE_IDS) - documented)
    assert documented <= set(MESSAGE_IDS), sorted(documented - set(MESSAGE_IDS))
