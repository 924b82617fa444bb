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
    names = [rule.name for rule, _ in visit]
    # status and code have a minimum of 1: visited even when absent, to report them missing.
    assert names == ["id", "status", "code", "subject", "value[x]"]
    assert unknown == ["colour"]


def test_an_absent_sliced_element_is_visited_only_when_one_of_its_slices_is_required(
    definitions: Definitions,
) -> None:
    name = _children(definitions, "HumanName")
    extension = next(rule for rule in name if rule.name == "extension")
    # a datatype's extensions are sliced by url, with no slice required
    assert extension.slicing is not None and not any(s.min for s in extension.slices)
    visit, _ = ChildTable(name).to_visit(["family"])
    assert [rule.name for rule, _ in visit] == ["family"]
    blood_pressure = definitions.plan("http://hl7.org/fhir/StructureDefinition/bp")
    assert blood_pressure is not None
    visit, _ = ChildTable(blood_pressure.root.children).to_visit(["status"])
    names = [rule.name for rule, _ in visit]
    # each has a required slice (VSCat; SystolicBP, DiastolicBP) though the rule itself may be optional
    assert "category" in names and "component" in names


def test_a_key_that_looks_like_a_choice_type_visits_the_choice(definitions: Definitions) -> None:
    table = ChildTable(_children(definitions, "Observation"))
    visit, unknown = table.to_visit(["valueWidget"])
    assert "value[x]" in [rule.name for rule, _ in visit]
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


def test_a_name_with_two_underscores_is_unknown(r4_validator: Validator) -> None:
    outcome = r4_validator.validate({"resourceType": "Patient", "__birthDate": {"id": "b"}})
    assert [(i.message_id, i.location) for i in outcome.errors] == [
        ("structure.unknown-property", "Patient.__birthDate")
    ]


def test_one_extension_object_at_two_places_is_checked_at_both(r4_validator: Validator) -> None:
    """A caller may put one dict at two places: each place gets its issues (walks share work per place)."""
    wrong = {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueString": "Leeds"}
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "A", "extension": [wrong]}],
        "extension": [wrong],
    }
    places = {
        i.location for i in r4_validator.validate(patient).errors if i.message_id == "type.choice.not-allowed"
    }
    assert places == {"Patient.extension[0].value", "Patient.name[0].extension[0].value"}


def test_answers_kept_per_definition_do_not_grow_with_payloads(r4_context: Context) -> None:
    validator = Validator(r4_context)
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            {"linkId": str(i), "item": [{"linkId": f"{i}.1", "answer": [{"valueString": "x"}]}]}
            for i in range(20)
        ],
    }
    validator.validate(response)
    kept = len(validator.engine.children_memo), len(validator.engine.child_tables._tables)
    for _ in range(5):
        validator.validate(response)
    assert (len(validator.engine.children_memo), len(validator.engine.child_tables._tables)) == kept


def test_an_answer_kept_per_key_set_is_the_answer_worked_out(definitions: Definitions) -> None:
    table = ChildTable(_children(definitions, "Observation"))
    first = table.to_visit({"colour": 1, "status": "final", "valueWidget": 2})
    again = table.to_visit({"colour": 3, "status": "amended", "valueWidget": 4})
    assert again == first
    assert [rule.name for rule, _ in first[0]] == ["status", "code", "value[x]"]
    assert first[1] == ["colour", "valueWidget"]  # in the object's own order


def test_many_key_sets_are_answered_past_those_kept(definitions: Definitions) -> None:
    table = ChildTable(_children(definitions, "Observation"))
    for number in range(500):  # hostile input: every object with keys of its own
        visit, unknown = table.to_visit({f"x{number}": 1, "subject": {}})
        assert [rule.name for rule, _ in visit] == ["status", "code", "subject"]
        assert unknown == [f"x{number}"]
