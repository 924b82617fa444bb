"""`conformance validate` as outside scorers and CI use it: arguments, exit codes, output formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_PACKAGES = REPO.parent / "shared" / "fhir-packages"
FIXTURES = REPO / "fixtures" / "validation"


def run_validate(*args: str | Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CONFORMANCE_CACHE_DIR": str(tmp_path / "cache"),
        "CONFORMANCE_PACKAGE_CACHE": str(tmp_path / "packages"),
        "CONFORMANCE_OFFLINE": "1",
    }
    argv = [sys.executable, "-m", "conformance", "validate", *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False, timeout=300)


@pytest.fixture(scope="module")
def packages() -> Path:
    if not (SHARED_PACKAGES / "hl7.fhir.r4.core#4.0.1.tgz").is_file():
        pytest.skip(f"needs the shared FHIR packages at {SHARED_PACKAGES} (absent from this checkout)")
    return SHARED_PACKAGES


def _patient(tmp_path: Path, name: str, **fields: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"resourceType": "Patient", "id": "p1", **fields}))
    return path


def test_a_valid_payload_exits_0_with_one_operation_outcome(tmp_path: Path, packages: Path) -> None:
    payload = _patient(tmp_path, "ok.json", active=True)
    result = run_validate("--package-path", packages, "--format", "json", payload, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["resourceType"] == "OperationOutcome"
    assert all(issue["severity"] not in ("error", "fatal") for issue in outcome["issue"])


def test_an_invalid_payload_exits_1_and_carries_line_column_and_message_id(
    tmp_path: Path, packages: Path
) -> None:
    payload = _patient(tmp_path, "bad.json", birthDate="1970-02-30")
    result = run_validate("--package-path", packages, "--format", "json", payload, tmp_path=tmp_path)
    assert result.returncode == 1, result.stderr
    errors = [i for i in json.loads(result.stdout)["issue"] if i["severity"] == "error"]
    assert [i["expression"] for i in errors] == [["Patient.birthDate"]]
    extensions = {e["url"].rsplit("-", 1)[-1]: next(v for k, v in e.items() if k.startswith("value"))
                  for e in errors[0]["extension"]}  # fmt: skip
    assert extensions["line"] == 1 and extensions["id"] == "type.date"


def test_several_files_give_a_bundle_of_outcomes(tmp_path: Path, packages: Path) -> None:
    good, bad = _patient(tmp_path, "a.json"), _patient(tmp_path, "b.json", gender="nonsense")
    result = run_validate("--package-path", packages, "--format", "json", good, bad, tmp_path=tmp_path)
    assert result.returncode == 1
    bundle = json.loads(result.stdout)
    assert bundle["resourceType"] == "Bundle"
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["OperationOutcome"] * 2


def test_an_unparseable_payload_is_a_fatal_issue_not_a_crash(tmp_path: Path, packages: Path) -> None:
    payload = tmp_path / "broken.json"
    payload.write_text('{"resourceType": "Patient", ')
    result = run_validate("--package-path", packages, "--format", "json", payload, tmp_path=tmp_path)
    assert result.returncode == 1
    assert [i["severity"] for i in json.loads(result.stdout)["issue"]] == ["fatal"]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "arguments",
    [("--no-such-option",), ("missing-file.json",), ("--fhir-version", "9.9", "x.json")],
    ids=["unknown-option", "missing-file", "unknown-version"],
)
def test_usage_problems_exit_2_with_one_line(tmp_path: Path, arguments: tuple[str, ...]) -> None:
    result = run_validate(*arguments, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_text_format_groups_issues_by_file(tmp_path: Path, packages: Path) -> None:
    payload = _patient(tmp_path, "bad.json", birthDate="1970-02-30")
    result = run_validate("--package-path", packages, payload, tmp_path=tmp_path)
    assert result.returncode == 1
    assert str(payload) in result.stdout and "type.date" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when the output is not a terminal


def test_a_profile_given_on_the_command_line_applies(tmp_path: Path, packages: Path) -> None:
    payload = _patient(tmp_path, "p.json")
    result = run_validate(
        "--package-path", packages, "--ig", "fhir.r4.ukcore.stu2#2.0.2",
        "--profile", "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient",
        "--format", "json", payload,
        tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    issues = json.loads(result.stdout)["issue"]
    assert all("Traceback" not in i["details"]["text"] for i in issues)


def test_xml_payloads_validate_like_json(tmp_path: Path, packages: Path) -> None:
    payload = tmp_path / "p.xml"
    payload.write_text(
        '<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><birthDate value="1970-02-30"/></Patient>'
    )
    result = run_validate("--package-path", packages, "--format", "json", payload, tmp_path=tmp_path)
    assert result.returncode == 1
    errors = [i for i in json.loads(result.stdout)["issue"] if i["severity"] == "error"]
    assert [i["expression"] for i in errors] == [["Patient.birthDate"]]


def test_terminology_answers_can_be_recorded_and_replayed(tmp_path: Path, packages: Path) -> None:
    payload = _patient(tmp_path, "p.json", gender="female", maritalStatus={"coding": [
        {"system": "http://snomed.info/sct", "code": "87915002"}]})  # fmt: skip
    recording = tmp_path / "answers.json"
    first = run_validate(
        "--package-path", packages, "--tx-record", recording, "--format", "json", payload, tmp_path=tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(recording.read_text())["format"]
    replayed = run_validate(
        "--package-path", packages, "--tx-replay", recording, "--format", "json", payload, tmp_path=tmp_path
    )
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == first.stdout


def test_a_terminology_server_needs_one_process(tmp_path: Path, packages: Path) -> None:
    payload = _patient(tmp_path, "p.json")
    result = run_validate(
        "--package-path",
        packages,
        "--tx",
        "http://127.0.0.1:9/fhir",
        "--jobs",
        "2",
        payload,
        tmp_path=tmp_path,
    )
    assert result.returncode == 2
    # the test environment is offline, which forbids a server first; either way a one-line usage error
    assert "--jobs 1" in result.stderr or "--offline" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
