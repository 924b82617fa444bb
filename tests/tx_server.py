"""A FHIR terminology server on 127.0.0.1, for tests: real HTTP, real FHIR `Parameters`.

It answers `metadata` (CapabilityStatement), `metadata?mode=terminology`
(TerminologyCapabilities), `ValueSet/$validate-code`, `CodeSystem/$validate-code`,
`ValueSet/$expand` and `CodeSystem/$lookup` by GET (query parameters) and POST
(a Parameters body, where a ValueSet may travel inline), and batch Bundles
POSTed to the base. Its answers are decided by `LocalTerminology` over the
CodeSystems and ValueSets in `fixtures/tx/server/` (a tiny SNOMED CT UK edition
fragment and a tiny LOINC), plus any ValueSet sent with the question.

`/token` is an OAuth2 token endpoint (client credentials). Switches on the
`TxServer` make it require tokens, answer slowly, fail with a 5xx, vanish
after some answers, or behave like a plain R4 server (no typed `issues`).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from conformance.fhirversion import FhirVersion
from conformance.terminology import InMemorySource, LocalTerminology
from conformance.terminology import results as r
from conformance.terminology.results import CodeCheck, CodeResult

SERVER_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tx" / "server"
TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
MAX_REQUEST = 10 * 1024 * 1024

# How LocalTerminology's message ids read as tx-issue-type codes in the `issues` output.
TX_KINDS = {
    r.NOT_IN_VALUESET: "not-in-vs",
    r.NONE_IN_VALUESET: "not-in-vs",
    r.UNKNOWN_CODE: "invalid-code",
    r.DISPLAY_MISMATCH: "invalid-display",
    r.DISPLAY_WHITESPACE: "invalid-display",
    r.INACTIVE: "status-check",
    r.DEPRECATED: "status-check",
    "identifier.sct.check-digit": "invalid-code",
    "identifier.sct.format": "invalid-code",
    "identifier.sct.partition": "invalid-code",
}

Answer = tuple[int, dict[str, Any]]


def load_server_resources() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SERVER_FIXTURES.glob("*.json"))]


def outcome(severity: str, code: str, text: str, kind: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"text": text}
    if kind is not None:
        details["coding"] = [{"system": TX_ISSUE_TYPE, "code": kind}]
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "details": details}],
    }


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: str
    authorization: str | None
    body: bytes


@dataclass
class TxServer:
    """The running server's address and its switches; tests change the switches between requests."""

    url: str = ""
    token_url: str = ""
    resources: list[dict[str, Any]] = field(default_factory=load_server_resources)
    require_token: bool = False
    client_id: str = "conformance-tests"
    client_secret: str = "tx-secret-4f1b9c"  # a test fixture, not a credential
    token_lifetime: int = 3600
    delay: float = 0.0  # slow mode: seconds to wait before each FHIR answer
    fail_status: int | None = None  # failing mode: every FHIR answer is this status...
    fail_times: int | None = None  # ...or only the next N of them
    retry_after: str | None = None  # a Retry-After header on failing answers
    vanish_after: int | None = None  # answer N FHIR requests, then disappear (connections dropped)
    typed_issues: bool = True  # False: a plain R4 server, with no `issues` or `version` outputs
    raw_reply: tuple[int, bytes] | None = None  # a hostile server: this status and body for every FHIR answer
    batch: bool = True
    requests: list[Logged] = field(default_factory=list)
    issued_tokens: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    gone: bool = False
    in_flight: int = 0
    most_in_flight: int = 0  # the most FHIR requests being answered at once
    _stop: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _answered: int = 0

    @property
    def fhir_requests(self) -> list[Logged]:
        return [req for req in self.requests if req.path != "/token"]

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (the server answers 401 until a new one is used)."""
        self.revoked.update(self.issued_tokens)

    def disappear(self) -> None:
        """Stop answering and stop listening: open connections are dropped, new ones refused."""
        with self._lock:
            self.gone = True
            stop = self._stop
        if stop is not None:
            threading.Thread(target=stop, daemon=True).start()

    # --- decisions ------------------------------------------------------------------------------------

    def count_answer(self) -> bool:
        """Count one FHIR answer; False when the server must vanish instead of answering."""
        with self._lock:
            if self.gone:
                return False
            if self.vanish_after is not None and self._answered >= self.vanish_after:
                vanish = True
            else:
                self._answered += 1
                vanish = False
        if vanish:
            self.disappear()
            return False
        return True

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def failure(self) -> int | None:
        with self._lock:
            if self.fail_status is None:
                return None
            if self.fail_times is None:
                return self.fail_status
            if self.fail_times <= 0:
                return None
            self.fail_times -= 1
            return self.fail_status

    def authorised(self, header: str | None) -> bool:
        if not self.require_token:
            return True
        if not header or not header.startswith("Bearer "):
            return False
        token = header.removeprefix("Bearer ")
        return token in self.issued_tokens and token not in self.revoked

    def issue_token(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> Answer:
        client_id, client_secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if client_id != self.client_id or client_secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        token = secrets.token_urlsafe(24)
        self.issued_tokens.append(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}


class Terminology:
    """The server's answers, made by LocalTerminology over its own resources and any sent with a question."""

    def __init__(self, server: TxServer) -> None:
        self.server = server
        self._shared = LocalTerminology(InMemorySource(server.resources), FhirVersion.R4)

    def _service(self, inline: Mapping[str, Any] | None) -> LocalTerminology:
        if inline is None:
            return self._shared
        return LocalTerminology(InMemorySource([inline, *self.server.resources]), FhirVersion.R4)

    def _version_of(self, system: str | None) -> str | None:
        for resource in self.server.resources:
            if resource.get("resourceType") == "CodeSystem" and resource.get("url") == system:
                version = resource.get("version")
                return version if isinstance(version, str) else None
        return None

    # --- operations -----------------------------------------------------------------------------------

    def metadata(self, params: Mapping[str, Any]) -> Answer:
        if params.get("mode") == "terminology":
            return 200, self._terminology_capabilities()
        rest: dict[str, Any] = {"mode": "server", "operation": []}
        if self.server.batch:
            rest["interaction"] = [{"code": "batch"}]
        return 200, {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "kind": "instance",
            "software": {"name": "tx-test-server", "version": "0.1"},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [rest],
        }

    def _terminology_capabilities(self) -> dict[str, Any]:
        systems = [
            {"uri": res["url"], "version": [{"code": res["version"], "isDefault": True}]}
            for res in self.server.resources
            if res.get("resourceType") == "CodeSystem"
        ]
        return {"resourceType": "TerminologyCapabilities", "status": "active", "codeSystem": systems}

    def validate_in_valueset(self, params: Mapping[str, Any]) -> Answer:
        inline = params.get("valueSet") if isinstance(params.get("valueSet"), Mapping) else None
        url = inline.get("url") if inline is not None else params.get("url")
        if not isinstance(url, str):
            return 400, outcome("error", "required", "no value set was given (url or valueSet)")
        version = params.get("valueSetVersion")
        canonical = f"{url}|{version}" if isinstance(version, str) else url
        service = self._service(inline)
        if service.expansion_of(canonical) is None:
            return 404, outcome("error", "not-found", f"ValueSet {canonical} not found", "not-found")
        concept = params.get("codeableConcept")
        if isinstance(concept, Mapping):
            result = service.check_codeable_concept(canonical, concept.get("coding", []))
            system = next((c.get("system") for c in concept.get("coding", []) if c.get("system")), None)
            return 200, self._parameters(result, system)
        system, code, display = _coded(params)
        result = service.validate_code(
            canonical, system=system, code=code or "", display=display, version=params.get("systemVersion")
        )
        return 200, self._parameters(result, result.system or system)

    def validate_in_codesystem(self, params: Mapping[str, Any]) -> Answer:
        system, code, display = _coded(params)
        system = system or params.get("url")
        if not isinstance(system, str):
            return 400, outcome("error", "required", "no code system was given")
        result = self._shared.validate_coding_in_codesystem(
            system, code or "", display, params.get("version")
        )
        return 200, self._parameters(result, system)

    def expand(self, params: Mapping[str, Any]) -> Answer:
        inline = params.get("valueSet") if isinstance(params.get("valueSet"), Mapping) else None
        url = inline.get("url") if inline is not None else params.get("url")
        expansion = self._service(inline).expand(str(url)) if isinstance(url, str) else None
        if expansion is None:
            return 404, outcome("error", "not-found", f"ValueSet {url} cannot be expanded", "not-found")
        count = int(params.get("count", 1000))
        contains = [
            {"system": c.system, "code": c.code, "display": c.display, "version": self._version_of(c.system)}
            for c in expansion.contains[:count]
        ]
        return 200, {
            "resourceType": "ValueSet",
            "url": expansion.url,
            "version": expansion.version,
            "title": expansion.title,
            "status": "active",
            "expansion": {
                "timestamp": "2025-01-01T00:00:00Z",
                "total": len(expansion.contains),
                "contains": contains,
            },
        }

    def lookup(self, params: Mapping[str, Any]) -> Answer:
        system, code = params.get("system"), params.get("code")
        for resource in self.server.resources:
            if resource.get("resourceType") != "CodeSystem" or resource.get("url") != system:
                continue
            concept = _find_concept(resource.get("concept", []), code)
            if concept is not None:
                return 200, _lookup_parameters(resource, concept)
        return 404, outcome("error", "not-found", f"Unknown code {system}#{code}", "invalid-code")

    # --- the answer -----------------------------------------------------------------------------------

    def _parameters(self, result: CodeResult, system: str | None) -> dict[str, Any]:
        errors = [f for f in result.issues if f.severity.is_error]
        valid = result.status is CodeCheck.VALID and not errors
        params: list[dict[str, Any]] = [{"name": "result", "valueBoolean": valid}]
        if not valid:
            params.append({"name": "message", "valueString": result.message})
        if result.display:
            params.append({"name": "display", "valueString": result.display})
        if self.server.typed_issues:
            if system:
                params.append({"name": "system", "valueUri": system})
                version = self._version_of(system)
                if version:
                    params.append({"name": "version", "valueString": version})
            issues = _issues(result)
            if issues:
                params.append(
                    {"name": "issues", "resource": {"resourceType": "OperationOutcome", "issue": issues}}
                )
        return {"resourceType": "Parameters", "parameter": params}


