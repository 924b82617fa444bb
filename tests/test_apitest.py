"""Testing a live FHIR server: a real one (medplum's FHIR router, tests/node), started by these tests on
127.0.0.1 and loaded with the UK Core examples, clean or with faults switched on."""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.server
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from conformance.apitest import (
    ApiClient,
    BackendServices,
    BearerAuth,
    ClientCredentials,
    Politeness,
    ServerTester,
    ServerTestOptions,
)
from conformance.apitest.auth import Algorithm
from conformance.apitest.client import trusting
from conformance.context import Context
from conformance.errors import UsageError
from conformance.settings import Settings
from conformance.standards import load_standard
from conformance.statements import (
    Product,
    Statement,
    compare,
    render_compare_text,
    render_html,
    render_markdown,
    statement_json,
)
from conformance.statements.signing import pae
from conformance.statements.verify import verify_statement

REPO = Path(__file__).resolve().parents[1]
NODE_DIR = REPO / "tests" / "node"
SHARED = REPO.parent / "shared" / "fhir-packages"
EXAMPLES = SHARED / "_examples" / "ukcore-stu2"
PATIENT = "UKCore-Patient-RichardSmith-Example"
PRODUCT = Product("Test supplier", "medplum in memory", "4.5.2")

pytestmark = [pytest.mark.shared, pytest.mark.slow]

Server = Callable[..., str]


def _node_or_skip() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        pytest.skip("needs Node and `npm ci --prefix tests/node` (.ci/run installs them)")
    if not EXAMPLES.is_dir():
        pytest.skip(f"needs the UK Core examples at {EXAMPLES}")
    return node


@pytest.fixture(scope="module")
def standard_profiles() -> list[str]:
    standard = load_standard("uk-core-stu2")
    return [f"--supported-profile={p.type}={p.url}" for p in standard.profiles]


@pytest.fixture
def server(standard_profiles: list[str]) -> Iterator[Server]:
    """Starts the test FHIR server with the given arguments; every server started is stopped after."""
    node = _node_or_skip()
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, declare_profiles: bool = True) -> str:
        command = [node, str(NODE_DIR / "fhir-server.js"), "--examples", str(EXAMPLES), *args]
        if declare_profiles:
            command.extend(standard_profiles)
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server listens, or it exits
        if not line.startswith("listening "):
            raise AssertionError(
                f"the test server did not start: {process.stderr.read() if process.stderr else ''}"
            )
        return f"http://127.0.0.1:{int(line.split()[1])}"

    try:
        yield start
    finally:
        for process in started:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def tester(shared_settings: Settings) -> ServerTester:
    standard = load_standard("uk-core-stu2")
    context = Context.build(
        shared_settings, standard.fhir_version, igs=[p.reference for p in standard.packages]
    )
    return ServerTester(standard, context)


def _outcomes(statement: Statement) -> dict[str, str]:
    assert statement.results.api is not None
    return {test.id: test.outcome for test in statement.results.api.tests}


def _test(statement: Statement, test_id: str) -> Any:
    assert statement.results.api is not None
    return next(test for test in statement.results.api.tests if test.id == test_id)


OPTIONS = ServerTestOptions(patients=(PATIENT,))


def test_the_tester_finds_the_real_servers_deviations_from_the_search_spec(
    server: Server, tester: ServerTester
) -> None:
    statement = tester.test(server(), PRODUCT, options=OPTIONS)
    outcomes = _outcomes(statement)
    assert outcomes["capability.available"] == "pass"
    assert outcomes["capability.resource.Patient"] == "pass"
    assert outcomes["search.UKCore-Patient._id"] == "pass"
    assert outcomes["valid.UKCore-Patient"] == "pass"
    assert outcomes["read.UKCore-Patient"] == "pass"
    assert outcomes["protocol.unknown-id"] == "pass"
    assert outcomes["protocol.content-type"] == "pass"
    # medplum's own behaviour, found by the tests rather than told: an unknown type answers 200, an
    # unknown parameter empties the results, pages have no next link, a plain id does not match a reference.
    assert outcomes["protocol.unknown-type"] == "fail"
    assert outcomes["search-unknown-parameter.UKCore-Patient"] == "fail"
    assert any(o == "fail" for k, o in outcomes.items() if k.startswith("paging."))
    assert "answered 200" in _test(statement, "protocol.unknown-type").reason
    assert outcomes["search-reference-id.UKCore-Condition"] == "fail"
    assert outcomes["protocol.xml"] == "skipped"
    api = statement.evidence.api
    assert api is not None
    recorded = {exchange.id for exchange in api.exchanges}
    assert all(set(test.exchanges) <= recorded for test in statement.results.api.tests)  # type: ignore[union-attr]
    assert statement.results.verdict == "non-conformant"
    assert any(item.seen_in for item in statement.results.api.must_support)  # type: ignore[union-attr]


