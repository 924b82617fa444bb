"""Helpers shared by the terminology tests (fixture source, shared packages), and tests of InMemorySource."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.fhirversion import FhirVersion
from conformance.terminology import CodeResult, InMemorySource, LocalTerminology

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "terminology"
SHARED = REPO.parent / "shared"
SHARED_PACKAGES = SHARED / "fhir-packages"

EX_CS = "http://example.org/fhir/CodeSystem/"
EX_VS = "http://example.org/fhir/ValueSet/"
COLOURS = EX_CS + "colours"
SHAPES = EX_CS + "shapes"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def fixture_resources() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(FIXTURES.glob("*.json"))]


def fixture_source(*extra: dict[str, Any]) -> InMemorySource:
    """Extra resources come first, so they take precedence over the fixtures."""
    return InMemorySource([*extra, *fixture_resources()])


def fixture_terminology(*extra: dict[str, Any], **options: Any) -> LocalTerminology:
    return LocalTerminology(fixture_source(*extra), FhirVersion.R4, **options)


def member_codes(terminology: LocalTerminology, name: str) -> set[str]:
    expansion = terminology.expansion_of(EX_VS + name)
    assert expansion is not None, name
    return {concept.code for concept in expansion.contains}


def in_set(
    terminology: LocalTerminology, name: str, system: str | None = COLOURS
) -> Callable[..., CodeResult]:
    """A checker of codes against one fixture value set."""

    def check(code: str, display: str | None = None) -> CodeResult:
        return terminology.validate_code(EX_VS + name, system=system, code=code, display=display)

    return check


def require_shared() -> Path:
    if not SHARED_PACKAGES.is_dir():
        pytest.skip(f"the shared FHIR packages are not at {SHARED_PACKAGES}")
    return SHARED_PACKAGES


# --- InMemorySource ------------------------------------------------------------------------------


def _vs(version: str) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "url": "http://x/vs", "version": version}


def test_in_memory_source_resolves_first_added_or_the_asked_version() -> None:
    source = InMemorySource([_vs("10.0.1"), _vs("1.0.2")])
    assert source.resolve("http://x/vs") == _vs("10.0.1")
    assert source.resolve("http://x/vs", "1.0.2") == _vs("1.0.2")
    assert source.resolve("http://x/vs|1.0") == _vs("1.0.2")  # a version that the stored one extends
    assert source.resolve("http://x/vs", "1") == _vs("1.0.2")  # not 10.0.1: "1" extends only with a dot
    assert source.resolve("http://x/vs", "3.0") is None
    assert source.resolve("http://x/other") is None


def test_in_memory_source_lists_by_type_and_ignores_resources_without_url() -> None:
    source = InMemorySource([_vs("1"), {"resourceType": "CodeSystem"}, {"no": "type"}])
    assert [r["version"] for r in source.resources("ValueSet")] == ["1"]
    assert len(list(source.resources("CodeSystem"))) == 1
    assert list(source.resources("NamingSystem")) == []
    assert len(source) == 2
