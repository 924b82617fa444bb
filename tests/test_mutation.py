"""Mutation harness: single defects in real examples, validated with and without their profile.

Every UK Core STU2 example (with the profile it is published for) and a deterministic sample of the FHIR R4
specification's domain examples (two per resource type and every one claiming a profile; with the profile
it claims, else its type's core definition) is changed in one place at a time
(`conformance.testing._mutations`): structure, cardinality, primitive format, required binding,
fixed/pattern value, datatype invariant, reference target type, slicing and extension defects, each
placed where the StructureDefinitions say the rule applies. Each variant is validated twice, naming
the profile and naming none (its `meta.profile` claims removed), and must show:

- the defect reported under the profile, with its message id (and invariant key) at or around its place;
- the defect reported without the profile too when the base definition holds the same rule (read from
  the definitions, never from a list of examples);
- every error of the base validation also reported under the profile (same message id and location).

And an example the base finds valid stays valid when its profile is named. Nothing is excused here: a
defect the engine misses fails its example's test, with the list of misses. docs/mutation.md has the
figures.
"""

from __future__ import annotations

import copy
import json
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from conformance.context import Context
from conformance.definitions.plan import Plan
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue, Outcome
from conformance.settings import Settings
from conformance.testing._defects import Defect, DefectMaker, Label, eligible
from conformance.testing._generate import Codes
from conformance.testing._mutations import FAMILIES, Mutator, spread
from conformance.testing._shapes import Shapes
from conformance.testing.strategies import resources
from conformance.validation import Validator
from specification_support import SPECIFICATION_CONTENT_TYPES

pytestmark = pytest.mark.shared

PACKAGES = Path(__file__).resolve().parents[1].parent / "shared" / "fhir-packages"
UKCORE_EXAMPLES = PACKAGES / "_examples" / "ukcore-stu2"
UKCORE_PROFILES = PACKAGES / "_examples" / "ukcore-stu2-profiles.json"
R4_EXAMPLES = PACKAGES / "hl7.fhir.r4.examples#4.0.1.tgz"
UKCORE = "fhir.r4.ukcore.stu2#2.0.2"
CORE = "http://hl7.org/fhir/StructureDefinition/"
UK = "https://fhir.hl7.org.uk/StructureDefinition/"
PER_KIND = 3
"""Defects of one kind made per example (spread over the candidates), so the harness runs in minutes."""
PER_TYPE = 2
"""Specification examples taken per resource type (besides those that claim a profile)."""

DEFINITIONAL = SPECIFICATION_CONTENT_TYPES


@dataclass(frozen=True)
class Case:
    name: str
    instance: dict[str, Any]
    profile: str


# ---------------------------------------------------------------- the examples


def _ukcore_names() -> list[str]:
    return sorted(path.name for path in UKCORE_EXAMPLES.glob("*.json")) if UKCORE_EXAMPLES.is_dir() else []


def _r4_examples() -> dict[str, dict[str, Any]]:
    """A deterministic sample of the specification's domain examples, by file name without `.json`.

    The first PER_TYPE examples of each resource type (by file name), and every example that claims a
    profile in `meta.profile` (the vital signs ones), read in one pass over the archive.
    """
    if not R4_EXAMPLES.is_file():
        return {}
    every: dict[str, dict[str, Any]] = {}
    with tarfile.open(R4_EXAMPLES) as archive:
        for member in archive:
            stem = member.name.removeprefix("package/").removesuffix(".json")
            resource_type = stem.split("-", 1)[0]
            named = member.name.endswith(".json") and "/" not in stem and "-" in stem
            if not named or not resource_type[:1].isupper() or resource_type in DEFINITIONAL:
                continue
            extracted = archive.extractfile(member)
            if extracted is not None:
                every[stem] = json.loads(extracted.read())
    taken: dict[str, int] = {}
    chosen: dict[str, dict[str, Any]] = {}
    for stem in sorted(every):
        instance = every[stem]
        resource_type = str(instance.get("resourceType"))
        meta = instance.get("meta")
        claims = isinstance(meta, dict) and bool(meta.get("profile"))
        if claims or taken.get(resource_type, 0) < PER_TYPE:
            chosen[stem] = instance
            taken[resource_type] = taken.get(resource_type, 0) + 1
    return chosen


UKCORE_NAMES = _ukcore_names()
R4_CHOSEN = _r4_examples()


def _params(names: Iterable[str], where: Path) -> list[Any]:
    listed = sorted(names)
    if not listed:
        return [pytest.param("", marks=pytest.mark.skip(reason=f"needs the examples at {where}"))]
    return [pytest.param(name, id=name.removesuffix(".json")) for name in listed]


@cache
def _ukcore_profiles() -> dict[str, str | None]:
    mapping: dict[str, str | None] = json.loads(UKCORE_PROFILES.read_text(encoding="utf-8"))
    return mapping