def test_faults_exit_1_named_in_the_statement_which_verifies_until_a_body_changes(
    server: Server, tmp_path: Path
) -> None:
    base = server(
        "--fault",
        "invalid-resources",
        "--fault",
        "server-error",
        "--fault",
        "wrong-content-type",
        "--fault",
        "transient-503",
    )
    out = tmp_path / "statement.json"
    env = {**os.environ, "CONFORMANCE_PACKAGE_PATH": str(SHARED)}
    command = [
        sys.executable,
        "-m",
        "conformance",
        "test-server",
        base,
        "--standard",
        "uk-core-stu2",
        "--patient",
        PATIENT,
        "--offline",
        "--out",
        str(out),
        "--html",
        str(tmp_path / "page.html"),
    ]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert run.returncode == 1, run.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["statement_version"] == "1.1"
    tests = {test["id"]: test for test in data["results"]["api"]["tests"]}
    assert tests["valid.UKCore-Patient"]["outcome"] == "fail"
    assert "not-a-gender" in tests["valid.UKCore-Patient"]["reason"]
    assert tests["search.UKCore-AllergyIntolerance.patient"]["outcome"] == "fail"
    assert "500" in tests["search.UKCore-AllergyIntolerance.patient"]["reason"]
    assert tests["protocol.content-type"]["outcome"] == "fail"
    assert "text/plain" in tests["protocol.content-type"]["reason"]
    # 503 answers were retried (Retry-After: 0) and are in the evidence too.
    assert any(exchange["status"] == 503 for exchange in data["evidence"]["api"]["exchanges"])

    verify = [sys.executable, "-m", "conformance", "verify", str(out)]
    accepted = subprocess.run(verify, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr

    exchange = next(x for x in data["evidence"]["api"]["exchanges"] if x["response_body"].startswith("{"))
    exchange["response_body"] = exchange["response_body"].replace("{", "{ ", 1)
    out.write_text(json.dumps(data), encoding="utf-8")
    refused = subprocess.run(verify, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert refused.returncode == 1
    assert exchange["id"] in refused.stdout + refused.stderr


def test_verify_revalidates_the_recorded_bodies_offline(
    server: Server, tester: ServerTester, tmp_path: Path, shared_settings: Settings
) -> None:
    statement = tester.test(server("--fault", "invalid-resources"), PRODUCT, options=OPTIONS)
    path = tmp_path / "statement.json"
    path.write_text(statement_json(statement), encoding="utf-8")
    checks = {check.name: check for check in verify_statement(path, settings=shared_settings).checks}
    assert checks["exchanges"].status == "pass"
    assert checks["re-validation"].status == "pass", checks["re-validation"].detail
    # A recorded resource said valid that is not: re-validation tells.
    data = json.loads(path.read_text(encoding="utf-8"))
    record = next(r for r in data["evidence"]["api"]["resources"] if r["resource_type"] == "Patient")
    record["valid"] = True
    path.write_text(json.dumps(data), encoding="utf-8")
    again = {check.name: check for check in verify_statement(path, settings=shared_settings).checks}
    assert again["re-validation"].status == "fail"


def test_client_credentials_tokens_are_renewed_and_secrets_never_recorded(
    server: Server, tester: ServerTester
) -> None:
    secret = "s3cret-" + os.urandom(8).hex()
    base = server("--fault", "token", "--fault", "expiring-token", "--client-secret", secret)
    auth = ClientCredentials(f"{base}/token", "conformance-tester", "system/*.read", client_secret=secret)
    statement = tester.test(base, PRODUCT, auth=auth, options=OPTIONS)
    text = statement_json(statement)
    assert _outcomes(statement)["search.UKCore-Patient._id"] == "pass"
    assert len(auth.issued()) > 1  # tokens serve 20 requests and live two seconds: renewed during the run
    for value in (secret, *auth.secrets()):
        assert value not in text
    api = statement.evidence.api
    assert api is not None and api.auth == "OAuth2 client credentials (client secret)"
    assert all(x.request_headers.get("authorization") in (None, "[removed]") for x in api.exchanges)


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
def test_smart_backend_services_with_either_key(
    server: Server, tester: ServerTester, tmp_path: Path, algorithm: Algorithm
) -> None:
    key = (
        rsa.generate_private_key(65537, 2048)
        if algorithm == "RS384"
        else ec.generate_private_key(ec.SECP384R1())
    )
    private, public = tmp_path / "client.pem", tmp_path / "client.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    base = server("--fault", "token", "--client-key", str(public))
    auth = BackendServices(
        f"{base}/token", "conformance-tester", "system/*.read", key_path=private, algorithm=algorithm
    )
    statement = tester.test(base, PRODUCT, auth=auth, options=ServerTestOptions(patients=(PATIENT,)))
    assert _outcomes(statement)["read.UKCore-Patient"] == "pass"
    text = statement_json(statement)
    assert all(value not in text for value in auth.secrets())
    assert "BEGIN" not in text


def test_a_slow_server_times_out_with_a_clear_reason(server: Server) -> None:
    base = server("--fault", "slow", "--delay-ms", "1500")
    with ApiClient(base, politeness=Politeness(timeout=0.3, retries=1, backoff=0.01)) as client:
        reply = client.get("metadata")
    assert reply.status is None and reply.error == "no answer within the timeout"
    assert len(client.exchanges) == 2  # retried once


def test_only_reads_unless_writes_are_allowed_and_the_budget_holds(server: Server) -> None:
    base = server()
    with ApiClient(base, politeness=Politeness(max_requests=1)) as client:
        with pytest.raises(UsageError, match="allow writes"):
            client.request("DELETE", f"{base}/Patient/{PATIENT}")
        with pytest.raises(UsageError, match="outside the server"):
            client.get("http://127.0.0.1:9/metadata")
        assert client.get("metadata").status == 200
        with pytest.raises(Exception, match="budget"):
            client.get("metadata")


def test_tls_failure_is_named(server: Server) -> None:
    base = server().replace("http://", "https://")
    with ApiClient(base, politeness=Politeness(retries=0)) as client:
        reply = client.get("metadata")
    assert reply.error is not None and reply.error.startswith("TLS failure")


def test_the_page_opens_a_failing_tests_exchange_without_scripts(
    server: Server, tester: ServerTester, tmp_path: Path
) -> None:
    statement = tester.test(server("--fault", "server-error"), PRODUCT, options=OPTIONS)
    page = render_html(statement)
    assert "<script" not in page
    row = page.split('<tr id="api-search.UKCore-AllergyIntolerance.patient">', 1)[1].split("</tr>", 1)[0]
    assert "<details><summary>GET " in row and "database unavailable" in row
    passing = page.split('<tr id="api-read.UKCore-Patient">', 1)[1].split("</tr>", 1)[0]
    assert "<details>" not in passing  # only failed tests carry their exchanges on the page
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return  # the markup is checked above; the browser check needs chromium (.ci/run installs it)
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
    ]
    dumped = subprocess.run(
        [chromium, *flags, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert 'id="api-tests"' in dumped.stdout and "<details><summary>GET " in dumped.stdout


def test_the_standards_own_capability_statement_adds_required_search_parameters(
    server: Server, tester: ServerTester
) -> None:
    requirement = {
        "resourceType": "CapabilityStatement",
        "url": "http://example.org/fhir/CapabilityStatement/ukcore-server-requirements",
        "status": "draft",
        "kind": "requirements",
        "date": "2026-01-01",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "Patient",
                        "profile": "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient",
                        "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "vread"}],
                        "searchParam": [
                            {"name": "birthdate", "type": "date"},
                            {"name": "name", "type": "string"},
                        ],
                    }
                ],
            }
        ],
    }
    context = tester.validator.context.with_resources([requirement])
    demanding = ServerTester(tester.standard, context)
    statement = demanding.test(server(), PRODUCT, options=OPTIONS)
    outcomes = _outcomes(statement)
    assert outcomes["search.UKCore-Patient.name"] == "pass"
    assert "search.UKCore-Patient.birthdate" in outcomes
    capability = _test(statement, "capability.resource.Patient")
    assert capability.outcome == "fail" and "interaction vread is not declared" in capability.reason


