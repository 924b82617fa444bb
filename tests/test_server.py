"""`conformance serve` as a real process: `$validate` answers exactly what `conformance validate` says.

Payloads are posted as JSON, XML and Parameters; limits (body size, time, concurrent requests) and
malformed requests each get an OperationOutcome with the fitting status, never a hang or a traceback.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from server_support import REPO, SHARED_PACKAGES, RunningServer, command_environment, running_server

pytestmark = [pytest.mark.shared, pytest.mark.slow]

UKCORE = "fhir.r4.ukcore.stu2#2.0.2"
UKCORE_PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
STATEMENTS = REPO / "fixtures" / "statements"
UKCORE_XML = SHARED_PACKAGES / "_examples" / "ukcore-stu2-xml"
FHIR_JSON = {"Content-Type": "application/fhir+json"}
POSITION_EXTENSIONS = (
    "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line",
    "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col",
)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    if not (SHARED_PACKAGES / "hl7.fhir.r4.core#4.0.1.tgz").is_file():
        pytest.skip(f"needs the shared FHIR packages at {SHARED_PACKAGES}")
    with running_server(["--ig", UKCORE]) as running:
        yield running


@pytest.fixture(scope="module")
def strict_server() -> Iterator[RunningServer]:
    """A server with tight limits: 20,000-byte bodies, 3 seconds a request, one request at a time."""
    if not (SHARED_PACKAGES / "hl7.fhir.r4.core#4.0.1.tgz").is_file():
        pytest.skip(f"needs the shared FHIR packages at {SHARED_PACKAGES}")
    limits = ["--max-body-bytes", "20000", "--request-seconds", "3", "--max-concurrent", "1"]
    with running_server(limits) as running:
        yield running


def command_outcome(path: Path, *options: str) -> dict[str, Any]:
    """What `conformance validate --format json` prints for one file."""
    command = [sys.executable, "-m", "conformance", "validate", f"--ig={UKCORE}", "--format=json"]
    result = subprocess.run(
        [*command, *options, str(path)],
        capture_output=True, text=True, env=command_environment(), timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def post(base: str, path: str, body: bytes, content_type: str, **params: str) -> httpx.Response:
    return httpx.post(
        f"{base}/{path}", content=body, headers={"Content-Type": content_type}, params=params, timeout=120
    )


def without_positions(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    issues = []
    for issue in outcome["issue"]:
        kept = dict(issue)
        kept["extension"] = [e for e in issue.get("extension", ()) if e["url"] not in POSITION_EXTENSIONS]
        issues.append(kept)
    return issues


def error_ids(outcome: dict[str, Any]) -> list[str]:
    ids = []
    for issue in outcome["issue"]:
        if issue["severity"] in ("error", "fatal"):
            ids.extend(e["valueCode"] for e in issue.get("extension", ()) if e["url"].endswith("message-id"))
    return ids


JSON_PAYLOADS = [
    STATEMENTS / "valid" / "patient-jane-doe.json",
    STATEMENTS / "valid" / "bundle-practice.json",
    STATEMENTS / "invalid" / "patient-bad-gender.json",
    STATEMENTS / "invalid" / "truncated.json",
]


@pytest.mark.parametrize("path", JSON_PAYLOADS, ids=lambda p: p.name)
def test_json_payloads_get_the_commands_outcome(server: RunningServer, path: Path) -> None:
    answer = post(server.base, "$validate", path.read_bytes(), "application/fhir+json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+json")
    assert answer.json() == command_outcome(path)


def test_a_bad_nhs_number_is_reported_as_the_command_reports_it(
    server: RunningServer, tmp_path: Path
) -> None:
    patient = json.loads((STATEMENTS / "valid" / "patient-jane-doe.json").read_text(encoding="utf-8"))
    patient["identifier"][0]["value"] = "9434765910"  # the check digit of 943476591 is 9
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(patient, indent=2), encoding="utf-8")
    answer = post(server.base, "Patient/$validate", path.read_bytes(), "application/fhir+json")
    expected = command_outcome(path)
    assert answer.json() == expected
    assert error_ids(expected), "a wrong NHS number check digit must be an error"


def test_the_profile_url_parameter_is_the_commands_profile_option(server: RunningServer) -> None:
    path = STATEMENTS / "invalid" / "patient-bad-gender.json"
    answer = post(
        server.base, "$validate", path.read_bytes(), "application/fhir+json", profile=UKCORE_PATIENT
    )
    assert answer.json() == command_outcome(path, "--profile", UKCORE_PATIENT)


def test_xml_payloads_get_the_commands_outcome(server: RunningServer) -> None:
    examples = sorted(UKCORE_XML.glob("UKCore-Patient*.xml"))
    if not examples:
        pytest.skip(f"no UK Core XML examples in {UKCORE_XML}")
    path = examples[0]
    answer = post(server.base, "Patient/$validate", path.read_bytes(), "application/fhir+xml")
    assert answer.status_code == 200
    assert answer.json() == command_outcome(path)


def test_a_parameters_body_carries_the_resource_and_the_profile(server: RunningServer) -> None:
    path = STATEMENTS / "invalid" / "patient-bad-gender.json"
    resource = json.loads(path.read_text(encoding="utf-8"))
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": resource},
            {"name": "profile", "valueCanonical": UKCORE_PATIENT},
        ],
    }
    answer = post(server.base, "Patient/$validate", json.dumps(parameters).encode(), "application/fhir+json")
    assert answer.status_code == 200
    # The resource inside Parameters has no lines of its own: the issues are the same, without positions.
    assert without_positions(answer.json()) == without_positions(
        command_outcome(path, "--profile", UKCORE_PATIENT)
    )


def test_the_instance_level_operation_validates_the_body(server: RunningServer) -> None:
    path = STATEMENTS / "valid" / "patient-jane-doe.json"
    answer = post(
        server.base, "Patient/riverside-patient-1/$validate", path.read_bytes(), "application/fhir+json"
    )
    assert answer.json() == command_outcome(path)


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "says"),
    [
        ("Observation/$validate", (STATEMENTS / "valid" / "patient-jane-doe.json").read_bytes(),
         "application/fhir+json", 400, "the body is a Patient"),
        ("$validate", b"", "application/fhir+json", 400, "no body"),
        ("$validate", b"  \n ", "application/fhir+json", 400, "no body"),
        ("$validate", b'{"resourceType": "Patient"}', "text/plain", 415, "not a FHIR format"),
        ("$validate", json.dumps({"resourceType": "Parameters", "parameter": [{"name": "mode"}]}).encode(),
         "application/fhir+json", 400, "exactly one 'resource' part"),
        ("$validate", json.dumps({"resourceType": "Parameters", "parameter": [
            {"name": "resource", "resource": {"resourceType": "Patient"}}, {"name": "profile"}]}).encode(),
         "application/fhir+json", 400, "canonical URL value"),
        ("Patient/x/y/$validate", b"{}", "application/fhir+json", 404, "no such endpoint"),
    ],
    ids=["wrong-type", "empty", "blank", "text-plain", "no-resource-part", "empty-profile", "unknown-path"],
)  # fmt: skip
def test_malformed_requests_get_an_operation_outcome(  # noqa: PLR0917 -- one per parametrised column
    server: RunningServer, path: str, body: bytes, content_type: str, status: int, says: str
) -> None:
    answer = post(server.base, path, body, content_type)
    assert answer.status_code == status
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert says in outcome["issue"][0]["details"]["text"]


def test_get_on_the_operation_is_refused_with_an_operation_outcome(server: RunningServer) -> None:
    answer = httpx.get(f"{server.base}/$validate", timeout=30)
    assert answer.status_code == 405
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_hostile_payloads_are_answered_like_the_command(server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(
        '{"resourceType": "Patient", "extension": ' + "[" * 5000 + "]" * 5000 + "}", encoding="utf-8"
    )
    answer = post(server.base, "$validate", path.read_bytes(), "application/fhir+json")
    assert answer.status_code == 200
    assert answer.json() == command_outcome(path)
    assert error_ids(answer.json())


def test_metadata_declares_the_operation_and_the_packages(server: RunningServer) -> None:
    statement = httpx.get(f"{server.base}/metadata", timeout=30).json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    operations = statement["rest"][0]["operation"]
    assert operations == [
        {"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"}
    ]
    assert UKCORE in statement["implementation"]["description"]


def test_the_server_validates_its_own_capability_statement_as_valid(server: RunningServer) -> None:
    statement = httpx.get(f"{server.base}/metadata", timeout=30).content
    answer = post(server.base, "CapabilityStatement/$validate", statement, "application/fhir+json")
    assert error_ids(answer.json()) == []


def test_an_oversized_body_is_refused_with_413(strict_server: RunningServer) -> None:
    big = json.dumps({"resourceType": "Basic", "code": {"text": "x" * 30000}}).encode()
    answer = post(strict_server.base, "$validate", big, "application/fhir+json")
    assert answer.status_code == 413
    assert "larger than 20000 bytes" in answer.json()["issue"][0]["details"]["text"]


def _start_slow_upload(base: str) -> socket.socket:
    """Send the head of a POST and a few bytes of its body, then nothing: the request stays open."""
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = (
        "POST /$validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/fhir+json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"resourceType": ')
    return sock


def _read_status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def test_a_slow_upload_is_answered_408_and_a_full_server_503(strict_server: RunningServer) -> None:
    slow = _start_slow_upload(strict_server.base)
    try:
        time.sleep(0.5)  # the slow request now holds the only place
        busy = post(strict_server.base, "$validate", b'{"resourceType": "Basic"}', "application/fhir+json")
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["issue"][0]["code"] == "transient"
        assert _read_status(slow) == 408
    finally:
        slow.close()
    time.sleep(0.2)
    after = post(strict_server.base, "$validate", b'{"resourceType": "Basic", "code": {"text": "x"}}',
                 "application/fhir+json")  # fmt: skip
    assert after.status_code == 200, "the place held by the slow request must be given back"


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--request-seconds", "0", "must be more than 0 seconds"),
        ("--request-seconds", "soon", "not a number of seconds"),
        ("--max-concurrent", "0", "must be at least 1"),
        ("--max-body-bytes", "1.5", "not a whole number"),
    ],
)
def test_bad_limits_are_refused_before_the_server_starts(option: str, value: str, says: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "serve", "--port", "0", option, value],
        capture_output=True, text=True, env=command_environment(), timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr
