"""What a value of one (rule, type) needs is decided once, and a check left out is one that could say nothing.

`ValueSteps` stands for asking every family, per value, whether it has anything to check: so a family
it leaves out must be one that finds nothing in any value of that element. These tests hold the walk to
that, on the base definitions' own rules and on values that would fail each check.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from conformance.definitions.plan import Binding, ElementRule, TypeRef
from conformance.validation import Validator
from conformance.validation.report import Loc, Reporter
from conformance.validation.walker import Frame, Walker


def _rule(context_validator: Validator, path: str) -> ElementRule:
    resource_type, _, _ = path.partition(".")
    plan = context_validator.engine.definitions.type_plan(resource_type)
    assert plan is not None
    rule = plan.element(path)
    assert rule is not None
    return rule


def _binding_findings(validator: Validator, rule: ElementRule, type_ref: TypeRef, value: Any) -> int:
    reporter = Reporter()
    walker = Walker(validator.engine, reporter)
    resource = {"resourceType": "Patient"}
    plan = validator.engine.definitions.type_plan("Patient")
    assert plan is not None
    frame = Frame(resource=resource, root=resource, resource_loc=Loc.root("Patient"), scope=None)
    validator.engine.bindings.check_value(walker, value, rule, type_ref, Loc.root("Patient"), plan, frame)
    return len(reporter.found)


def test_the_steps_of_a_rule_and_type_are_made_once(r4_validator: Validator) -> None:
    rule = _rule(r4_validator, "Patient.maritalStatus")
    walker = Walker(r4_validator.engine, Reporter())
    memo = r4_validator.engine.value_steps
    first = memo.of(walker, rule, rule.types[0])
    assert memo.of(walker, rule, rule.types[0]) is first
    assert first.binding and not first.resource and not first.extension and first.datatype is None


def test_a_binding_check_is_left_out_only_where_it_could_find_nothing(r4_validator: Validator) -> None:
    bindings = r4_validator.engine.bindings
    gender = _rule(r4_validator, "Patient.gender")  # required binding: checked
    assert bindings.applies(gender, gender.types[0])
    assert _binding_findings(r4_validator, gender, gender.types[0], "not-a-gender") > 0
    identifier = _rule(r4_validator, "Patient.identifier")  # no binding, but Identifier's own checks
    assert bindings.applies(identifier, identifier.types[0])
    name = _rule(r4_validator, "Patient.name")  # neither
    assert not bindings.applies(name, name.types[0])
    assert _binding_findings(r4_validator, name, name.types[0], {"family": "x", "use": "nope"}) == 0
    assert gender.binding is not None
    example = dataclasses.replace(gender, binding=Binding("example", gender.binding.value_set, None))
    assert not bindings.applies(example, example.types[0])
    assert _binding_findings(r4_validator, example, example.types[0], "not-a-gender") == 0


def test_steps_name_the_checks_of_resources_extensions_and_datatypes(r4_validator: Validator) -> None:
    walker = Walker(r4_validator.engine, Reporter())
    memo = r4_validator.engine.value_steps
    contained = _rule(r4_validator, "Patient.contained")
    assert memo.of(walker, contained, contained.types[0]).resource
    extension = _rule(r4_validator, "Patient.extension")
    assert memo.of(walker, extension, extension.types[0]).extension
    organization = _rule(r4_validator, "Patient.managingOrganization")
    assert memo.of(walker, organization, organization.types[0]).datatype == "Reference"
    photo = _rule(r4_validator, "Patient.photo")
    assert memo.of(walker, photo, photo.types[0]).datatype == "Attachment"
    text = _rule(r4_validator, "Patient.text")
    assert memo.of(walker, text, text.types[0]).datatype == "Narrative"
    div = r4_validator.engine.definitions.type_plan("Narrative")
    assert div is not None
    div_rule = div.element("Narrative.div")
    assert div_rule is not None
    assert memo.of(walker, div_rule, div_rule.types[0]).primitive_invariants  # txt-1, txt-2
    birth = _rule(r4_validator, "Patient.birthDate")
    assert not memo.of(walker, birth, birth.types[0]).primitive_invariants