def test_a_fixed_bearer_token_is_sent_and_kept_out_of_the_evidence(server: Server) -> None:
    base = server("--fault", "token")
    with ApiClient(base, BearerAuth("not-a-real-token-" + os.urandom(6).hex())) as client:
        refused = client.get(f"Patient/{PATIENT}")
        token = client.auth.secrets()[0]
        assert refused.status == 401  # the server knows no such token; a fixed token cannot be renewed
        assert len(client.exchanges) == 2
        text = "".join(exchange.model_dump_json() for exchange in client.exchanges)
    assert token not in text and "[removed]" in text


class _Redirecting(http.server.BaseHTTPRequestHandler):
    """Not a FHIR server: redirects /away to another origin and /here to /target (a Patient); answers
    everything else with JSON nested far deeper than any parser's recursion limit."""

    def do_GET(self) -> None:
        if self.path in ("/here", "/away"):
            self.send_response(302)
            self.send_header(
                "Location", "http://127.0.0.2:9/elsewhere" if self.path == "/away" else "/target"
            )
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"resourceType":"Patient","id":"x"}' if self.path == "/target" else b"[" * 100_000
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.do_GET()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def redirecting() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_redirects_are_followed_only_within_the_servers_origin(redirecting: str) -> None:
    with ApiClient(redirecting) as client:
        followed = client.get("here")
        refused = client.get("away")
    assert followed.status == 200 and followed.json() == {"resourceType": "Patient", "id": "x"}
    assert len(followed.exchanges) == 2
    assert refused.status == 302 and refused.error is not None and "another origin" in refused.error
    assert all("127.0.0.2" not in exchange.url for exchange in client.exchanges)


