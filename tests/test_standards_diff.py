"""`conformance standards diff`: every kind of change on small hand-made snapshots, then UK Core STU2
against the next UK Core on the real packages (checked by hand against the definitions)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.standards import load_standard, standard_from_dict
from conformance.standards.diff import (
    Change,
    Impact,
    ProfileSide,
    StandardsDiff,
    diff_profiles,
    diff_standards,
)
from conformance.standards.diff_render import render
from test_ukcore_next import next_settings

P = "http://example.org/fhir/StructureDefinition/p"
UK = "https://fhir.hl7.org.uk/StructureDefinition/"


def _element(element_id: str, **fields: Any) -> dict[str, Any]:
    path = ".".join(part.split(":")[0] for part in element_id.split("."))
    base = {"id": element_id, "path": path, "min": 0, "max": "*"}
    if ":" in element_id.rsplit(".", 1)[-1]:
        base["sliceName"] = element_id.rsplit(":", 1)[-1]
    return {**base, **fields}


def _elements(*elements: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {element["id"]: element for element in elements}


def _lines(changes: list[Change]) -> list[tuple[str, str | None, str, str]]:
    return [(change.impact.value, change.element, change.kind, change.detail) for change in changes]


def _one(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str | None, str, str]]:
    return _lines(diff_profiles(P, _elements(old), _elements(new)))


def test_cardinality() -> None:
    assert _one(_element("Patient.gender"), _element("Patient.gender", min=1)) == [
        ("breaking", "Patient.gender", "newly-required", "cardinality 0..* -> 1..*")
    ]
    assert _one(_element("Patient.name", min=1), _element("Patient.name", min=2, max="3")) == [
        ("breaking", "Patient.name", "min-raised", "cardinality 1..* -> 2..3"),
        ("breaking", "Patient.name", "max-narrowed", "cardinality 1..* -> 2..3"),
    ]
    assert _one(_element("Patient.name", min=1, max="1"), _element("Patient.name")) == [
        ("relaxed", "Patient.name", "min-lowered", "cardinality 1..1 -> 0..*"),
        ("relaxed", "Patient.name", "max-widened", "cardinality 1..1 -> 0..*"),
    ]


def test_must_support_and_types() -> None:
    old = _element("Patient.deceased[x]", type=[{"code": "boolean"}, {"code": "dateTime"}])
    new = _element("Patient.deceased[x]", mustSupport=True, type=[{"code": "dateTime"}])
    assert _one(old, new) == [
        ("expected", "Patient.deceased[x]", "must-support-added", "mustSupport added"),
        ("breaking", "Patient.deceased[x]", "types-narrowed", "types no longer allowed: boolean"),
    ]
    assert _one(new, old)[0] == (
        "relaxed",
        "Patient.deceased[x]",
        "must-support-removed",
        "mustSupport removed",
    )


def _bound(strength: str, value_set: str) -> dict[str, Any]:
    return _element("Patient.maritalStatus", binding={"strength": strength, "valueSet": value_set})


def test_bindings() -> None:
    plain = _element("Patient.maritalStatus")
    assert _one(plain, _bound("required", "http://vs/a")) == [
        ("breaking", "Patient.maritalStatus", "binding-added", "binding added: required http://vs/a")
    ]
    assert _one(plain, _bound("preferred", "http://vs/a"))[0][0] == "expected"
    assert _one(_bound("extensible", "http://vs/a"), _bound("required", "http://vs/a|2.0")) == [
        (
            "breaking",
            "Patient.maritalStatus",
            "binding-strengthened",
            "binding strength extensible -> required (http://vs/a)",
        )
    ]
    assert _one(_bound("extensible", "http://vs/a"), _bound("extensible", "http://vs/b")) == [
        (
            "expected",
            "Patient.maritalStatus",
            "binding-moved",
            "extensible binding moved: http://vs/a -> http://vs/b",
        )
    ]
    assert _one(_bound("required", "http://vs/a"), _bound("required", "http://vs/b"))[0][:3] == (
        "breaking",
        "Patient.maritalStatus",
        "binding-moved",
    )
    assert (
        _one(_bound("required", "http://vs/a"), _bound("example", "http://vs/a"))[0][2] == "binding-weakened"
    )
    assert _one(_bound("required", "http://vs/a"), plain)[0][:3] == (
        "relaxed",
        "Patient.maritalStatus",
        "binding-removed",
    )


def test_fixed_and_pattern_values() -> None:
    old = _element("Patient.identifier.system", fixedUri="https://a")
    new = _element("Patient.identifier.system", fixedUri="https://b")
    assert _one(old, new) == [
        ("breaking", "Patient.identifier.system", "fixed-changed", "fixedUri changed: https://a -> https://b")
    ]
    pattern = _element("Patient.identifier.type", patternCodeableConcept={"coding": [{"code": "MR"}]})
    assert _one(_element("Patient.identifier.type"), pattern) == [
        (
            "breaking",
            "Patient.identifier.type",
            "pattern-added",
            'patternCodeableConcept added: {"coding":[{"code":"MR"}]}',
        )
    ]
    assert _one(pattern, _element("Patient.identifier.type"))[0][2] == "pattern-removed"


def test_invariants() -> None:
    error = {"key": "p-1", "severity": "error", "human": "a rule", "expression": "a.exists()"}
    warning = {"key": "p-2", "severity": "warning", "human": "advice", "expression": "b.exists()"}
    old = _element("Patient", constraint=[error])
    new = _element("Patient", constraint=[{**error, "expression": "a.exists() and c"}, warning])
    assert _one(old, new) == [
        ("expected", "Patient", "invariant-added", "invariant p-2 (warning) added: advice"),
        ("breaking", "Patient", "invariant-changed", "invariant p-1: expression changed"),
    ]
    assert _one(new, _element("Patient")) == [
        ("relaxed", "Patient", "invariant-removed", "invariant p-1 removed"),
        ("relaxed", "Patient", "invariant-removed", "invariant p-2 removed"),
    ]


def test_slices_and_extensions_added_and_removed_are_named_once() -> None:
    extension = _element(
        "Patient.extension:ethnicity",
        min=1,
        max="1",
        type=[{"code": "Extension", "profile": ["https://x/Extension-Ethnicity"]}],
    )
    slice_ = _element("Patient.identifier:nhs", max="1")
    inside = _element("Patient.identifier:nhs.system", min=1, fixedUri="https://nhs")
    old = _elements(_element("Patient"), _element("Patient.extension:gone"))
    new = _elements(_element("Patient"), extension, slice_, inside)
    assert _lines(diff_profiles(P, old, new)) == [
        (
            "breaking",
            "Patient.extension:ethnicity",
            "extension-added",
            "extension https://x/Extension-Ethnicity added (1..1)",
        ),
        ("expected", "Patient.identifier:nhs", "slice-added", "slice nhs added (0..1)"),
        ("relaxed", "Patient.extension:gone", "extension-removed", "extension removed"),
    ]


def test_an_extension_taken_off_one_element_and_put_on_another_is_a_move() -> None:
    def extension(element_id: str) -> dict[str, Any]:
        return _element(element_id, max="1", type=[{"code": "Extension", "profile": ["https://x/Ext|1.2.0"]}])

    old = _elements(_element("Specimen"), extension("Specimen.collection.collector.extension:c"))
    new = _elements(_element("Specimen"), extension("Specimen.collection.extension:c"))
    assert _lines(diff_profiles(P, old, new)) == [
        (
            "breaking",
            "Specimen.collection.extension:c",
            "extension-moved",
            "extension https://x/Ext moved from Specimen.collection.collector.extension:c: "
            "payloads carrying it there must move it",
        )
    ]


def test_an_element_the_snapshot_stops_listing_is_compared_with_what_its_type_says() -> None:
    # Old profile constrained Patient.name.family; the new one lists only Patient.name: family is now
    # inherited from HumanName unchanged, which is a relaxation of the old min, not a removal.
    human_name = {
        "snapshot": {
            "element": [
                _element("HumanName"),
                _element("HumanName.family", max="1"),
                _element("HumanName.period", type=[{"code": "Period"}]),
            ]
        }
    }
    period = {"snapshot": {"element": [_element("Period"), _element("Period.start", max="1")]}}
    types: Mapping[str, Mapping[str, Any]] = {"HumanName": human_name, "Period": period}
    name = _element("Patient.name", type=[{"code": "HumanName"}])
    old = _elements(
        name, _element("Patient.name.family", min=1, max="1"), _element("Patient.name.period.start", max="1")
    )
    new = _elements(name, _element("Patient.name.period", type=[{"code": "Period"}], min=1, max="1"))
    changes = diff_profiles(P, ProfileSide(old, types.get), ProfileSide(new, types.get))
    assert _lines(changes) == [
        ("breaking", "Patient.name.period", "newly-required", "cardinality 0..* -> 1..1"),
        ("breaking", "Patient.name.period", "max-narrowed", "cardinality 0..* -> 1..1"),
        ("relaxed", "Patient.name.family", "min-lowered", "cardinality 1..1 -> 0..1"),
    ]


def _standard(standard_id: str, urls: list[str], required: tuple[str, ...] = ()) -> Any:
    return standard_from_dict(
        {
            "format": 1,
            "id": standard_id,
            "title": standard_id,
            "publisher": "me",
            "fhir_version": "4.0.1",
            "packages": [{"name": "hl7.fhir.r4.core", "version": "4.0.1"}],
            "profiles": [{"url": url, "type": "Patient", "required": url in required} for url in urls],
        }
    )


def test_profiles_added_removed_and_requirements_and_the_renderings() -> None:
    a, b, c = (f"{P}-{name}" for name in "abc")
    old = _standard("old", [a, b])
    new = _standard("new", [b, c], required=(b, c))
    snapshots = {b: {"version": "1", "snapshot": {"element": [_element("Patient")]}}}
    diff = diff_standards(old, new, snapshots.get, snapshots.get)
    assert diff.profiles_added == (c,) and diff.profiles_removed == (a,)
    assert _lines(list(diff.changes)) == [
        ("breaking", None, "profile-added", "new profile in scope (required by the standard)"),
        ("relaxed", None, "profile-removed", "no longer in scope"),
        ("breaking", None, "profile-required", "now required by the standard"),
    ]
    assert diff.counts() == {"breaking": 2, "expected": 0, "relaxed": 1}
    text = render(diff, "text")
    assert "Breaking: payloads that conformed may now fail (2)\n  p-c: new profile in scope" in text
    markdown = render(diff, "markdown")
    assert (
        "## Relaxed: less is asked (1)" in markdown
        and "| p-a |  | no longer in scope | profile-removed |" in markdown
    )
    data = json.loads(render(diff, "json"))
    assert data["counts"] == diff.counts() and data["profiles_removed"] == [a]
    assert data["changes"][0] == {
        "impact": "breaking",
        "profile": c,
        "element": None,
        "kind": "profile-added",
        "detail": "new profile in scope (required by the standard)",
    }


# --- UK Core STU2 -> the next UK Core, on the real packages ------------------------------------------


@pytest.fixture(scope="module")
def ukcore_diff(tmp_path_factory: pytest.TempPathFactory) -> StandardsDiff:
    from conformance.cli.standards_cmd import compare_standards  # noqa: PLC0415

    settings = next_settings(tmp_path_factory)
    return compare_standards(load_standard("uk-core-stu2"), load_standard("uk-core-next"), settings)


def _find(diff: StandardsDiff, profile: str, element: str | None, kind: str) -> Change:
    matches = [c for c in diff.changes if (c.profile, c.element, c.kind) == (UK + profile, element, kind)]
    assert len(matches) == 1, (profile, element, kind)
    return matches[0]


def test_uk_core_next_adds_39_profiles_and_removes_none(ukcore_diff: StandardsDiff) -> None:
    assert len(ukcore_diff.profiles_added) == 39 and ukcore_diff.profiles_removed == ()
    assert UK + "UKCore-Observation-VitalSigns-BodyWeight" in ukcore_diff.profiles_added
    assert len(ukcore_diff.profiles_compared) == 31 and ukcore_diff.unresolved == ()
    patient = next(p for p in ukcore_diff.profiles_compared if p.url == UK + "UKCore-Patient")
    assert (patient.old_version, patient.new_version) == ("2.5.0", "2.6.1")
    assert (
        _find(ukcore_diff, "UKCore-Observation-VitalSigns-BodyWeight", None, "profile-added").impact
        is Impact.EXPECTED
    )


def test_uk_core_next_changes_checked_by_hand(ukcore_diff: StandardsDiff) -> None:
    # UKCore-Specimen 2.4.0 binds Specimen.condition (extensible) to UKCore-BiopsyState; 3.1.0 binds it to
    # UKCore-SampleState.
    moved = _find(ukcore_diff, "UKCore-Specimen", "Specimen.condition", "binding-moved")
    assert moved.impact is Impact.EXPECTED
    assert moved.detail == (
        "extensible binding moved: https://fhir.hl7.org.uk/ValueSet/UKCore-BiopsyState -> "
        "https://fhir.hl7.org.uk/ValueSet/UKCore-SampleState"
    )
    # Extension-UKCore-MainLocation's root element gained max = 1 in the next line (the slice in
    # UKCore-Organization names it unchanged): the slice goes from 0..* to 0..1.
    narrowed = _find(
        ukcore_diff, "UKCore-Organization", "Organization.extension:mainLocation", "max-narrowed"
    )
    assert (narrowed.impact, narrowed.detail) == (Impact.BREAKING, "cardinality 0..* -> 0..1")
    # The collector backport extension moves from collection.collector to collection (its definition's
    # context moved with it: 1.1.0 says Specimen.collection.collector, 1.2.0 Specimen.collection).
    moved_extension = _find(
        ukcore_diff, "UKCore-Specimen", "Specimen.collection.extension:collectorR5", "extension-moved"
    )
    assert moved_extension.impact is Impact.BREAKING
    # UKCore-Patient 2.6.1 makes managingOrganization mustSupport.
    assert _find(ukcore_diff, "UKCore-Patient", "Patient.managingOrganization", "must-support-added")
    # A datatype's children the new snapshot no longer lists are not reported as removed.
    assert not [c for c in ukcore_diff.changes if c.kind == "element-removed"]


def test_the_command_writes_each_format(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    settings = next_settings(tmp_path_factory)
    options = [f"--package-path={folder}" for folder in settings.package_path]
    options += ["--offline", f"--package-cache={settings.package_cache}"]
    out = tmp_path / "diff.md"
    assert (
        main(
            [
                "standards",
                "diff",
                "uk-core-stu2",
                "uk-core-next",
                "--format",
                "markdown",
                "--out",
                str(out),
                *options,
            ]
        )
        == 0
    )
    markdown = out.read_text(encoding="utf-8")
    assert markdown.startswith("# uk-core-stu2 2.0.2 (active) -> uk-core-next 0.0.0-main.20250620 (draft)\n")
    assert "| UKCore-Specimen | `Specimen.condition` |" in markdown
    out_json = tmp_path / "diff.json"
    assert (
        main(
            [
                "standards",
                "diff",
                "uk-core-stu2",
                "uk-core-next",
                "--format",
                "json",
                "--out",
                str(out_json),
                *options,
            ]
        )
        == 0
    )
    assert json.loads(out_json.read_text(encoding="utf-8"))["new"] == {
        "id": "uk-core-next",
        "version": "0.0.0-main.20250620",
        "status": "draft",
    }
