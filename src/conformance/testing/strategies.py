"""Hypothesis strategies for FHIR: instances that conform to a profile, and variants with one defect.

    from hypothesis import given
    from conformance.testing.strategies import resources

    @given(resources("https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient", validator))
    def test_my_api_accepts_uk_core_patients(patient): ...

`resources` builds instances from the profile's compiled Plan and keeps only those the validator finds
free of errors; `single_defects` turns one conforming instance into variants that each break exactly one
rule, labelled with the message id the validator must report. See docs/pytest.md.
"""

from __future__ import annotations

import weakref
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from conformance.definitions.plan import Plan
from conformance.errors import UsageError
from conformance.outcome import Outcome
from conformance.testing._defects import Defect, DefectMaker
from conformance.testing._generate import Builder, Codes, Options
from conformance.testing._shapes import Shapes
from conformance.validation import Validator

__all__ = ["Defect", "Options", "candidates", "defects", "resources", "single_defects", "validator_for"]

ATTEMPTS = 5
"""Candidates built per example before hypothesis is told to try other choices."""

_validators: weakref.WeakKeyDictionary[Any, Validator] = weakref.WeakKeyDictionary()
_defect_makers: weakref.WeakKeyDictionary[Validator, DefectMaker] = weakref.WeakKeyDictionary()


def validator_for(context: Any) -> Validator:
    """A Validator for a Context (made once per Context and kept while it lives), or the Validator given."""
    if isinstance(context, Validator):
        return context
    found = _validators.get(context)
    if found is None:
        found = _validators[context] = Validator(context)
    return found


def _plan(validator: Validator, profile: str) -> Plan:
    plan: Plan | None = validator.engine.definitions.plan(profile)
    if plan is None:
        raise UsageError(f"profile {profile} is not in the loaded packages")
    if plan.kind != "resource":
        raise UsageError(
            f"profile {profile} is a {plan.kind or 'non-resource'} profile; resources() builds resources"
        )
    return plan


def _builder(validator: Validator, options: Options) -> Builder:
    return Builder(Shapes(validator.engine.definitions), Codes(validator.context), options)


def resources(
    profile: str,
    context: Any,
    *,
    options: Options | None = None,
    attempts: int = ATTEMPTS,
) -> st.SearchStrategy[dict[str, Any]]:
    """Instances of `profile` (a resource profile, or a resource type's base definition) with no errors.

    `context` is a Context or a Validator. Each example is built from the profile's Plan and checked
    with the validator; up to `attempts` candidates are built before hypothesis is told to choose
    differently, so a profile whose invariants construction cannot meet still yields examples.
    """
    validator = validator_for(context)
    plan = _plan(validator, profile)
    builder = _builder(validator, options or Options())

    def check(candidate: dict[str, Any]) -> Outcome:
        return validator.validate(candidate, profiles=(plan.url,))

    @st.composite
    def conforming(draw: st.DrawFn) -> dict[str, Any]:
        for _ in range(attempts):
            repaired = builder.repair(draw, builder.resource(draw, plan), check)
            if repaired is not None:
                return repaired
        reject()

    return conforming()


def candidates(
    profile: str, context: Any, *, options: Options | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Instances built from the profile's Plan without checking them: to see what construction alone does."""
    validator = validator_for(context)
    plan = _plan(validator, profile)
    builder = _builder(validator, options or Options())
    return st.composite(lambda draw: builder.resource(draw, plan).instance)()


def defects(instance: dict[str, Any], profile: str, context: Any) -> tuple[Defect, ...]:
    """Every single-defect variant of `instance` this module knows how to make, each with its message id."""
    validator = validator_for(context)
    maker = _defect_makers.get(validator)
    if maker is None:  # one per Validator: its value set expansions are worth keeping
        maker = _defect_makers[validator] = DefectMaker(
            Shapes(validator.engine.definitions), Codes(validator.context)
        )
    return maker.defects(instance, _plan(validator, profile))


def single_defects(instance: dict[str, Any], profile: str, context: Any) -> st.SearchStrategy[Defect]:
    """One of the single-defect variants of a conforming `instance` (see `defects`)."""
    found = defects(instance, profile, context)
    if not found:
        raise UsageError(f"no defect can be made in this {instance.get('resourceType')} instance")
    return st.sampled_from(found)