def test_retry_after_is_honoured_and_retries_are_recorded(server: Server) -> None:
    base = server("--fault", "transient-503")
    with ApiClient(base, politeness=Politeness(retries=2, backoff=5.0)) as client:
        replies = [client.get("metadata") for _ in range(3)]
    # The third request met a 503 with Retry-After: 0, so it was retried at once (not after 5 s backoff).
    assert [reply.status for reply in replies] == [200, 200, 200]
    assert [exchange.status for exchange in client.exchanges] == [200, 200, 503, 200]
    assert replies[2].exchanges == ("x0003", "x0004")


def test_unreachable_or_tls_failures_exit_2_with_a_clear_message(server: Server, tmp_path: Path) -> None:
    base = server().replace("http://", "https://")
    env = {**os.environ, "CONFORMANCE_PACKAGE_PATH": str(SHARED)}
    command = [sys.executable, "-m", "conformance", "test-server", base, "--standard", "uk-core-stu2",
               "--offline", "--retries", "0", "--out", str(tmp_path / "s.json")]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert run.returncode == 2
    assert "TLS failure" in run.stderr and "Traceback" not in run.stderr


def test_hostile_bodies_are_failed_tests_not_crashes(tester: ServerTester, redirecting: str) -> None:
    statement = tester.test(redirecting, PRODUCT, options=OPTIONS)
    outcomes = _outcomes(statement)
    assert outcomes["capability.available"] == "fail"
    searches = [outcome for test_id, outcome in outcomes.items() if test_id.startswith("search.")]
    assert searches and set(searches) == {"fail"}
    assert statement.results.verdict == "non-conformant"
    reason = _test(statement, "search.UKCore-Patient._id").reason
    assert "did not answer with a searchset Bundle" in reason or "answered" in reason


def test_markdown_and_compare_show_api_results(server: Server, tester: ServerTester) -> None:
    statement = tester.test(server("--fault", "server-error"), PRODUCT, options=OPTIONS)
    markdown = render_markdown(statement)
    assert "## Tests of the live server" in markdown
    assert "search.UKCore-AllergyIntolerance.patient" in markdown
    text = render_compare_text(compare([statement, statement]))
    assert "API TESTS" in text and "Failed (" in text


