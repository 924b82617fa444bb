"""A slice's check of an extension its element's check just made is not made again, and nothing changes.

When a profile slices `extension`, each extension is checked as a value of the element, then as a value of
the slice it matched. For an extension named by its url, the second check (the same value at the same
place, into the same report, for a rule of the same path and name) could only repeat the first, and
`Walker.complex` leaves it out. These tests hold that: it is left out, and every UK Core example with
extensions, and each single-change variant of it, gives the same issues with and without it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator, walker
from conformance.validation.extensions import ExtensionChecks
from example_variants import UKCORE, CallCount, example_cases, issues


@pytest.fixture(scope="module")
def ukcore_validator(shared_settings: Settings) -> Validator:
    return Validator(Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE]))


def _with_extensions() -> list[tuple[str, Any, str | None]]:
    return [case for case in example_cases() if '"extension"' in json.dumps(case[1]) and case[2]]


def _never_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the walk check every extension every time it meets it (the skip's own precondition fails)."""
    monkeypatch.setattr(walker, "named_by_url", lambda value: False)


@pytest.mark.shared
def test_an_extension_is_checked_once_for_its_element_and_its_slice(
    ukcore_validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = CallCount(monkeypatch, ExtensionChecks, "check")
    cases = [case for case in _with_extensions() if " variant " not in case[0]]
    with_skip = [issues(ukcore_validator, payload, profile) for _, payload, profile in cases]
    skipping = checks.reset()
    _never_again(monkeypatch)
    without = [issues(ukcore_validator, payload, profile) for _, payload, profile in cases]
    assert len(cases) > 20 and skipping < checks.calls * 0.8  # a good share of the checks are left out
    assert with_skip == without


@pytest.mark.shared
def test_every_issue_is_the_same_without_the_second_check(
    ukcore_validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = _with_extensions()
    with_skip = {name: issues(ukcore_validator, payload, profile) for name, payload, profile in cases}
    _never_again(monkeypatch)
    differing = [
        name
        for name, payload, profile in cases
        if issues(ukcore_validator, payload, profile) != with_skip[name]
    ]
    assert len(cases) > 2_000 and not differing, differing[:5]
