"""Hypothesis strategies over the project's test profiles (fixtures/validation/profiles).

Every generated instance must validate with no errors; the profiles' own rules (cardinality, fixed and
pattern values, slices, choice types, reference targets, bindings) must show in what is generated; and
each single-defect variant must give the message id it is labelled with.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from conformance.context import Context
from conformance.errors import UsageError
from conformance.terminology import nhs_number_problem
from conformance.testing.strategies import Defect, Options, defects, resources, single_defects, validator_for
from conformance.validation import Validator

PROFILES = Path(__file__).resolve().parents[1] / "fixtures" / "validation" / "profiles"
EXAMPLE = "http://example.org/fhir/StructureDefinition/"
TEST_PROFILES = sorted(
    path.name.removeprefix("StructureDefinition-").removesuffix(".json")
    for path in PROFILES.glob("StructureDefinition-test-*.json")
)
BOUNDED = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def _errors(validator: Validator, instance: dict[str, Any], url: str) -> list[str]:
    outcome = validator.validate(instance, profiles=[url])
    return [f"{i.message_id} @ {i.location}: {i.message}" for i in outcome.errors]


def test_the_test_profiles_are_all_found() -> None:
    assert len(TEST_PROFILES) >= 15, TEST_PROFILES


@pytest.mark.parametrize("name", TEST_PROFILES)
def test_generated_instances_have_no_errors(name: str, r4_validator: Validator) -> None:
    url = EXAMPLE + name

    @BOUNDED
    @given(resources(url, r4_validator))
    def check(instance: dict[str, Any]) -> None:
        assert _errors(r4_validator, instance, url) == []

    check()


@pytest.mark.parametrize("name", TEST_PROFILES)
def test_each_single_defect_gives_its_message_id(name: str, r4_validator: Validator) -> None:
    url = EXAMPLE + name
    missed: list[str] = []

    @settings(BOUNDED, max_examples=2)
    @given(resources(url, r4_validator))
    def check(instance: dict[str, Any]) -> None:
        original = copy.deepcopy(instance)
        for defect in defects(instance, url, r4_validator):
            found = {
                issue.message_id for issue in r4_validator.validate(defect.instance, profiles=[url]).errors
            }
            if defect.message_id not in found:
                missed.append(
                    f"{defect.kind} at {defect.location}: wanted {defect.message_id}, got {sorted(found)}"
                )
        assert instance == original  # variants are copies

    check()
    assert missed == []


def test_fixed_and_pattern_values_are_copied(r4_validator: Validator) -> None:
    url = EXAMPLE + "test-observation-fixed"

    @BOUNDED
    @given(resources(url, r4_validator))
    def check(observation: dict[str, Any]) -> None:
        assert observation["status"] == "final"
        assert {"system": "http://loinc.org", "code": "60832-3"} in observation["code"]["coding"]
        if "method" in observation:
            assert observation["method"] == {"text": "oral"}
        if "valueQuantity" in observation:
            quantity = observation["valueQuantity"]
            assert (quantity["system"], quantity["code"]) == ("http://unitsofmeasure.org", "Cel")

    check()


def test_slices_get_their_items_and_identifier_rules_hold(r4_validator: Validator) -> None:
    url = EXAMPLE + "test-patient-identifier-slices"

    @BOUNDED
    @given(resources(url, r4_validator))
    def check(patient: dict[str, Any]) -> None:
        nhs = [i for i in patient["identifier"] if i.get("system") == "https://fhir.nhs.uk/Id/nhs-number"]
        assert len(nhs) == 1
        assert nhs_number_problem(nhs[0]["value"]) is None
        assert len([i for i in patient["identifier"] if i.get("system") == "urn:example:local-id"]) <= 1

    check()


def test_choice_types_and_reference_targets_follow_the_profile(r4_validator: Validator) -> None:
    url = EXAMPLE + "test-observation-value"

    @settings(BOUNDED, max_examples=25)
    @given(resources(url, r4_validator))
    def check(observation: dict[str, Any]) -> None:
        assert {key for key in observation if key.startswith("value")} <= {"valueQuantity", "valueString"}
        assert observation["subject"]["reference"].startswith("Patient/")

    check()
    search = settings(BOUNDED, max_examples=300, phases=[Phase.generate])  # the first found will do
    for wanted in ("valueQuantity", "valueString"):  # each allowed type can be drawn
        assert wanted in find(resources(url, r4_validator), lambda o, key=wanted: key in o, settings=search)


def test_required_bindings_take_codes_of_their_value_set(r4_validator: Validator) -> None:
    url = EXAMPLE + "test-patient-cardinality"

    @BOUNDED
    @given(resources(url, r4_validator))
    def check(patient: dict[str, Any]) -> None:
        assert patient["gender"] in {"male", "female", "other", "unknown"}
        assert "birthDate" not in patient  # max 0
        assert len(patient["name"]) == 1 and patient["name"][0]["family"]
        assert 1 <= len(patient["identifier"]) <= 2

    check()


def test_instances_shrink_to_the_required_elements(r4_validator: Validator) -> None:
    url = EXAMPLE + "test-patient-cardinality"
    smallest = find(resources(url, r4_validator), lambda _: True, settings=settings(BOUNDED, max_examples=20))
    assert sorted(smallest) == ["gender", "identifier", "meta", "name", "resourceType"]
    assert len(smallest["identifier"]) == 1 and list(smallest["name"][0]) == ["family"]


def test_options_change_what_is_generated(r4_validator: Validator) -> None:
    url = EXAMPLE + "test-observation-value"
    bare = Options(declare_profile=False, optional_odds=0)

    @BOUNDED
    @given(resources(url, r4_validator, options=bare))
    def check(observation: dict[str, Any]) -> None:
        assert "meta" not in observation
        assert sorted(observation) == ["code", "resourceType", "status", "subject"]

    check()


def test_single_defects_draws_labelled_variants(r4_validator: Validator) -> None:
    url = EXAMPLE + "test-patient-cardinality"
    patient = {
        "resourceType": "Patient",
        "identifier": [{"value": "1"}],
        "name": [{"family": "Smith"}],
        "gender": "female",
    }
    assert _errors(r4_validator, patient, url) == []
    kinds = {(d.kind, d.message_id) for d in defects(patient, url, r4_validator)}
    assert {
        ("remove-required", "cardinality.min"),
        ("prohibited", "cardinality.max"),
        ("code-not-in-value-set", "binding.required.not-in-valueset"),
        ("bad-lexical", "type.code"),
        ("unknown-property", "structure.unknown-property"),
    } <= kinds

    @BOUNDED
    @given(single_defects(patient, url, r4_validator))
    def check(defect: Defect) -> None:
        found = {i.message_id for i in r4_validator.validate(defect.instance, profiles=[url]).errors}
        assert defect.message_id in found, defect

    check()


def test_unknown_or_non_resource_profiles_are_usage_errors(r4_validator: Validator) -> None:
    with pytest.raises(UsageError, match="not in the loaded packages"):
        resources("http://example.org/fhir/StructureDefinition/nothing", r4_validator)
    with pytest.raises(UsageError, match="complex-type"):
        resources(EXAMPLE + "ext-favourite-colour", r4_validator)


def test_generated_instances_are_plain_json(r4_validator: Validator) -> None:
    @BOUNDED
    @given(st.sampled_from(TEST_PROFILES).flatmap(lambda name: resources(EXAMPLE + name, r4_validator)))
    def check(instance: dict[str, Any]) -> None:
        assert json.loads(json.dumps(instance)) == instance

    check()


def test_a_context_can_stand_for_its_validator(r4_context: Context) -> None:
    assert validator_for(r4_context) is validator_for(r4_context)  # built once per Context
    url = EXAMPLE + "test-patient-named"

    @settings(BOUNDED, max_examples=2)
    @given(resources(url, r4_context))
    def check(patient: dict[str, Any]) -> None:
        assert _errors(validator_for(r4_context), patient, url) == []

    check()
