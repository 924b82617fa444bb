"""A later walk leaves an element to an earlier walk only when that cannot change what is reported.

`validation/coverage.py` decides, from the definitions, when a clean check of an element by one rule implies
that another rule finds nothing there either; the walker then skips the later check. These tests hold the
relation to what it claims on rules changed one way at a time, and hold the whole mechanism to identical
output: every UK Core example and many single-change variants of each give the same issues, in the same
order, with the skip and without it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from conformance.context import Context
from conformance.definitions.plan import Binding, Constraint, ElementRule, Plan
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator
from conformance.validation.coverage import Coverage
from conformance.validation.report import Reporter
from conformance.validation.walker import Walker
from example_variants import UKCORE, example_cases, issues
from profile_support import core_copy


def _patient_rule(validator: Validator, name: str) -> tuple[ElementRule, Plan]:
    plan = validator.engine.definitions.type_plan("Patient")
    assert plan is not None
    rule = plan.root.child(name)
    assert rule is not None
    return rule, plan


def _covers(validator: Validator, earlier: tuple[ElementRule, Plan], later: tuple[ElementRule, Plan]) -> bool:
    return Coverage().covers(Walker(validator.engine, Reporter()), earlier, later)


def test_a_rule_covers_itself_and_a_stricter_copy(r4_validator: Validator) -> None:
    gender, plan = _patient_rule(r4_validator, "gender")
    assert _covers(r4_validator, (gender, plan), (gender, plan))
    required = dataclasses.replace(gender, min=1)
    assert _covers(r4_validator, (required, plan), (gender, plan))
    assert not _covers(r4_validator, (gender, plan), (required, plan))  # the later one asks for more


@pytest.mark.parametrize(
    "change",
    [
        {"max": None},  # a wider maximum than the later rule's 1
        {"binding": Binding("example", "http://hl7.org/fhir/ValueSet/administrative-gender", None)},
        {"binding": Binding("required", "http://example.org/other", None)},
        {"repeats": True},
    ],
    ids=["wider-max", "weaker-binding", "other-value-set", "array"],
)
def test_an_earlier_rule_that_checks_less_covers_nothing(
    r4_validator: Validator, change: dict[str, Any]
) -> None:
    gender, plan = _patient_rule(r4_validator, "gender")
    assert gender.binding is not None and gender.binding.strength == "required"
    looser = dataclasses.replace(gender, **change)
    assert not _covers(r4_validator, (looser, plan), (gender, plan))


def test_a_later_rule_with_its_own_fixed_value_pattern_or_regex_is_not_covered(
    r4_validator: Validator,
) -> None:
    birth, plan = _patient_rule(r4_validator, "birthDate")
    for change in (
        {"fixed": ("fixedDate", "2000-01-01")},
        {"pattern": ("patternDate", "2000")},
        {"regex": "2.*"},
    ):
        stricter = dataclasses.replace(birth, **change)
        assert not _covers(r4_validator, (birth, plan), (stricter, plan))
        assert _covers(r4_validator, (stricter, plan), (birth, plan))


def test_an_invariant_only_the_later_rule_has_below_the_element_stops_the_cover(
    r4_validator: Validator,
) -> None:
    # Patient.contact is a backbone element: its children are compared one by one, down the tree.
    contact, plan = _patient_rule(r4_validator, "contact")
    name = contact.child("name")
    assert name is not None
    extra = Constraint("test-1", "error", "a family name", "family.exists()", None, False)
    stricter_name = dataclasses.replace(name, constraints=(*name.constraints, extra))
    stricter = dataclasses.replace(
        contact, children=[stricter_name if child is name else child for child in contact.children]
    )
    assert _covers(r4_validator, (stricter, plan), (contact, plan))
    assert not _covers(r4_validator, (contact, plan), (stricter, plan))
    without_pat_1 = dataclasses.replace(contact, constraints=())  # the earlier rule evaluates less
    assert not _covers(r4_validator, (without_pat_1, plan), (contact, plan))


def test_a_resource_or_reference_to_other_targets_is_never_covered(r4_validator: Validator) -> None:
    contained, plan = _patient_rule(r4_validator, "contained")
    assert not _covers(r4_validator, (contained, plan), (contained, dataclasses.replace(plan)))
    organization, plan = _patient_rule(r4_validator, "managingOrganization")
    other = dataclasses.replace(
        organization, types=(dataclasses.replace(organization.types[0], target_profiles=("http://x/Y",)),)
    )
    assert not _covers(r4_validator, (other, plan), (organization, plan))


# ---------------------------------------------------------------------------------- the whole mechanism


@pytest.fixture(scope="module")
def ukcore_validator(shared_settings: Settings) -> Validator:
    return Validator(Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE]))


@pytest.mark.shared
def test_every_issue_is_the_same_with_and_without_leaving_elements_to_an_earlier_walk(
    ukcore_validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = example_cases()
    skips = 0
    real_covers = Coverage.covers

    def counting_covers(self: Coverage, *args: Any) -> bool:
        nonlocal skips
        answer = real_covers(self, *args)
        skips += answer
        return answer

    monkeypatch.setattr(Coverage, "covers", counting_covers)
    with_skip = {name: issues(ukcore_validator, payload, profile) for name, payload, profile in cases}
    assert skips > len(cases)  # the mechanism is at work: several elements per resource on average
    monkeypatch.setattr(Coverage, "covers", lambda self, *args: False)
    without = {name: issues(ukcore_validator, payload, profile) for name, payload, profile in cases}
    differing = [name for name in with_skip if with_skip[name] != without[name]]
    assert len(cases) > 10_000 and not differing, differing[:5]


def _lax_patient_profile(context: Context) -> dict[str, Any]:
    """A hand-made Patient snapshot that checks less than its base: gender's binding an example, pat-1 gone
    from contact."""
    profile = core_copy(context, "Patient", "patient-lax", "PatientLax")
    for element in profile["snapshot"]["element"]:
        if element["path"] == "Patient.gender":
            element["binding"] = {**element["binding"], "strength": "example"}
        if element["path"] == "Patient.contact":
            element["constraint"] = [c for c in element["constraint"] if c["key"] != "pat-1"]
    return profile


@pytest.mark.shared
def test_what_a_lax_profile_leaves_out_the_base_walk_still_reports(shared_settings: Settings) -> None:
    lax = _lax_patient_profile(Context.build(shared_settings, FhirVersion.R4))
    validator = Validator(Context.build(shared_settings, FhirVersion.R4, extra_resources=[lax]))
    patient = {
        "resourceType": "Patient",
        "gender": "bogus",
        "contact": [{"gender": "male"}],
        "name": [{"family": "A"}],
    }
    base = {(i.message_id, i.location, i.constraint) for i in validator.validate(patient).errors}
    assert ("invariant.failed", "Patient.contact[0]", "pat-1") in base
    assert ("binding.required.not-in-valueset", "Patient.gender", None) in base
    profiled = {
        (i.message_id, i.location, i.constraint)
        for i in validator.validate(patient, profiles=[lax["url"]]).errors
    }
    assert base <= profiled
