"""Memoised and on-disk snapshots, over a synthetic base type (no shared packages needed)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import conformance.definitions.snapshot as snapshot_module
from conformance.definitions.snapshot import Snapshots, generate_snapshot
from conformance.definitions.snapshot_store import content_hash
from conformance.fhirversion import FhirVersion
from test_snapshot_support import TarballSource, by_id, fixture, profile

THING = "http://example.org/fhir/StructureDefinition/Thing"


def thing_profile(name: str = "small-thing", base: str = THING, **changes: Any) -> dict[str, Any]:
    elements = [
        {"id": "Thing.name", "path": "Thing.name", "min": 1, "max": "1", **changes},
        {"id": "Thing.part.part.label", "path": "Thing.part.part.label", "short": "nested label"},
    ]
    return profile(name, base, elements, type_name="Thing")


def source(*definitions: dict[str, Any]) -> TarballSource:
    return TarballSource([*definitions, fixture("synthetic-thing.json")])


class Counting:
    """Wraps the generation function to count how often it really runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self._real = snapshot_module.generate
        monkeypatch.setattr(snapshot_module, "generate", self)

    def __call__(self, sd: Any, resolver: Any) -> Any:
        self.calls += 1
        return self._real(sd, resolver)


def test_generation_on_a_synthetic_type() -> None:
    result = generate_snapshot(thing_profile(), source(), FhirVersion.R4)
    assert result.issues == ()
    elements = by_id(result.elements)
    assert elements["Thing.name"]["max"] == "1"
    assert elements["Thing.part.part.label"]["short"] == "nested label"
    assert elements["Thing.part.part.label"]["base"]["path"] == "Thing.part.label"
    assert result.ok


def test_snapshots_are_memoised_per_canonical(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(monkeypatch)
    small = thing_profile()
    snapshots = Snapshots(source(small), FhirVersion.R4)
    first = snapshots.snapshot(small["url"])
    assert first is not None
    assert snapshots.snapshot(small["url"] + "|1.0.0") is first
    assert snapshots.generate(small) is first
    assert counting.calls == 1
    changed = thing_profile(short="changed")
    assert snapshots.generate(changed) is not first
    assert counting.calls == 2


def test_a_profile_on_a_profile_generates_each_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting(monkeypatch)
    base = thing_profile("base-thing")
    children = [thing_profile(f"child-{n}", base["url"], mustSupport=True) for n in range(3)]
    snapshots = Snapshots(source(base, *children), FhirVersion.R4)
    for child in children:
        result = snapshots.snapshot(child["url"])
        assert result is not None and result.issues == ()
        assert by_id(result.elements)["Thing.name"]["mustSupport"] is True
    assert counting.calls == 4


def test_disk_cache_serves_a_later_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = thing_profile("base-thing")
    child = thing_profile("child-thing", base["url"], mustSupport=True)
    first = Snapshots(source(base, child), FhirVersion.R4, cache_dir=tmp_path).snapshot(child["url"])
    assert first is not None and first.issues == ()
    assert len(list(tmp_path.glob("*.json"))) == 2
    counting = Counting(monkeypatch)
    again = Snapshots(source(base, child), FhirVersion.R4, cache_dir=tmp_path).snapshot(child["url"])
    assert counting.calls == 0
    assert again is not None
    assert again.structure_definition == first.structure_definition
    assert again.issues == first.issues


def test_disk_cache_entries_keep_their_issues(tmp_path: Path) -> None:
    broken = thing_profile(max="*", min=0)
    broken["differential"]["element"].append({"id": "Thing.nothing", "path": "Thing.nothing"})
    first = Snapshots(source(broken), FhirVersion.R4, cache_dir=tmp_path).generate(broken)
    again = Snapshots(source(broken), FhirVersion.R4, cache_dir=tmp_path).generate(broken)
    assert [i.message_id for i in first.issues] == ["snapshot.no-base-element"]
    assert again.issues == first.issues


def test_a_changed_dependency_invalidates_the_disk_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = thing_profile("base-thing")
    child = thing_profile("child-thing", base["url"], mustSupport=True)
    Snapshots(source(base, child), FhirVersion.R4, cache_dir=tmp_path).snapshot(child["url"])
    changed_base = thing_profile("base-thing", short="a changed base")
    counting = Counting(monkeypatch)
    result = Snapshots(source(changed_base, child), FhirVersion.R4, cache_dir=tmp_path).snapshot(child["url"])
    assert counting.calls == 2
    assert result is not None
    assert by_id(result.elements)["Thing.name"]["short"] == "a changed base"
    changed_core = fixture("synthetic-thing.json")
    changed_core["snapshot"]["element"][1]["short"] = "a changed core"
    counting.calls = 0
    cached = Snapshots(TarballSource([child, changed_base, changed_core]), FhirVersion.R4, cache_dir=tmp_path)
    assert by_id(cached.generate(child).elements)["Thing.name"]["short"] == "a changed base"
    assert counting.calls == 2


def test_corrupt_or_unwritable_cache_is_not_an_error(tmp_path: Path) -> None:
    small = thing_profile()
    Snapshots(source(small), FhirVersion.R4, cache_dir=tmp_path).generate(small)
    for entry in tmp_path.glob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    assert Snapshots(source(small), FhirVersion.R4, cache_dir=tmp_path).generate(small).elements
    for entry in tmp_path.glob("*.json"):
        entry.write_text(json.dumps({"structure_definition": [], "issues": 3}), encoding="utf-8")
    assert Snapshots(source(small), FhirVersion.R4, cache_dir=tmp_path).generate(small).elements
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    assert Snapshots(source(small), FhirVersion.R4, cache_dir=blocked / "below").generate(small).elements


def test_a_definition_with_decimals_from_a_payload_hashes_by_their_text() -> None:
    # StructureDefinitions inside a payload keep decimals exact (Decimal): hashing them must not fail,
    # and 1.0 and 1.00 are different texts, so different content
    one = {"resourceType": "StructureDefinition", "min": Decimal("1.0")}
    assert content_hash(one) == content_hash({"resourceType": "StructureDefinition", "min": Decimal("1.0")})
    assert content_hash(one) != content_hash({"resourceType": "StructureDefinition", "min": Decimal("1.00")})
