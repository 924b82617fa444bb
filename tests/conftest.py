"""Shared fixtures for the validation-engine tests.

One R4 Context over the shared FHIR packages (`../shared/fhir-packages`, beside the repository) plus the
project's test profiles (`fixtures/validation/profiles`), and one Validator over it, for the whole session:
building them is the slow part, validating a payload is not. Tests that need them are skipped, with the
reason, when the shared packages are absent.

Tests compare outcomes as sorted lists of short strings, `"<severity> <message id> @ <location>"`, so a
failure shows at a glance which issue is missing or extra. Information issues (what was not checked) are
left out of these lists, and so are invariant issues unless a test asks for them: invariants are their
own family, and best-practice warnings such as dom-6 would otherwise show up in every other family's tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue, Outcome, Severity
from conformance.settings import Settings
from conformance.validation import Validator

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_PACKAGES = SHARED / "fhir-packages"
VALIDATION_FIXTURES = REPO / "fixtures" / "validation"
TEST_PROFILES = VALIDATION_FIXTURES / "profiles"
EXAMPLE_PROFILE = "http://example.org/fhir/StructureDefinition/"

INVARIANT_IDS = frozenset({"invariant.failed", "invariant.not-checked"})
_SHOWN_SEVERITIES = (Severity.FATAL, Severity.ERROR, Severity.WARNING)


def shared_packages_or_skip() -> Path:
    """The shared FHIR package folder, or skip: these tests need the real core definitions."""
    if not (SHARED_PACKAGES / "hl7.fhir.r4.core#4.0.1.tgz").is_file():
        pytest.skip(f"needs the shared FHIR packages at {SHARED_PACKAGES} (absent from this checkout)")
    return SHARED_PACKAGES


def offline_settings(package_cache: Path, work_cache: Path) -> Settings:
    """Settings that read only the shared packages and write only where they are told; never the network."""
    return Settings(
        package_path=(shared_packages_or_skip(),),
        package_cache=package_cache,
        work_cache=work_cache,
        registry_url="http://127.0.0.1:9",
        offline=True,
    )


def _show(issue: Issue) -> str:
    return f"{issue.severity.value} {issue.message_id} @ {issue.location}"


def profile_url(name: str) -> str:
    """A test profile by its id (`test-patient-cardinality`), or any canonical URL as it is."""
    return name if "/" in name else EXAMPLE_PROFILE + name


@dataclass(frozen=True)
class FixtureRunner:
    """Validates fixture payloads (paths relative to fixtures/validation) with the session's Validator."""

    validator: Validator

    @staticmethod
    def path(name: str) -> Path:
        return VALIDATION_FIXTURES / name

    def load(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path(name).read_text(encoding="utf-8"))
        return data

    def validate(self, name: str, profiles: Iterable[str] = ()) -> Outcome:
        """The fixture as a parsed dict: what is checked is the engine, not the parser."""
        return self.validator.validate(self.load(name), profiles=[profile_url(p) for p in profiles])

    def validate_file(self, name: str, profiles: Sequence[str] = ()) -> Outcome:
        """The fixture through its file path, so the instance parser (JSON or XML) is part of the run."""
        return self.validator.validate(self.path(name), profiles=[profile_url(p) for p in profiles])

    def validate_data(self, data: dict[str, Any] | bytes | str, profiles: Sequence[str] = ()) -> Outcome:
        return self.validator.validate(data, profiles=[profile_url(p) for p in profiles])

    @staticmethod
    def findings(outcome: Outcome, *, invariants: bool = False) -> list[str]:
        """Fatal, error and warning issues as sorted strings; invariant issues only when asked for."""
        return sorted(
            _show(issue)
            for issue in outcome.issues
            if issue.severity in _SHOWN_SEVERITIES and (invariants or issue.message_id not in INVARIANT_IDS)
        )

    @staticmethod
    def problems(outcome: Outcome) -> list[str]:
        """What stops a valid payload being clean: any error (invariants too), any non-invariant warning."""
        shown = {_show(issue) for issue in outcome.errors}
        return sorted(shown | set(FixtureRunner.findings(outcome)))

    @staticmethod
    def failed_constraints(outcome: Outcome) -> list[str]:
        """`"<severity> <key> @ <location>"` for every failed invariant."""
        return sorted(
            f"{issue.severity.value} {issue.constraint} @ {issue.location}"
            for issue in outcome.issues
            if issue.message_id == "invariant.failed"
        )


@pytest.fixture(scope="session")
def shared_settings(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Offline settings over the shared packages (skips when they are absent).

    Extracting the packages into a fresh work cache takes about ten seconds, so the work cache is kept in
    pytest's own cache folder between runs when that is enabled (its entries are keyed by content).
    """
    root = tmp_path_factory.mktemp("shared-settings")
    cache = getattr(pytestconfig, "cache", None)
    work_cache = cache.mkdir("fhir-conformance-work-cache") if cache is not None else root / "work-cache"
    return offline_settings(root / "package-cache", work_cache)


@pytest.fixture(scope="session")
def r4_context(shared_settings: Settings) -> Context:
    """R4 core (with hl7.terminology.r4, found beside it) and the test profiles of fixtures/validation."""
    return Context.build(shared_settings, FhirVersion.R4, extra_resources=[TEST_PROFILES])


@pytest.fixture(scope="session")
def r4_validator(r4_context: Context) -> Validator:
    return Validator(r4_context)


@pytest.fixture(scope="session")
def r4_fixtures(r4_validator: Validator) -> FixtureRunner:
    return FixtureRunner(r4_validator)