def _issues(result: CodeResult) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if result.status is CodeCheck.INVALID:
        found.append(_issue("error", result.message, TX_KINDS.get(result.message_id, "invalid-data")))
    elif result.status is CodeCheck.UNKNOWN:
        found.append(_issue("error", result.message, "not-found"))
    for finding in result.issues:
        found.append(_issue(finding.severity.value, finding.message, TX_KINDS.get(finding.message_id)))
    return found


def _issue(severity: str, text: str, kind: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"text": text}
    if kind is not None:
        details["coding"] = [{"system": TX_ISSUE_TYPE, "code": kind}]
    issue_type = "code-invalid" if severity == "error" else "informational"
    return {"severity": severity, "code": issue_type, "details": details}


def _coded(params: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    coding = params.get("coding")
    if isinstance(coding, Mapping):
        return coding.get("system"), coding.get("code"), coding.get("display")
    return params.get("system"), params.get("code"), params.get("display")


def _find_concept(concepts: list[dict[str, Any]], code: Any) -> dict[str, Any] | None:
    for concept in concepts:
        if concept.get("code") == code:
            return concept
        found = _find_concept(concept.get("concept", []), code)
        if found is not None:
            return found
    return None


def _lookup_parameters(codesystem: Mapping[str, Any], concept: Mapping[str, Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": "name", "valueString": codesystem.get("name")},
        {"name": "version", "valueString": codesystem.get("version")},
        {"name": "display", "valueString": concept.get("display")},
    ]
    for designation in concept.get("designation", []):
        params.append(
            {"name": "designation", "part": [{"name": "value", "valueString": designation["value"]}]}
        )
    inactive = any(p.get("code") == "inactive" and p.get("valueBoolean") for p in concept.get("property", []))
    flag = [{"name": "code", "valueCode": "inactive"}, {"name": "value", "valueBoolean": inactive}]
    params.append({"name": "property", "part": flag})
    return {"resourceType": "Parameters", "parameter": params}


def parameters_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """A Parameters resource as name -> value (first of each name; a resource for `valueSet`)."""
    values: dict[str, Any] = {}
    for entry in body.get("parameter", []):
        if not isinstance(entry, Mapping) or entry.get("name") in values:
            continue
        value = entry.get("resource")
        if value is None:
            value = next((v for k, v in entry.items() if k.startswith("value")), None)
        values[str(entry.get("name"))] = value
    return values


ROUTES: dict[str, Callable[[Terminology, Mapping[str, Any]], Answer]] = {
    "/metadata": Terminology.metadata,
    "/ValueSet/$validate-code": Terminology.validate_in_valueset,
    "/CodeSystem/$validate-code": Terminology.validate_in_codesystem,
    "/ValueSet/$expand": Terminology.expand,
    "/CodeSystem/$lookup": Terminology.lookup,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers and httpx's pool use it
    state: TxServer
    terminology: Terminology

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `server.requests` instead."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.removeprefix("/fhir") or "/"
        body = self._body()
        self.state.requests.append(Logged(method, path, parts.query, self.headers.get("Authorization"), body))
        if parts.path == "/token" and method == "POST":
            self._token(body)
            return
        if not self.state.count_answer():
            self.close_connection = True  # gone: drop the connection without a word
            return
        self._fhir(method, path, parts.query, body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_REQUEST)) if length > 0 else b""

    def _token(self, body: bytes) -> None:
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        status, answer = self.state.issue_token(form, _basic(self.headers.get("Authorization")))
        self._send(status, answer, "application/json")

    def _fhir(self, method: str, path: str, query: str, body: bytes) -> None:
        self.state.enter()
        try:
            self._answer(method, path, query, body)
        finally:
            self.state.leave()

    def _answer(self, method: str, path: str, query: str, body: bytes) -> None:
        if self.state.delay:
            time.sleep(self.state.delay)
        failing = self.state.failure()
        if failing is not None:
            extra = {"Retry-After": self.state.retry_after} if self.state.retry_after else {}
            self._send(
                failing, outcome("error", "transient", f"failing on purpose ({failing})"), headers=extra
            )
            return
        if not self.state.authorised(self.headers.get("Authorization")):
            self._send(401, outcome("error", "login", "a bearer token is needed"))
            return
        if self.state.raw_reply is not None:
            self._send_raw(*self.state.raw_reply)
            return
        status, answer = self._route(method, path, query, body)
        self._send(status, answer)

    def _route(self, method: str, path: str, query: str, body: bytes) -> Answer:
        if method == "POST" and path == "/":
            return _batch(self.terminology, self.state, body)
        route = ROUTES.get(path)
        if route is None:
            return 404, outcome("error", "not-supported", f"no route {method} {path}")
        if method == "GET":
            return route(self.terminology, {k: v[0] for k, v in parse_qs(query).items()})
        try:
            return route(self.terminology, parameters_of(json.loads(body)))
        except ValueError:
            return 400, outcome("error", "structure", "the body is not JSON")

    def _send(
        self,
        status: int,
        body: Any,
        content_type: str = "application/fhir+json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._send_raw(status, json.dumps(body).encode(), content_type, headers)

    def _send_raw(
        self,
        status: int,
        raw: bytes,
        content_type: str = "application/fhir+json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout): nothing to do


def _handler(server: TxServer, terminology: Terminology) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"state": server, "terminology": terminology})


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
    return user, password


def _batch(terminology: Terminology, server: TxServer, body: bytes) -> Answer:
    if not server.batch:
        return 400, outcome("error", "not-supported", "batch is not supported here")
    bundle = json.loads(body)
    entries = []
    for entry in bundle.get("entry", []):
        route = ROUTES.get("/" + entry.get("request", {}).get("url", "").lstrip("/"))
        if route is None:
            status, answer = 404, outcome("error", "not-supported", "no such operation")
        else:
            status, answer = route(terminology, parameters_of(entry.get("resource", {})))
        reason = "OK" if status == 200 else "Error"
        entries.append({"resource": answer, "response": {"status": f"{status} {reason}"}})
    return 200, {"resourceType": "Bundle", "type": "batch-response", "entry": entries}


@contextmanager
def running_tx_server(**switches: Any) -> Iterator[TxServer]:
    """A TxServer listening on 127.0.0.1 (a free port) for the duration of the block."""
    server = TxServer(**switches)
    terminology = Terminology(server)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server, terminology))
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    server.url = f"http://{host!s}:{port}/fhir"
    server.token_url = f"http://{host!s}:{port}/token"
    stopped = threading.Event()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            httpd.shutdown()
            httpd.server_close()

    server._stop = stop
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.gone = True
        stop()
        thread.join(timeout=5)


# --- what the tests share -----------------------------------------------------------------------------

TX_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tx"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UK_EDITION = "http://snomed.info/sct/83821000000107/version/20250101"
CLINICAL_FINDINGS = "http://example.org/fhir/ValueSet/tx-clinical-findings|1.0.0"
BODY_STRUCTURES = "http://example.org/fhir/ValueSet/tx-body-structures|1.0.0"
ANY_LOINC = "http://example.org/fhir/ValueSet/tx-any-loinc|1.0.0"
SERVER_ONLY = "http://example.org/fhir/ValueSet/tx-server-diabetes"


def client_resources() -> list[dict[str, Any]]:
    """The ValueSets the client side has (fixtures/tx/profiles), as a Context would hold them."""
    folder = TX_FIXTURES / "profiles"
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("ValueSet-*.json"))]


def client_source() -> InMemorySource:
    return InMemorySource(client_resources())
