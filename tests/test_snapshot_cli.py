"""`conformance snapshot` over the shared packages (skipped when they are absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.definitions.snapshot_compare import compare_snapshots
from test_snapshot_support import (
    FIXTURES,
    R4_CORE,
    SHARED_PACKAGES,
    UKCORE,
    shared_tarball,
    tarball_definitions,
)

pytestmark = pytest.mark.shared

UKCORE_PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"


@pytest.fixture(scope="module")
def work_cache(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Extracted packages (keyed by content), shared with the other test modules when pytest's cache is on."""
    cache = getattr(pytestconfig, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("fhir-conformance-work-cache"))
    return tmp_path_factory.mktemp("snapshot-cli-work")


@pytest.fixture(autouse=True)
def offline_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, work_cache: Path) -> None:
    """Only the shared packages, no network, and nothing written outside pytest's folders."""
    shared_tarball(R4_CORE)
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(work_cache))
    monkeypatch.setenv("CONFORMANCE_PACKAGE_CACHE", str(tmp_path / "package-cache"))
    monkeypatch.setenv("CONFORMANCE_REGISTRY", "http://127.0.0.1:9")
    monkeypatch.delenv("CONFORMANCE_PACKAGE_PATH", raising=False)
    monkeypatch.delenv("CONFORMANCE_OFFLINE", raising=False)


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["snapshot", "--offline", "--package-path", str(SHARED_PACKAGES), *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def printed(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    return data


def test_generates_a_uk_core_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--ig", "fhir.r4.ukcore.stu2#2.0.2", UKCORE_PATIENT)
    assert (code, err) == (0, "")
    sd = printed(out)
    ids = [e["id"] for e in sd["snapshot"]["element"]]
    assert sd["url"] == UKCORE_PATIENT
    assert "Patient.identifier:nhsNumber.system" in ids
    source = next(d for d in tarball_definitions(shared_tarball(UKCORE)) if d["url"] == UKCORE_PATIENT)
    assert sd["differential"] == source["differential"]


def test_prints_a_published_snapshot_unchanged_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    published = next(sd for sd in tarball_definitions(shared_tarball(R4_CORE)) if sd["id"] == "vitalsigns")
    code, out, _ = run(capsys, "http://hl7.org/fhir/StructureDefinition/vitalsigns")
    assert code == 0
    assert printed(out) == published
    code, out, err = run(capsys, "--regenerate", "vitalsigns")
    assert (code, err) == (0, "")
    regenerated = printed(out)["snapshot"]["element"]
    assert compare_snapshots(published["snapshot"]["element"], regenerated).same


def test_a_file_is_resolved_against_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(FIXTURES / "r4-patient-nhs-number.json"))
    assert (code, err) == (0, "")
    ids = [e["id"] for e in printed(out)["snapshot"]["element"]]
    assert "Patient.identifier:nhsNumber.value" in ids


def test_the_fhir_version_comes_from_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    shared_tarball("hl7.fhir.r3.core#3.0.1.tgz")
    code, out, err = run(capsys, str(FIXTURES / "stu3-forge-choice.json"))
    assert (code, err) == (0, "")
    assert any(e["id"] == "Observation.value[x].coding.system" for e in printed(out)["snapshot"]["element"])


def test_profile_errors_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(FIXTURES / "r4-patient-errors.json"))
    assert code == 0
    assert "snapshot" in printed(out)
    lines = err.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("conformance: error: ") for line in lines)
    assert sorted(line.rsplit("[", 1)[1] for line in lines) == [
        "snapshot.loosens-cardinality]",
        "snapshot.no-base-element]",
        "snapshot.type-not-in-base]",
    ]


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("http://example.org/fhir/StructureDefinition/unknown", "no StructureDefinition"),
        (str(FIXTURES / "truncated.json"), "cannot read"),
        (str(FIXTURES / "not-a-definition.json"), "is not a StructureDefinition"),
        (str(FIXTURES / "no-such-file.json"), "file not found"),
        (str(FIXTURES / "r4-missing-base.json"), "not-published-anywhere cannot be found"),
    ],
)
def test_failures_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argument: str, expected: str
) -> None:
    code, out, err = run(capsys, argument)
    assert (code, out) == (2, "")
    assert expected in err.splitlines()[-1]
    assert err.splitlines()[-1].startswith("conformance: error: ")


def test_unknown_fhir_version_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--fhir-version", "5.0", "Patient")
    assert (code, out) == (2, "")
    assert "unknown FHIR version" in err
