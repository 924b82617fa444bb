"""Version specs as FHIR package manifests write them."""

from __future__ import annotations

import pytest

from conformance.errors import PackageError
from conformance.packages.versions import Version, VersionSpec, parse_package_reference, sort_versions

AVAILABLE = ["0.9.0", "1.0.0", "1.0.5", "1.2.0", "1.2.3-ballot", "1.3.1", "2.0.0", "2.1.0-pre"]


@pytest.mark.parametrize(
    ("spec", "chosen"),
    [
        ("1.0.0", "1.0.0"),
        ("1.x", "1.3.1"),
        ("1.0.x", "1.0.5"),
        ("1.*", "1.3.1"),
        ("1", "1.3.1"),
        ("1.0", "1.0.5"),
        ("^1.2.0", "1.3.1"),
        ("^0.9.0", "0.9.0"),
        ("~1.2.0", "1.2.0"),
        (">=1.0.0 <2.0.0", "1.3.1"),
        (">= 1.0.0 < 1.2.0", "1.0.5"),
        (">1.2", "2.0.0"),
        ("<=1.2", "1.2.0"),
        ("1.0.0 - 1.2", "1.2.0"),
        ("2.x || 0.x", "2.0.0"),
        ("3.x || 0.9.x", "0.9.0"),
        ("*", "2.0.0"),
        ("latest", "2.0.0"),
        ("", "2.0.0"),
        ("current", "2.1.0-pre"),
        ("1.2.3-ballot", "1.2.3-ballot"),
        (">=1.2.3-ballot <1.3.0", "1.2.3-ballot"),
        ("3.x", None),
        ("1.4.0", None),
        ("not a version!", None),
    ],
)
def test_spec_selects_the_highest_matching_version(spec: str, chosen: str | None) -> None:
    assert VersionSpec.parse(spec).select(AVAILABLE) == chosen


def test_ranges_leave_out_prereleases_of_other_releases() -> None:
    assert not VersionSpec.parse("1.x").matches("1.2.3-ballot")
    assert not VersionSpec.parse("^2.0.0").matches("2.1.0-pre")
    assert VersionSpec.parse("1.2.3-ballot").matches("1.2.3-ballot")


def test_current_prefers_a_literal_current_build() -> None:
    assert VersionSpec.parse("current").select([*AVAILABLE, "current"]) == "current"


def test_latest_falls_back_to_a_prerelease_when_there_is_nothing_else() -> None:
    assert VersionSpec.parse("latest").select(["0.0.0-develop.20241024"]) == "0.0.0-develop.20241024"


def test_non_semver_labels_match_only_exactly() -> None:
    spec = VersionSpec.parse("R4-build.x.y!")
    assert spec.is_exact
    assert spec.select(["R4-build.x.y!", "1.0.0"]) == "R4-build.x.y!"


def test_semver_precedence_of_prereleases() -> None:
    ordered = sort_versions(
        ["1.0.0", "1.0.0-alpha.1", "1.0.0-alpha", "1.0.0-beta", "1.0.0-alpha.beta", "0.9.9"]
    )
    assert ordered == ["0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0"]
    assert Version.parse("4.0.1") == Version(4, 0, 1)
    assert Version.parse("4.0") is None


@pytest.mark.parametrize(
    ("text", "name", "spec"),
    [
        ("hl7.fhir.r4.core#4.0.1", "hl7.fhir.r4.core", "4.0.1"),
        ("hl7.fhir.r4.core@4.0.1", "hl7.fhir.r4.core", "4.0.1"),
        ("fhir.r4.ukcore.stu2", "fhir.r4.ukcore.stu2", "latest"),
        (" a.b#1.x ", "a.b", "1.x"),
        ("a.b#>=1.0.0 <2.0.0", "a.b", ">=1.0.0 <2.0.0"),
    ],
)
def test_package_references(text: str, name: str, spec: str) -> None:
    parsed_name, parsed_spec = parse_package_reference(text)
    assert (parsed_name, parsed_spec.text) == (name, spec)


@pytest.mark.parametrize(
    "text", ["", "#1.0.0", "a b#1", "x#", "../x#1", "a/b#1", "a#../../etc", "a#1/2", "x" * 300, "a#\x00"]
)
def test_malformed_references_are_refused_with_the_text(text: str) -> None:
    with pytest.raises(PackageError, match="not a package reference"):
        parse_package_reference(text)
