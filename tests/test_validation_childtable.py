"""Child tables: an object's own keys choose the child rules to visit, and nothing is lost by it."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.context import Context
from conformance.definitions.plan import ElementRule
from conformance.definitions.profiles import Definitions
from conformance.validation import Validator
from conformance.validation.childtable import ChildTable, ChildTables


@pytest.fixture(scope="module")
def definitions(r4_context: Context) -> Definitions:
    return Definitions(r4_context)


def _children(definitions: Definitions, type_code: str) -> list[ElementRule]:
    plan = definitions.type_plan(type_code)
    assert plan is not None
    return plan.root.children


def test_only_named_and_required_rules_are_visited_in_definition_order(definitions: Definitions) -> None:
    table = ChildTable(_children(definitions, "Observation"))
    visit, unknown = table.to_visit(["valueQuantity", "_status", "id", "subject", "colour"])
    names = [rule.name for rule in visit]
    # status and code have a minimum of 1: visited even when absent, to report them missing.
    assert names == ["id", "status", "code", "subject", "value[x]"]
    assert unknown == ["colour"]


def test_a_key_that_looks_like_a_choice_type_visits_the_choice(definitions: Definitions) -> None:
    table = ChildTable(_children(definitions, "Observation"))
    visit, unknown = table.to_visit(["valueWidget"])
    assert "value[x]" in [rule.name for rule in visit]
    assert unknown == ["valueWidget"]


def test_tables_are_kept_per_list_and_never_confused(definitions: Definitions) -> None:
    tables = ChildTables()
    patient, observation = _children(definitions, "Patient"), _children(definitions, "Observation")
    assert tables.of(patient) is tables.of(patient)
    assert tables.of(observation).rules is observation
    assert [rule.name for rule in tables.without_value(_children(definitions, "string"))] == [
        "id",
        "extension",
    ]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # a key no rule names, beside one a rule names only through its `_name` sibling
        (
            {"resourceType": "Patient", "_gender": {"id": "g"}, "colour": "red"},
            ["structure.unknown-property"],
        ),
        # an extension-only primitive is known; its `_name` without the rule is not
        (
            {
                "resourceType": "Patient",
                "_birthDate": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]},
            },
            [],
        ),
        ({"resourceType": "Patient", "_colour": {"id": "c"}}, ["structure.unknown-property"]),
        # a type the choice does not allow is a type error, not an unknown property
        (
            {"resourceType": "Patient", "deceasedString": "yes"},
            ["type.choice.not-allowed"],
        ),
        # two types of one choice
        (
            {"resourceType": "Patient", "deceasedBoolean": True, "deceasedDateTime": "2020"},
            ["cardinality.max", "type.choice.multiple"],
        ),
    ],
)
def test_keys_are_judged_as_by_a_visit_of_every_rule(
    r4_validator: Validator, payload: dict[str, Any], expected: list[str]
) -> None:
    errors = r4_validator.validate(payload).errors
    assert sorted(issue.message_id for issue in errors) == expected


def test_a_required_element_absent_from_the_object_is_still_reported(r4_validator: Validator) -> None:
    outcome = r4_validator.validate({"resourceType": "Observation", "code": {"text": "x"}})
    assert [(issue.message_id, issue.location) for issue in outcome.errors] == [
        ("cardinality.min", "Observation")
    ]
    assert "Observation.status" in outcome.errors[0].message
