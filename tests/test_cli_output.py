"""`validate --output FILE`: the report is put in place only when the run ends well."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.settings import Settings

PATIENT = {"resourceType": "Patient", "id": "a", "gender": "female"}

pytestmark = pytest.mark.shared


@pytest.fixture(autouse=True)
def offline_packages(shared_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONFORMANCE_PACKAGE_PATH", str(shared_settings.package_path[0]))
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(shared_settings.work_cache))
    monkeypatch.setenv("CONFORMANCE_PACKAGE_CACHE", str(tmp_path / "package-cache"))
    monkeypatch.setenv("CONFORMANCE_OFFLINE", "1")


def _payloads(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(PATIENT), encoding="utf-8")
    return folder


def test_a_finished_run_puts_the_report_in_place_and_leaves_nothing_else(tmp_path: Path) -> None:
    payloads = _payloads(tmp_path / "in")
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    assert main(["validate", "--format", "json", "--output", str(report), str(payloads)]) == 0
    assert json.loads(report.read_text(encoding="utf-8"))["resourceType"] == "OperationOutcome"
    assert [p.name for p in report.parent.iterdir()] == ["report.json"]


def test_a_run_that_fails_half_way_keeps_the_previous_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payloads = _payloads(tmp_path / "in")
    (payloads / "b.json").symlink_to(tmp_path / "gone.json")  # listed, then unreadable
    report = tmp_path / "report.txt"
    report.write_text("the previous report\n", encoding="utf-8")
    code = main(["validate", "--output", str(report), str(payloads)])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot write" not in err  # the failure is the payload's, and said as such
    assert "b.json" in err
    assert report.read_text(encoding="utf-8") == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "report.txt"]


def test_a_report_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payloads = _payloads(tmp_path / "in")
    report = tmp_path / "missing-folder" / "report.txt"
    assert main(["validate", "--output", str(report), str(payloads)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {report}" in err
    assert "Traceback" not in err
