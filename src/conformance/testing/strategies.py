"""Hypothesis strategies for FHIR: instances that conform to a profile, and variants with one defect.

    from hypothesis import given
    from conformance.testing.strategies import resources

    @given(resources("https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient", validator))
    def test_my_api_accepts_uk_core_patients(patient): ...

`resources` builds instances from the profile's compiled Plan and keeps only those the validator finds
free of errors; `single_defects` turns one conforming instance into variants that each break exactly one
rule, labelled with the message id the validator must report. With `as_model=True`, `resources` and
`candidates` give fhir.resources models of the context's version instead of dicts (docs/models.md).
"""

from __future__ import annotations

import weakref
from typing import Any, Literal, overload

from hypothesis import reject
from hypothesis import strategies as st

from conformance.definitions.plan import Plan
from conformance.errors import UsageError
from conformance.models import to_model
from conformance.outcome import Outcome
from conformance.testing._defects import Defect, DefectMaker
from conformance.testing._generate import Builder, Codes, Options
from conformance.testing._shapes import Shapes
from conformance.validation import Validator

__all__ = ["Defect", "Options", "candidates", "defects", "resources", "single_defects", "validator_for"]

ATTEMPTS = 5
"""Candidates built per example before hypothesis is told to try other choices."""

_validators: weakref.WeakKeyDictionary[Any, Validator] = weakref.WeakKeyDictionary()
# By the Validator's Context (a compiled Validator cannot be a weak reference's key); what a maker holds
# comes from the Context.
_defect_makers: weakref.WeakKeyDictionary[Any, DefectMaker] = weakref.WeakKeyDictionary()


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


def _as_models(strategy: st.SearchStrategy[dict[str, Any]], validator: Validator) -> st.SearchStrategy[Any]:
    from pydantic import ValidationError  # noqa: PLC0415

    def model(resource: dict[str, Any]) -> Any:
        try:
            return to_model(resource, validator.fhir_version)
        except ValidationError:
            reject()  # an instance the fhir.resources models do not take (they are stricter in places)

    return strategy.map(model)


@overload
def resources(
    profile: str,
    context: Any,
    *,
    options: Options | None = ...,
    attempts: int = ...,
    as_model: Literal[False] = ...,
) -> st.SearchStrategy[dict[str, Any]]: ...
@overload
def resources(
    profile: str,
    context: Any,
    *,
    options: Options | None = ...,
    attempts: int = ...,
    as_model: Literal[True],
) -> st.SearchStrategy[Any]: ...
def resources(
    profile: str,
    context: Any,
    *,
    options: Options | None = None,
    attempts: int = ATTEMPTS,
    as_model: bool = False,
) -> st.SearchStrategy[Any]:
    """Instances of `profile` (a resource profile, or a resource type's base definition) with no errors.

    `context` is a Context or a Validator. Each example is built from the profile's Plan and checked
    with the validator; up to `attempts` candidates are built before hypothesis is told to choose
    differently, so a profile whose invariants construction cannot meet still yields examples.
    `as_model=True` gives each as a fhir.resources model of the context's FHIR version (R4B models for
    R4, STU3 models for STU3); an instance the models refuse is not given.
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

    return _as_models(conforming(), validator) if as_model else conforming()


def candidates(
    profile: str, context: Any, *, options: Options | None = None, as_model: bool = False
) -> st.SearchStrategy[Any]:
    """Instances built from the profile's Plan without checking them: to see what construction alone does.

    `as_model=True` gives fhir.resources models, as `resources` does.
    """
    validator = validator_for(context)
    plan = _plan(validator, profile)
    builder = _builder(validator, options or Options())
    built: st.SearchStrategy[dict[str, Any]] = st.composite(
        lambda draw: builder.resource(draw, plan).instance
    )()
    return _as_models(built, validator) if as_model else built


def defects(instance: dict[str, Any], profile: str, context: Any) -> tuple[Defect, ...]:
    """Every single-defect variant of `instance` this module knows how to make, each with its message id."""
    validator = validator_for(context)
    maker = _defect_makers.get(validator.context)
    if maker is None:  # one per Context: its value set expansions are worth keeping
        maker = _defect_makers[validator.context] = DefectMaker(
            Shapes(validator.engine.definitions), Codes(validator.context)
        )
    return maker.defects(instance, _plan(validator, profile))


def single_defects(instance: dict[str, Any], profile: str, context: Any) -> st.SearchStrategy[Defect]:
    """One of the single-defect variants of a conforming `instance` (see `defects`)."""
    found = defects(instance, profile, context)
    if not found:
        raise UsageError(f"no defect can be made in this {instance.get('resourceType')} instance")
    return st.sampled_from(found)
