"""A resource walked against a profile and its base: the later walk skips what the earlier one covered.

Below the elements a profile unfolds, both walks take their rules from the same datatype definitions, so
the later walk would only repeat issues the report already holds. These tests hold the skip to that: the
issues are those of both walks, an object met at two places is reported at both, and the skip happens.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pytest

from conformance.context import Context
from conformance.definitions.plan import ElementRule
from conformance.validation import ValidationOptions, Validator
from conformance.validation.walker import Walker

BODY_WEIGHT = "http://hl7.org/fhir/StructureDefinition/bodyweight"


def _body_weight(note: list[Any]) -> dict[str, Any]:
    # Only its notes matter here: what the profile requires elsewhere may be missing.
    return {"resourceType": "Observation", "status": "final", "code": {"text": "weight"}, "note": note}


def _problems(validator: Validator, resource: dict[str, Any], profiles: Sequence[str] = ()) -> set[str]:
    outcome = validator.validate(resource, profiles=list(profiles))
    return {f"{issue.severity.value} {issue.location} {issue.message_id}" for issue in outcome.issues}


def test_an_object_shared_by_two_places_is_reported_at_both(r4_validator: Validator) -> None:
    # A library caller may put one dict at two places; each place has its own issues in every walk.
    wrong = {"text": 5, "authorString": ["x"]}
    problems = _problems(r4_validator, _body_weight([wrong, wrong]), [BODY_WEIGHT])
    for index in (0, 1):
        assert f"error Observation.note[{index}].text type.json-type" in problems
        assert f"error Observation.note[{index}].author structure.array-not-allowed" in problems


def test_an_object_shared_with_a_place_the_profile_walk_leaves_is_reported_there(
    r4_validator: Validator,
) -> None:
    # The body weight profile allows only valueQuantity, so its walk goes through the coding in the
    # component but not in valueCodeableConcept: the base walk is the first to meet it there.
    coding = {"system": "http://loinc.org", "code": " bad "}
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "component": [{"code": {"text": "part"}, "valueCodeableConcept": {"coding": [coding]}}],
        "valueCodeableConcept": {"coding": [coding]},
    }
    problems = _problems(r4_validator, observation, [BODY_WEIGHT])
    assert "error Observation.component[0].value.coding[0].code type.code" in problems
    assert "error Observation.value.coding[0].code type.code" in problems


def test_issues_below_what_the_profile_unfolds_are_those_of_the_base_walk(r4_context: Context) -> None:
    # The body weight code implies the profile: without implied profiles the base is walked alone.
    validator = Validator(r4_context, options=ValidationOptions(implied_profiles=False))
    resource = _body_weight([{"text": 5}, {"text": "ok", "authorReference": {"reference": 7}}])
    with_profile = _problems(validator, copy.deepcopy(resource), [BODY_WEIGHT])
    base_only = _problems(validator, copy.deepcopy(resource))
    in_notes = {problem for problem in base_only if ".note[" in problem}
    assert in_notes  # the payload has faults there
    assert {problem for problem in with_profile if ".note[" in problem} == in_notes


@pytest.fixture
def annotation_visits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many objects are visited with Annotation's own child rules: reached, and not skipped."""
    visits: list[int] = []
    real_object, real_walked_before = Walker.element_object, Walker._walked_before

    def annotation(rules: list[ElementRule]) -> bool:
        return any(rule.path == "Annotation.text" for rule in rules)

    def counting_object(
        self: Walker, obj: Any, rule: ElementRule, type_ref: Any, *rest: Any, **kw: Any
    ) -> None:
        children = kw.get("children") or self.children_of(rule, type_ref, rest[1])[0]
        if annotation(children):
            visits.append(1)
        real_object(self, obj, rule, type_ref, *rest, **kw)

    def counting_walked_before(self: Walker, obj: Any, children: list[ElementRule], *rest: Any) -> bool:
        skipped = real_walked_before(self, obj, children, *rest)
        if skipped and annotation(children):
            visits.pop()
        return skipped

    monkeypatch.setattr(Walker, "element_object", counting_object)
    monkeypatch.setattr(Walker, "_walked_before", counting_walked_before)
    return visits


def test_the_base_walk_skips_a_subtree_the_profile_walk_covered(
    r4_validator: Validator, annotation_visits: list[int]
) -> None:
    r4_validator.validate(_body_weight([{"text": "a"}, {"text": "b"}]), profiles=[BODY_WEIGHT])
    assert len(annotation_visits) == 2  # each note once, in the profile walk; not again in the base walk


def test_a_resource_walked_once_is_walked_once(r4_context: Context, annotation_visits: list[int]) -> None:
    plain = Validator(r4_context, options=ValidationOptions(implied_profiles=False))
    plain.validate(_body_weight([{"text": "a"}, {"text": "b"}]))
    assert len(annotation_visits) == 2


def test_a_resource_shared_by_two_places_is_walked_at_both(r4_validator: Validator) -> None:
    # One dict a caller put at two places inside a resource walked against a profile (so walked twice).
    patient = {"resourceType": "Patient", "id": "p", "gender": 5}
    observation = {**_body_weight([{"text": "a"}]), "contained": [patient, patient]}
    problems = _problems(r4_validator, observation, [BODY_WEIGHT])
    for index in (0, 1):
        assert f"error Observation.contained[{index}].gender type.json-type" in problems
