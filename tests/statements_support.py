"""Shared helpers for the standards, statements and assess tests.

Contexts and Assessors are built once per session (cached by their inputs): building the UK Core context
and compiling its profiles is the slow part, assessing a handful of payloads is not. Tests that need the
shared FHIR packages (`../shared/fhir-packages`) are skipped, with the reason, when they are absent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Context
from conformance.settings import Settings
from conformance.standards import Standard, load_standard, read_standard
from conformance.statements import Assessor, Product, RunDetails, Statement

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_PACKAGES = SHARED / "fhir-packages"
UKCORE_EXAMPLES = SHARED_PACKAGES / "_examples" / "ukcore-stu2"
UKCORE_PROFILE_MAP = SHARED_PACKAGES / "_examples" / "ukcore-stu2-profiles.json"
FIXTURES = REPO / "fixtures" / "statements"
VALID = FIXTURES / "valid"
INVALID = FIXTURES / "invalid"
TEST_PACKAGES = FIXTURES / "packages"
DRAFT_STANDARD = FIXTURES / "standards" / "draft-example.toml"
UK = "https://fhir.hl7.org.uk/StructureDefinition/"
RIVERSIDE = Product("Riverside Health Systems", "Riverside EPR", "3.1")
MOMENT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def shared_packages_or_skip() -> Path:
    if not (SHARED_PACKAGES / "hl7.fhir.r4.core#4.0.1.tgz").is_file():
        pytest.skip(f"needs the shared FHIR packages at {SHARED_PACKAGES} (absent from this checkout)")
    return SHARED_PACKAGES


def with_test_packages(settings: Settings) -> Settings:
    """The session's offline settings, with this project's test packages on the package path too."""
    return settings.with_options(package_path=(TEST_PACKAGES,))


@cache
def context_for(standard: Standard, settings: Settings) -> Context:
    return Context.build(
        settings, standard.fhir_version, igs=[package.reference for package in standard.packages]
    )


@cache
def assessor(standard_id_or_file: str, settings: Settings) -> Assessor:
    """One Assessor per standard for the whole session (settings: the conftest's shared_settings)."""
    shared_packages_or_skip()
    standard = load_standard(standard_id_or_file)
    return Assessor(standard, context_for(standard, with_test_packages(settings)))


def assess(
    standard_id_or_file: str, settings: Settings, *payloads: Path, run: RunDetails | None = None
) -> Statement:
    details = run if run is not None else RunDetails(generated_at=MOMENT)
    return assessor(standard_id_or_file, settings).assess(list(payloads), RIVERSIDE, details)


def draft_standard() -> Standard:
    return read_standard(DRAFT_STANDARD)


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def result_of(statement: Statement, name: str) -> Any:
    """The result of the profile whose URL ends with `name` (UKCore-Patient)."""
    (found,) = [result for result in statement.results.profiles if result.url.endswith("/" + name)]
    return found
