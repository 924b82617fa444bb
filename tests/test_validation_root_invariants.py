"""A resource's own invariants are checked once across its walks, unless a walk's differ.

The walks of a resource (each profile, then the base) mostly check the same constraints at its root, as a
profile's snapshot repeats its base's. `InvariantChecks.check_resource` leaves out of a later walk one an
earlier walk checked there with the same expression, focus type, key and severity: it could only repeat an
issue the report already holds. These tests hold it to that: the repeat is not evaluated; a constraint a
profile leaves out, rewords the expression of, or weakens is still checked by the base walk; and the issues
are those of each walk on its own.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue, Severity
from conformance.settings import Settings
from conformance.validation import Validator
from conformance.validation.invariants import InvariantChecks
from profile_support import core_copy

DOM_6 = "dom-6"
NO_NARRATIVE = {"resourceType": "Patient", "id": "p", "name": [{"family": "A"}]}


def _patient_profile(context: Context, profile_id: str, change: str) -> dict[str, Any]:
    """Patient as a profile of itself, its root's dom-6 kept, dropped, given an expression that always
    holds, or made an error rather than a best-practice warning."""
    profile = core_copy(context, "Patient", profile_id, profile_id.title().replace("-", ""))
    root = profile["snapshot"]["element"][0]
    constraints = root["constraint"]
    dom_6 = next(c for c in constraints if c["key"] == DOM_6)
    if change == "dropped":
        root["constraint"] = [c for c in constraints if c["key"] != DOM_6]
    elif change == "reworded":
        dom_6["expression"] = "true"  # holds: the profile walk reports nothing for it
    elif change == "an error":
        dom_6["severity"] = "error"
        dom_6["extension"] = []  # no longer a best practice
    return profile


@pytest.fixture(scope="module")
def profiles(shared_settings: Settings) -> tuple[Validator, dict[str, str]]:
    context = Context.build(shared_settings, FhirVersion.R4)
    made = {change: _patient_profile(context, f"patient-{change.replace(' ', '-')}", change) for change in (
        "kept", "dropped", "reworded", "an error")}  # fmt: skip
    validator = Validator(Context.build(shared_settings, FhirVersion.R4, extra_resources=list(made.values())))
    return validator, {change: profile["url"] for change, profile in made.items()}


def _dom_6(issues: tuple[Issue, ...]) -> list[tuple[Severity, str | None]]:
    return [(i.severity, i.profile) for i in issues if i.constraint == DOM_6]


def test_the_base_walk_does_not_check_again_what_the_profile_walk_checked(
    profiles: tuple[Validator, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    validator, urls = profiles
    checked: list[str] = []
    real_one = InvariantChecks._one

    def counting_one(self: InvariantChecks, walker: Any, prepared: Any, *rest: Any) -> None:
        checked.append(prepared.constraint.key)
        real_one(self, walker, prepared, *rest)

    monkeypatch.setattr(InvariantChecks, "_one", counting_one)
    outcome = validator.validate(dict(NO_NARRATIVE), profiles=[urls["kept"]])
    assert checked.count(DOM_6) == 1
    assert _dom_6(outcome.issues) == [(Severity.WARNING, urls["kept"] + "|4.0.1")]


@pytest.mark.parametrize("change", ["dropped", "reworded", "an error"])
def test_a_root_invariant_the_profile_changes_is_still_checked_by_the_base_walk(
    profiles: tuple[Validator, dict[str, str]], change: str
) -> None:
    validator, urls = profiles
    base = _dom_6(validator.validate(dict(NO_NARRATIVE)).issues)
    assert base == [(Severity.WARNING, "http://hl7.org/fhir/StructureDefinition/Patient|4.0.1")]
    profiled = _dom_6(validator.validate(dict(NO_NARRATIVE), profiles=[urls[change]]).issues)
    if change == "an error":
        # the profile's error, and the base's warning: not the same issue, so both are reported
        assert profiled == [(Severity.ERROR, urls[change] + "|4.0.1"), *base]
    else:
        assert profiled == base  # the profile says nothing of dom-6; the base walk still does