def test_a_signed_1_0_statement_still_reads_and_verifies(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    data = json.loads(_legacy_statement_text())
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    signature = key.sign(pae("application/vnd.fhir-conformance.statement+json", body))
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    data["signature"] = {
        "format": "dsse-v1-ed25519",
        "payload_type": "application/vnd.fhir-conformance.statement+json",
        "key_id": "sha256:" + hashlib.sha256(public).hexdigest(),
        "public_key": base64.b64encode(public).decode("ascii"),
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    written = tmp_path / "old.json"
    written.write_text(json.dumps(data, indent=2), encoding="utf-8")
    checks = {check.name: check for check in verify_statement(written).checks}
    assert checks["schema"].status == "pass" and "1.0" in checks["schema"].detail
    assert checks["signature"].status == "pass", checks["signature"].detail
    data["results"]["api"] = {
        "base_url": "http://x",
        "outcome": "pass",
        "reason": "",
        "counts": {},
        "tests": [],
    }
    written.write_text(json.dumps(data), encoding="utf-8")
    assert verify_statement(written).checks[0].status == "fail"  # a 1.0 statement holds no API results


def _legacy_statement_text() -> str:
    """A statement as format 1.0 wrote it (no fields added since)."""
    zero = "0" * 64
    return json.dumps({
        "statement_version": "1.0",
        "subject": {"supplier": "S", "product": "P", "product_version": "1", "payload_count": 0,
                    "payload_set_sha256": hashlib.sha256(b"").hexdigest()},
        "standard": {"id": "x", "title": "X", "publisher": "P", "description": "", "fhir_version": "4.0.1",
                     "definition_sha256": zero, "package_ranges": [], "packages": [], "profiles": []},
        "results": {"verdict": "not-tested", "reason": "nothing", "rests_on_draft_profiles": False,
                    "profiles": [], "unreadable_payloads": 0, "out_of_scope": [], "suppressed_issues": 0},
        "evidence": {"payloads": []},
        "environment": {"tool": "fhir-conformance", "tool_version": "0.1", "python_version": "3.11",
                        "terminology": {"kind": "offline", "description": "offline", "server": None,
                                        "editions": [], "answers_file": None, "answers_sha256": None},
                        "suppressions": []},
        "provenance": {"generated_at": "2026-01-01T00:00:00Z", "generated_by": "t", "command": "c"},
    })  # fmt: skip


def test_the_command_keeps_secrets_out_of_its_output_and_statement(server: Server, tmp_path: Path) -> None:
    secret = "cli-secret-" + os.urandom(8).hex()
    base = server("--fault", "token", "--client-secret", secret)
    out, page = tmp_path / "statement.json", tmp_path / "page.html"
    env = {**os.environ, "CONFORMANCE_PACKAGE_PATH": str(SHARED), "SUPPLIER_SECRET": secret}
    command = [sys.executable, "-m", "conformance", "test-server", base, "--standard", "uk-core-stu2",
               "--patient", PATIENT, "--offline", "--auth", "client-credentials",
               "--token-url", f"{base}/token", "--client-id", "conformance-tester",
               "--client-secret-env", "SUPPLIER_SECRET", "--out", str(out), "--html", str(page)]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert run.returncode == 1, run.stderr  # the test server keeps medplum's deviations
    written = out.read_text(encoding="utf-8") + page.read_text(encoding="utf-8")
    assert secret not in run.stdout + run.stderr + written
    data = json.loads(out.read_text(encoding="utf-8"))
    assert "--client-secret-env SUPPLIER_SECRET" in data["provenance"]["command"]
    statuses = [x["status"] for x in data["evidence"]["api"]["exchanges"]]
    assert 401 not in statuses
    token = next(x for x in data["evidence"]["api"]["exchanges"] if x["url"].endswith("/token"))
    assert token["response_body"].startswith("[withheld") and token["request_body"].startswith("[withheld")


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for 127.0.0.1 it signed: (CA cert, server cert, server key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    local = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    address = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder().subject_name(local).issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1)).add_extension(address, critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def test_a_private_ca_is_trusted_only_when_given(tmp_path: Path) -> None:
    ca, cert, key = _certificates(tmp_path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"https://127.0.0.1:{httpd.server_address[1]}"
    try:
        with ApiClient(base, politeness=Politeness(retries=0)) as client:
            refused = client.get("target")
        with ApiClient(base, politeness=Politeness(retries=0), verify_tls=trusting(ca)) as client:
            trusted = client.get("target")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
    assert refused.error is not None and refused.error.startswith("TLS failure")
    assert trusted.status == 200 and trusted.json() == {"resourceType": "Patient", "id": "x"}
    with pytest.raises(UsageError, match="CA certificate"):
        trusting(key.with_suffix(".missing"))
