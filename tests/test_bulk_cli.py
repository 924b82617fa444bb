"""`conformance validate` over folders and NDJSON, with JUnit and SARIF output, in one or more processes."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conformance.settings import Settings

REPO = Path(__file__).resolve().parents[1]
CI_PAYLOADS = REPO / "fixtures" / "ci" / "payloads"
SARIF_SCHEMA = REPO / "tests" / "schemas" / "sarif-2.1.0.json"

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def environment(shared_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "CONFORMANCE_CACHE_DIR": str(shared_settings.work_cache),
        "CONFORMANCE_PACKAGE_CACHE": str(home / "packages"),
        "CONFORMANCE_PACKAGE_PATH": str(shared_settings.package_path[0]),
        "CONFORMANCE_OFFLINE": "1",
    }


def _validate(
    environment: dict[str, str], *args: str | Path, stderr: int = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "conformance", "validate", *map(str, args)]
    return subprocess.run(
        argv,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=environment,
        cwd=REPO,
        check=False,
        timeout=300,
    )


def test_a_folder_gives_a_junit_report_with_a_case_per_payload(environment: dict[str, str]) -> None:
    result = _validate(environment, "--format", "junit", CI_PAYLOADS.relative_to(REPO))
    assert result.returncode == 1, result.stderr
    root = ET.fromstring(result.stdout)
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert sorted(suites) == [
        "fixtures/ci/payloads/collection.json",
        "fixtures/ci/payloads/nested/observation-no-status.xml",
        "fixtures/ci/payloads/nested/patients.ndjson",
        "fixtures/ci/payloads/patient-bad-date.json",
        "fixtures/ci/payloads/patient-valid.json",
    ]
    ndjson = suites["fixtures/ci/payloads/nested/patients.ndjson"]
    assert (ndjson.get("tests"), ndjson.get("failures")) == ("4", "2")
    collection = suites["fixtures/ci/payloads/collection.json"]
    assert (collection.get("tests"), collection.get("failures")) == ("3", "1")  # the Bundle and its 2 entries
    assert (root.get("tests"), root.get("failures")) == ("10", "5")


def test_sarif_output_is_valid_and_points_into_the_files(environment: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "report.sarif"
    result = _validate(environment, "--format", "sarif", "--output", report, CI_PAYLOADS.relative_to(REPO))
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    log = json.loads(report.read_text(encoding="utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    located = {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in log["runs"][0]["results"]
        if r["level"] == "error"
    }
    assert ("type.date", "fixtures/ci/payloads/patient-bad-date.json", 4) in located
    assert ("binding.required.not-in-valueset", "fixtures/ci/payloads/nested/patients.ndjson", 2) in located
    assert ("json.syntax", "fixtures/ci/payloads/nested/patients.ndjson", 5) in located
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == REPO.as_uri() + "/"


def test_jobs_give_the_same_output_as_one_process(environment: dict[str, str], tmp_path: Path) -> None:
    many = tmp_path / "many.ndjson"
    many.write_text(
        "\n".join(json.dumps({"resourceType": "Patient", "id": f"p{n}"}) for n in range(120)) + "\n"
    )
    alone = _validate(environment, "--format", "json", CI_PAYLOADS, many)
    together = _validate(environment, "--format", "json", "--jobs", "2", CI_PAYLOADS, many)
    assert alone.returncode == together.returncode == 1, together.stderr
    assert alone.stdout == together.stdout
    bundle = json.loads(together.stdout)
    assert len(bundle["entry"]) == 8 + 120
    assert bundle["entry"][-1]["fullUrl"].endswith("many.ndjson#line=120")


def test_an_ndjson_file_of_one_line_gives_one_operation_outcome(
    environment: dict[str, str], tmp_path: Path
) -> None:
    one = tmp_path / "one.ndjson"
    one.write_text('{"resourceType": "Patient", "birthDate": "2020-13-01"}\n')
    result = _validate(environment, "--format", "json", one)
    assert result.returncode == 1
    outcome = json.loads(result.stdout)
    assert outcome["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "arguments",
    [
        ("--jobs", "-1", "x.json"),
        ("--jobs", "many", "x.json"),
        ("--format", "xml", "x.json"),
        ("no-such-folder/",),
    ],
    ids=["negative-jobs", "jobs-not-a-number", "unknown-format", "missing-folder"],
)
def test_usage_problems_exit_2_with_one_line(environment: dict[str, str], arguments: tuple[str, ...]) -> None:
    result = _validate(environment, *arguments)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_no_progress_bar_when_stderr_is_not_a_terminal(environment: dict[str, str], tmp_path: Path) -> None:
    many = tmp_path / "many.ndjson"
    many.write_text("\n".join('{"resourceType": "Basic", "code": {"text": "x"}}' for _ in range(80)) + "\n")
    result = _validate(environment, "--format", "junit", many)
    assert result.returncode == 0, result.stderr
    assert "validating" not in result.stderr and "\x1b[" not in result.stderr + result.stdout


def test_a_progress_bar_on_a_terminal_for_long_runs(environment: dict[str, str], tmp_path: Path) -> None:
    many = tmp_path / "many.ndjson"
    many.write_text("\n".join('{"resourceType": "Basic", "code": {"text": "x"}}' for _ in range(80)) + "\n")
    controller, terminal = pty.openpty()
    try:
        result = _validate(environment, "--format", "junit", many, stderr=terminal)
        os.close(terminal)
        terminal = -1
        shown = _read_all(controller)
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    assert result.returncode == 0
    assert "validating" in shown
    assert ET.fromstring(result.stdout).get("tests") == "80"  # the report itself is untouched


def _read_all(descriptor: int) -> str:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:  # the terminal side is closed: everything has been read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_the_pre_commit_hook_runs_validate_on_the_files_it_matches(environment: dict[str, str]) -> None:
    hook = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    fields = dict(re.findall(r"^\s*-?\s*(id|entry|files|language): (.+)$", hook, flags=re.MULTILINE))
    assert fields["id"] == "fhir-conformance" and fields["language"] == "python"
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    command, subcommand = fields["entry"].split()
    assert command in scripts and subcommand == "validate"
    matched = sorted(p for p in CI_PAYLOADS.rglob("*") if p.is_file() and re.search(fields["files"], p.name))
    assert {p.suffix for p in matched} == {".json", ".xml", ".ndjson"}  # notes.txt is not matched
    result = _validate(environment, *(p.relative_to(REPO) for p in matched))
    assert result.returncode == 1
    assert "[type.date]" in result.stdout and "fixtures/ci/payloads/patient-bad-date.json" in result.stdout