def _ukcore_case(name: str) -> Case:
    instance = json.loads((UKCORE_EXAMPLES / name).read_text(encoding="utf-8"))
    return Case(name, instance, _ukcore_profiles()[name] or CORE + instance["resourceType"])


def _r4_case(name: str, validator: Validator) -> Case:
    instance = R4_CHOSEN[name]
    declared = (instance.get("meta") or {}).get("profile") or []
    known = [url for url in declared if validator.engine.definitions.plan(url) is not None]
    return Case(name, instance, known[0] if known else CORE + instance["resourceType"])


# ---------------------------------------------------------------- the harness


@dataclass(frozen=True)
class Harness:
    validator: Validator
    mutator: Mutator

    def plans(self, case: Case) -> tuple[Plan, Plan]:
        definitions = self.validator.engine.definitions
        plan: Plan | None = definitions.plan(case.profile)
        assert plan is not None, f"{case.profile} is not in the loaded packages"
        base: Plan | None = definitions.type_plan(plan.type)
        assert base is not None
        return plan, base

    def mutants(self, case: Case) -> list[Defect]:
        plan, base = self.plans(case)
        return list(self.mutator.mutants(case.instance, plan, base, per_kind=PER_KIND))

    def both(self, instance: dict[str, Any], profile: str) -> tuple[Outcome, Outcome]:
        """The outcome naming the profile, and the outcome of the base (no profile named or claimed)."""
        with_profile = self.validator.validate(instance, profiles=[profile])
        return with_profile, self.validator.validate(_unclaimed(instance))

    def faults(self, case: Case) -> Iterator[str]:
        """Every way the engine fails the harness's properties on this example's defects."""
        for defect in self.mutants(case):
            with_profile, base = self.both(defect.instance, case.profile)
            where = f"{FAMILIES[defect.kind]}/{defect.kind} {defect.message_id}"
            where += f" ({defect.constraint})" if defect.constraint else ""
            where += f" at {defect.location}"
            if not reported(defect, with_profile):
                yield f"{where}: not reported under the profile; got {_shown(with_profile.errors)}"
            if defect.in_base and not reported(defect, base):
                yield f"{where}: not reported by the base; got {_shown(base.errors)}"
            lost = _keys(base.errors) - _keys(with_profile.errors)
            if lost:
                yield f"{where}: base errors missing under the profile: {sorted(lost)[:3]}"


def _unclaimed(instance: dict[str, Any]) -> dict[str, Any]:
    """The instance with its `meta.profile` claims taken out, so that only the base definition applies."""
    meta = instance.get("meta")
    if not isinstance(meta, dict) or "profile" not in meta:
        return instance
    copied = copy.deepcopy(instance)
    del copied["meta"]["profile"]
    if not copied["meta"]:
        del copied["meta"]
    return copied


def _related(found: str, expected: str) -> bool:
    """The defect's place, one inside it, or its parent (a missing element is reported on its parent)."""
    inside = found.startswith(expected) and found[len(expected) : len(expected) + 1] in ("", ".", "[")
    return inside or found == expected.rsplit(".", 1)[0]


def reported(defect: Defect, outcome: Outcome) -> bool:
    return any(
        issue.message_id == defect.message_id
        and (defect.constraint is None or issue.constraint == defect.constraint)
        and _related(issue.location, defect.location)
        for issue in outcome.errors
    )


def _keys(issues: Iterable[Issue]) -> set[str]:
    return {f"{issue.message_id} @ {issue.location}" for issue in issues}


def _shown(issues: Iterable[Issue]) -> list[str]:
    return sorted(_keys(issues))[:4]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def harness(shared_settings: Settings) -> Harness:
    validator = Validator(Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE]))
    maker = DefectMaker(Shapes(validator.engine.definitions), Codes(validator.context))
    return Harness(validator, Mutator(maker))


# ---------------------------------------------------------------- the properties, per example


@pytest.mark.parametrize("name", _params(UKCORE_NAMES, UKCORE_EXAMPLES))
def test_ukcore_example_defects_are_reported_with_and_without_profile(harness: Harness, name: str) -> None:
    faults = list(harness.faults(_ukcore_case(name)))
    assert faults == [], "\n".join(faults)


@pytest.mark.parametrize("name", _params(R4_CHOSEN, R4_EXAMPLES))
def test_r4_example_defects_are_reported_with_and_without_profile(harness: Harness, name: str) -> None:
    faults = list(harness.faults(_r4_case(name, harness.validator)))
    assert faults == [], "\n".join(faults)


def _stays_valid(harness: Harness, case: Case) -> None:
    with_profile, base = harness.both(case.instance, case.profile)
    assert _keys(base.errors) <= _keys(with_profile.errors)
    if not base.errors:
        assert _shown(with_profile.errors) == [], f"valid for the base, not under {case.profile}"


