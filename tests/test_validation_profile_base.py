"""Under a profile, every rule of the base still applies.

A profile's snapshot is meant to hold every rule of its base, but generated and hand-made snapshots do not
always, and a profile that unfolds an element's children (UKCore-Patient's telecom) leaves out the
invariants of the element's type (cpt-2 lives on ContactPoint, not on Patient.telecom). The properties:
the issues found under a profile include every issue of the base validation (a failed invariant once,
whichever definition holds it), and a single defect is reported with and without the profile.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue, Outcome
from conformance.settings import Settings
from conformance.validation import Validator
from profile_support import core_copy

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
EXAMPLES = SHARED / "fhir-packages" / "_examples" / "ukcore-stu2"
PROFILE_MAP = SHARED / "fhir-packages" / "_examples" / "ukcore-stu2-profiles.json"
UKCORE = "fhir.r4.ukcore.stu2#2.0.2"
UKCORE_PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
CONTACT_POINT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})

RuleKey = tuple[str, str, str, str | None]
Json = dict[str, Any]


def _rules(outcome: Outcome) -> set[RuleKey]:
    """What makes two issues the same: the rule (message id, constraint) at the same location."""
    return {_rule(issue) for issue in outcome.issues}


def _rule(issue: Issue) -> RuleKey:
    return (issue.severity.value, issue.location, issue.message_id, issue.constraint)


def _failed(outcome: Outcome, key: str) -> list[str]:
    return sorted(
        i.location for i in outcome.errors if i.message_id == "invariant.failed" and i.constraint == key
    )


def _without_declared_profiles(resource: Json) -> Json:
    """The resource as a base validation sees it: no meta.profile on the resource itself."""
    bare = copy.deepcopy(resource)
    meta = bare.get("meta")
    if isinstance(meta, dict):
        meta.pop("profile", None)
        if not meta:
            del bare["meta"]
    return bare


# ---------------------------------------------------------------- single defects of datatype invariants


def _objects(node: Any) -> Iterator[Json]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def _break_first(
    resource: Json, matches: Callable[[Json], bool], damage: Callable[[Json], None]
) -> Json | None:
    broken = copy.deepcopy(resource)
    for obj in _objects(broken):
        if matches(obj):
            damage(obj)
            return broken
    return None


def _contact_point(obj: Json) -> bool:
    # without `_system`: extensions on the system would still make it exist
    return (
        obj.get("system") in CONTACT_POINT_SYSTEMS
        and isinstance(obj.get("value"), str)
        and "_system" not in obj
    )


def _period(obj: Json) -> bool:
    return isinstance(obj.get("start"), str) and set(obj) <= {"start", "end", "id", "extension"}


def _ucum_quantity(obj: Json) -> bool:
    return obj.get("system") == "http://unitsofmeasure.org" and "code" in obj and "_system" not in obj


def _timing_repeat(obj: Json) -> bool:
    return isinstance(obj.get("period"), int | float) and "periodUnit" in obj and "_periodUnit" not in obj


def _attachment(obj: Json) -> bool:
    return isinstance(obj.get("data"), str) and "contentType" in obj and "_contentType" not in obj


def _drop(key: str) -> Callable[[Json], None]:
    return lambda obj: obj.pop(key)


def _end_before_start(obj: Json) -> None:
    obj["start"], obj["end"] = "2020-01-02", "2020-01-01"


# constraint key -> (which object to break, how): each a datatype invariant of FHIR R4.
# cpt-2: a ContactPoint system is required if a value is provided; per-1: a Period's start SHALL be lower
# than its end; qty-3: a Quantity with a unit code SHALL have a system; tim-2: a Timing.repeat with a
# period needs period units; att-1: an Attachment with data SHALL have a contentType.
DEFECTS: dict[str, tuple[Callable[[Json], bool], Callable[[Json], None]]] = {
    "cpt-2": (_contact_point, _drop("system")),
    "per-1": (_period, _end_before_start),
    "qty-3": (_ucum_quantity, _drop("system")),
    "tim-2": (_timing_repeat, _drop("periodUnit")),
    "att-1": (_attachment, _drop("contentType")),
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def ukcore(shared_settings: Settings) -> Validator:
    return Validator(Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE]))


@pytest.fixture(scope="module")
def profiles() -> dict[str, str | None]:
    if not PROFILE_MAP.is_file():
        pytest.skip(f"needs {PROFILE_MAP}")
    mapping: dict[str, str | None] = json.loads(PROFILE_MAP.read_text(encoding="utf-8"))
    return mapping


def _example_params() -> list[Any]:
    names = sorted(path.name for path in EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []
    if not names:
        return [pytest.param("", marks=pytest.mark.skip(reason=f"needs the UK Core examples at {EXAMPLES}"))]
    return [pytest.param(name, id=name.removesuffix(".json")) for name in names]


def _both(validator: Validator, resource: Json, profile: str) -> tuple[Outcome, Outcome]:
    bare = _without_declared_profiles(resource)
    return validator.validate(bare), validator.validate(bare, profiles=[profile])


# ---------------------------------------------------------------- properties over the UK Core examples


@pytest.mark.shared
@pytest.mark.parametrize("name", _example_params())
def test_issues_under_the_profile_include_the_base_issues(
    ukcore: Validator, profiles: dict[str, str | None], name: str
) -> None:
    profile = profiles[name]
    if profile is None:
        pytest.skip(f"{name} has no profile of its own")
    resource = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    base, profiled = _both(ukcore, resource, profile)
    assert _rules(base) - _rules(profiled) == set()
    for key, (matches, damage) in DEFECTS.items():
        broken = _break_first(resource, matches, damage)
        if broken is None:
            continue
        base, profiled = _both(ukcore, broken, profile)
        assert _rules(base) - _rules(profiled) == set(), key
        assert _failed(base, key) != [], f"{key} not reported without the profile"
        assert _failed(profiled, key) == _failed(base, key), f"{key} not reported once under {profile}"


@pytest.mark.shared
def test_every_defect_kind_finds_an_example_to_break(profiles: dict[str, str | None]) -> None:
    # the property above must not pass by finding nothing to break
    resources = [
        json.loads((EXAMPLES / name).read_text(encoding="utf-8")) for name in profiles if profiles[name]
    ]
    for key, (matches, damage) in DEFECTS.items():
        assert any(_break_first(r, matches, damage) is not None for r in resources), key


# ---------------------------------------------------------------- targeted


PATIENT: Json = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"family": "Smith"}],
    "telecom": [{"value": "01632 960000"}],
}


@pytest.mark.shared
def test_cpt2_is_reported_under_ukcore_patient(ukcore: Validator) -> None:
    base = ukcore.validate(PATIENT)
    profiled = ukcore.validate(PATIENT, profiles=[UKCORE_PATIENT])
    assert _failed(base, "cpt-2") == _failed(profiled, "cpt-2") == ["Patient.telecom[0]"]


@pytest.mark.shared
def test_datatype_invariant_of_a_nested_type_is_reported_under_the_profile(ukcore: Validator) -> None:
    patient = {
        **PATIENT,
        "telecom": [{"system": "phone", "value": "01632 960000", "period": {"start": "2021", "end": "2020"}}],
        "contact": [{"name": {"family": "Jones"}, "telecom": [{"value": "x"}]}],
    }
    profiled = ukcore.validate(patient, profiles=[UKCORE_PATIENT])
    assert _failed(profiled, "per-1") == ["Patient.telecom[0].period"]
    assert _failed(profiled, "cpt-2") == ["Patient.contact[0].telecom[0]"]


@pytest.mark.shared
def test_type_invariants_apply_in_an_element_the_profile_unfolds(r4_validator: Validator) -> None:
    # test-patient-named unfolds Patient.name (HumanName) to require family; a Period inside it keeps per-1
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "A", "period": {"start": "2021", "end": "2020"}}],
    }
    profiled = r4_validator.validate(
        patient, profiles=["http://example.org/fhir/StructureDefinition/test-patient-named"]
    )
    assert _failed(profiled, "per-1") == ["Patient.name[0].period"]


def _observation_profile_missing_base_rules(context: Context) -> Json:
    """A hand-made snapshot that dropped rules of its base: status optional, obs-6 gone."""
    profile = core_copy(context, "Observation", "observation-lax", "ObservationLax")
    for element in profile["snapshot"]["element"]:
        if element["path"] == "Observation.status":
            element["min"] = 0
        if element["path"] == "Observation":
            element["constraint"] = [c for c in element["constraint"] if c["key"] != "obs-6"]
    return profile


@pytest.mark.shared
def test_base_rules_a_faulty_profile_snapshot_dropped_still_apply(shared_settings: Settings) -> None:
    core_only = Context.build(shared_settings, FhirVersion.R4)
    lax = _observation_profile_missing_base_rules(core_only)
    validator = Validator(Context.build(shared_settings, FhirVersion.R4, extra_resources=[lax]))
    observation = {
        "resourceType": "Observation",
        "code": {"text": "weight"},
        "valueString": "heavy",
        "dataAbsentReason": {"text": "not asked"},
    }
    base = validator.validate(observation)
    profiled = validator.validate(observation, profiles=[lax["url"]])
    assert sorted(i.message_id for i in profiled.errors) == sorted(i.message_id for i in base.errors)
    assert sorted(i.message_id for i in base.errors) == ["cardinality.min", "invariant.failed"]
    assert _failed(profiled, "obs-6") == ["Observation"]


@pytest.mark.shared
def test_a_valid_example_stays_valid_when_its_profile_is_named(ukcore: Validator) -> None:
    patient = {**PATIENT, "telecom": [{"system": "phone", "value": "01632 960000"}]}
    assert ukcore.validate(patient).errors == ()
    assert ukcore.validate(patient, profiles=[UKCORE_PATIENT]).errors == ()
