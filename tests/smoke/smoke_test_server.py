"""The installed `conformance test-server` against a small read-only FHIR server run here on 127.0.0.1:
the statement is written with every exchange as evidence, and `verify` accepts it offline. Needs the FHIR
packages (skipped, with the reason, without them)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from installed_support import PAYLOADS, Runner, shown

FHIR_JSON = "application/fhir+json"
PATIENT = json.loads((PAYLOADS / "uk-core" / "patient.json").read_text(encoding="utf-8"))
CAPABILITIES = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "date": "2026-01-01",
    "kind": "instance",
    "fhirVersion": "4.0.1",
    "format": ["json"],
    "rest": [
        {
            "mode": "server",
            "resource": [
                {
                    "type": "Patient",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [{"name": "_id", "type": "token"}],
                }
            ],
        }
    ],
}


def _not_found(what: str) -> dict[str, Any]:
    issue = {"severity": "error", "code": "not-found", "diagnostics": f"{what} is not here"}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


class _OnePatientServer(BaseHTTPRequestHandler):
    """Answers GET /metadata, GET /Patient/{id} and GET /Patient?... for the one patient it holds."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/metadata":
            self._answer(200, CAPABILITIES)
        elif url.path == f"/Patient/{PATIENT['id']}":
            self._answer(200, PATIENT)
        elif url.path == "/Patient":
            base = f"http://{self.headers['Host']}"
            entry = {
                "fullUrl": f"{base}/Patient/{PATIENT['id']}",
                "resource": PATIENT,
                "search": {"mode": "match"},
            }
            bundle = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [entry]}
            self._answer(200, bundle)
        else:
            self._answer(404, _not_found(url.path))

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", FHIR_JSON)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the statement records the exchanges."""


@pytest.fixture
def fhir_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OnePatientServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_test_server_writes_a_statement_that_verifies(
    run_conformance: Runner, package_path: Path, fhir_server: str, tmp_path: Path
) -> None:
    result = run_conformance(
        "test-server", fhir_server, "--standard", "uk-core-stu2", "--patient", PATIENT["id"], "--offline",
        "--package-path", package_path, "--supplier", "Smoke Ltd", "--product", "Smoke FHIR API",
        "--product-version", "1.0", "--out", "api.json",
    )  # fmt: skip
    # This server holds only a Patient: the other UK Core profiles' searches fail, exit 1, statement written.
    assert result.returncode == 1, shown(result)
    statement = json.loads((tmp_path / "api.json").read_text(encoding="utf-8"))
    exchanges = statement["evidence"]["api"]["exchanges"]
    assert any(urlsplit(exchange["url"]).path == "/metadata" for exchange in exchanges), exchanges[:3]
    tests = {test["id"]: test["outcome"] for test in statement["results"]["api"]["tests"]}
    assert (tests.get("read.UKCore-Patient"), tests.get("valid.UKCore-Patient")) == ("pass", "pass"), tests
    assert tests.get("search.UKCore-Observation.patient") == "fail", tests

    verified = run_conformance("verify", "api.json", "--package-path", package_path, "--offline")
    assert verified.returncode == 0, shown(verified)
