"""Child programs (validation/programs.py) report exactly what the interpreter, `Walker.child`, reports.

A program decides once per child rule what a value of it needs, and hands an element to the interpreter as
soon as anything about it might be reported. These tests hold it to that: which rules get a program; the
same issues in the same order with programs and with the interpreter alone, on every UK Core example, on
single-change variants of each (the generic ones, and changes aimed at what a program checks before it
hands over: a `_name` sibling, an array where one value belongs and the reverse, a second type of a choice,
a string of the wrong form, an empty object) and on a sample of the specification's own examples; and that
the programs do the work (the interpreter sees a fraction of the visits).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Context
from conformance.definitions.plan import ElementRule
from conformance.definitions.profiles import Definitions
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator
from conformance.validation.childtable import ChildTables
from conformance.validation.programs import program_for
from conformance.validation.walker import Walker
from example_variants import UKCORE, CallCount, Case, example_cases, examples, issues, leaf_paths
from example_variants import UKCORE_EXAMPLES as EXAMPLES
from specification_support import is_example, json_members

SPECIFICATION_EXAMPLES = (
    Path(__file__).resolve().parents[1].parent / "shared" / "fhir-packages" / "hl7.fhir.r4.examples#4.0.1.tgz"
)
ANOTHER_EXTENSION = {
    "extension": [{"url": "http://example.org/fhir/StructureDefinition/x", "valueString": "y"}]
}


def _validators(context: Context) -> tuple[Validator, Validator]:
    """Two validators over one context: with programs, and with the interpreter alone."""
    interpreted = Validator(context)
    interpreted.engine.child_tables = ChildTables()  # made without programs: every rule is interpreted
    return Validator(context), interpreted


def _rule(definitions: Definitions, type_code: str, name: str) -> ElementRule:
    plan = definitions.type_plan(type_code)
    assert plan is not None
    return next(rule for rule in plan.root.children if rule.name == name)


def test_which_rules_get_a_program(r4_validator: Validator) -> None:
    engine = r4_validator.engine
    definitions = engine.definitions
    for type_code, name in (
        ("Patient", "gender"),
        ("Patient", "name"),
        ("HumanName", "given"),
        ("Observation", "value[x]"),
    ):
        assert program_for(engine, _rule(definitions, type_code, name)) is not None, name
    # sliced by url, with no slices (every datatype's extensions): nothing is checked by slicing
    assert program_for(engine, _rule(definitions, "HumanName", "extension")) is not None
    # with slices: the interpreter's
    blood_pressure = definitions.plan("http://hl7.org/fhir/StructureDefinition/bp")
    assert blood_pressure is not None
    component = next(rule for rule in blood_pressure.root.children if rule.name == "component")
    assert program_for(engine, component) is None


def _aimed(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Changes aimed at the checks a program makes before it hands an element over, one at a time."""
    paths = [path for path in leaf_paths(resource) if path != ("resourceType",) and isinstance(path[-1], str)]
    for path in paths[:: max(1, len(paths) // 10)]:
        for change in (_sibling, _wrapped, _second_type, _wrong_form, _emptied):
            variant = copy.deepcopy(resource)
            holder = variant
            for step in path[:-1]:
                holder = holder[step]
            if change(holder, path[-1]):
                yield variant


def _sibling(holder: dict[str, Any], key: str) -> bool:
    holder[f"_{key}"] = copy.deepcopy(ANOTHER_EXTENSION)
    return True


def _wrapped(holder: dict[str, Any], key: str) -> bool:
    value = holder[key]
    holder[key] = value[0] if isinstance(value, list) and len(value) == 1 else [value]
    return True


def _second_type(holder: dict[str, Any], key: str) -> bool:
    for suffix in ("Quantity", "String", "DateTime", "CodeableConcept", "Boolean", "Period", "Reference"):
        head = key[: len(key) - len(suffix)]
        if key.endswith(suffix) and head and key != head + "Boolean":
            holder[head + "Boolean"] = True  # another type of the same choice, or one it does not allow
            return True
    return False


def _wrong_form(holder: dict[str, Any], key: str) -> bool:
    value = holder[key]
    if isinstance(value, str):
        holder[key] = f" {value}\t"
    elif isinstance(value, list) and value and isinstance(value[0], str):
        value.append(f" {value[0]} ")
    elif isinstance(value, bool):
        holder[key] = "true"  # a boolean as a string
    elif isinstance(value, int):
        holder[key] = -value - 1  # below the range of a positiveInt or an unsignedInt
    else:
        return False
    return True


def _emptied(holder: dict[str, Any], key: str) -> bool:
    value = holder[key]
    if isinstance(value, dict):
        holder[key] = {}
    elif isinstance(value, list):
        holder[key] = value * 3  # past a maximum, where there is one
    else:
        return False
    return True


def _same_reports(cases: list[Case], validators: tuple[Validator, Validator]) -> list[str]:
    with_programs, interpreted = validators
    return [
        name
        for name, payload, profile in cases
        if issues(with_programs, payload, profile) != issues(interpreted, payload, profile)
    ]


@pytest.mark.shared
def test_every_issue_is_the_same_with_programs_and_with_the_interpreter(shared_settings: Settings) -> None:
    cases = example_cases()
    for name, profile in examples():
        resource = json.loads((EXAMPLES / name).read_text())
        cases.extend((f"{name} aimed {n}", variant, profile) for n, variant in enumerate(_aimed(resource)))
    validators = _validators(Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE]))
    differing = _same_reports(cases, validators)
    assert len(cases) > 15_000 and not differing, differing[:5]


@pytest.mark.shared
def test_the_specification_examples_are_reported_alike(shared_settings: Settings) -> None:
    if not SPECIFICATION_EXAMPLES.is_file():
        pytest.skip("../shared/fhir-packages/hl7.fhir.r4.examples#4.0.1.tgz is not beside the project")
    # the smaller ones (a few Bundles of definitions run to megabytes), every other one
    members = itertools.islice(json_members(SPECIFICATION_EXAMPLES, 50_000), 0, None, 2)
    cases: list[Case] = [(name, payload, None) for name, payload in members if is_example(payload)]
    differing = _same_reports(cases, _validators(Context.build(shared_settings, FhirVersion.R4)))
    assert len(cases) > 250 and not differing, differing[:5]


def test_the_programs_do_the_work(r4_context: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    interpreted_visits = CallCount(monkeypatch, Walker, "child")
    with_programs, interpreted = _validators(r4_context)
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "active": True,
        "name": [{"family": "Chalmers", "given": ["Peter", "James"]}],
        "gender": "male",
        "birthDate": "1974-12-25",
        "telecom": [{"system": "phone", "value": "(03) 5555 6473", "use": "work"}],
    }
    interpreted.validate(patient)
    all_visits = interpreted_visits.reset()
    with_programs.validate(patient)
    assert all_visits >= 10 and interpreted_visits.calls <= all_visits // 4