@pytest.mark.parametrize("name", _params(UKCORE_NAMES, UKCORE_EXAMPLES))
def test_ukcore_example_valid_for_the_base_stays_valid_under_its_profile(harness: Harness, name: str) -> None:
    _stays_valid(harness, _ukcore_case(name))


@pytest.mark.parametrize("name", _params(R4_CHOSEN, R4_EXAMPLES))
def test_r4_example_valid_for_the_base_stays_valid_under_its_profile(harness: Harness, name: str) -> None:
    _stays_valid(harness, _r4_case(name, harness.validator))


# ---------------------------------------------------------------- the harness itself


def _defects_of(harness: Harness, case: Case) -> tuple[Defect, ...]:
    return harness.mutator.mutants(case.instance, *harness.plans(case))


def test_the_definitions_say_which_defects_the_base_must_report(harness: Harness) -> None:
    # UK Core AllergyIntolerance makes code required (1..1; the base has 0..1); patient is 1..1 in both.
    defects = _defects_of(harness, _ukcore_case("UKCore-AllergyIntolerance-Amoxicillin-Example.json"))
    removed = {d.location: d.in_base for d in defects if d.kind == "remove-required"}
    assert removed["AllergyIntolerance.code"] is False
    assert removed["AllergyIntolerance.patient"] is True
    profile_only = next(d for d in defects if d.kind == "remove-required" and d.location.endswith(".code"))
    with_profile, base = harness.both(profile_only.instance, UK + "UKCore-AllergyIntolerance")
    assert reported(profile_only, with_profile)
    assert not reported(profile_only, base)


def test_a_datatype_invariant_defect_breaks_the_invariant_and_nothing_else(harness: Harness) -> None:
    case = _ukcore_case("UKCore-Patient-BabyPatient-Example.json")
    (defect,) = [d for d in _defects_of(harness, case) if d.constraint == "cpt-2"]
    index = int(defect.location.removeprefix("Patient.telecom[").rstrip("]"))
    contact = defect.instance["telecom"][index]
    assert "value" in contact and "system" not in contact and "_system" not in contact
    others = [item for i, item in enumerate(defect.instance["telecom"]) if i != index]
    assert others == [item for i, item in enumerate(case.instance["telecom"]) if i != index]
    _, base = harness.both(defect.instance, case.profile)
    assert reported(defect, base)


def test_no_defect_is_put_in_the_profile_claims(harness: Harness) -> None:
    # the base validation takes meta.profile out: a defect there would vanish from it
    case = _r4_case("Observation-bmi", harness.validator)
    assert case.profile == CORE + "vitalsigns"
    defects = _defects_of(harness, case)
    assert defects
    assert not [d.location for d in defects if d.location.startswith("Observation.meta.profile")]


def test_spread_keeps_few_of_each_kind_evenly() -> None:
    labels = [Label(kind, "m", f"L{i}", "") for kind in ("a", "b") for i in range(10)]
    changes = [(label, _no_change) for label in labels]
    kept = [label.location for label, _ in spread(changes, 3)]
    assert kept == ["L0", "L4", "L9", "L0", "L4", "L9"]
    assert len(spread(changes[:2], 3)) == 2


def _no_change(instance: dict[str, Any]) -> None:
    del instance


def test_every_family_of_defects_is_made(harness: Harness) -> None:
    """Every family appears over the examples; fixed/pattern only where a value is not a discriminator."""
    made: set[str] = set()
    settable: list[str] = []
    cases = [_ukcore_case(name) for name in UKCORE_NAMES] + [
        _r4_case(n, harness.validator) for n in R4_CHOSEN
    ]
    for case in cases:
        made.update(FAMILIES[d.kind] for d in harness.mutants(case))
        walk = harness.mutator.maker.walk(case.instance, harness.plans(case)[0])
        settable += [s.rule.id for s in walk.sites if eligible(s) and (s.rule.fixed or s.rule.pattern)]
        settable += [absent.rule.id for absent in walk.unset_fixed]
    assert set(FAMILIES.values()) - made <= {"fixed/pattern"}
    # In UK Core STU2 and the R4 examples every fixed or pattern value picks a slice (changed-discriminator
    # covers it); a value that does not would be changed too, and this says so.
    assert ("fixed/pattern" in made) == bool(settable), settable[:5]


GENERATED_PROFILES = ("UKCore-Patient", "UKCore-Observation-Lab", "UKCore-Encounter", "UKCore-Organization")


@pytest.mark.parametrize("name", GENERATED_PROFILES)
def test_generated_instance_defects_are_reported_with_and_without_profile(
    harness: Harness, name: str
) -> None:
    """The same properties on instances the strategies build from the profile (seeded: the same each run)."""
    url = UK + name
    faults: list[str] = []

    @settings(
        max_examples=2,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(resources(url, harness.validator))
    def collect(instance: dict[str, Any]) -> None:
        faults.extend(harness.faults(Case(name, instance, url)))

    collect()
    assert faults == [], "\n".join(faults)
