"""An HTTP client for testing a live FHIR server politely, recording every exchange as evidence.

Politeness: a request budget for the whole run, a cap on simultaneous requests, a timeout per request,
retries with exponential backoff on 429, 502, 503, 504 and dropped connections (a `Retry-After` the
server sends is honoured, up to a limit), redirects followed only within the server's own origin.
Safety: only GET, and POST to `_search`, unless writes were allowed. Every attempt is recorded, with
credentials removed from headers, URLs and bodies.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from conformance.apitest.auth import Auth, AuthError, NoAuth
from conformance.errors import ConformanceError, UsageError
from conformance.statements.model import MAX_BODY, ApiExchange, body_bytes, clip

_RETRIED_STATUSES = frozenset({429, 502, 503, 504})
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_REMOVED = "[removed]"
_WITHHELD = "[withheld: the token endpoint's answer holds credentials]"
_WITHHELD_REQUEST = "[withheld: the token request holds credentials]"
_MAX_REDIRECTS = 5
FHIR_JSON = "application/fhir+json"


class ApiClientError(ConformanceError):
    """The server could not be reached at all (refused, TLS failure, no such host)."""


class BudgetSpent(ConformanceError):
    """The run's request budget is used up: the remaining tests are skipped."""


@dataclass(frozen=True)
class Politeness:
    max_requests: int = 1000
    concurrency: int = 2
    timeout: float = 30.0
    retries: int = 2
    backoff: float = 0.5
    max_retry_after: float = 30.0
    allow_writes: bool = False

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.concurrency < 1 or self.timeout <= 0 or self.retries < 0:
            raise UsageError("the request budget, concurrency and timeout must be positive, retries >= 0")


@dataclass(frozen=True)
class Reply:
    """What came back for one request (after retries and redirects): the last exchange's id and content."""

    exchange: str
    status: int | None
    headers: Mapping[str, str]
    body: bytes
    error: str | None = None
    exchanges: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None


@dataclass
class ApiClient:
    """Requests to one FHIR server (`base_url`), each recorded in `exchanges`."""

    base_url: str
    auth: Auth = field(default_factory=NoAuth)
    politeness: Politeness = field(default_factory=Politeness)
    transport: httpx.BaseTransport | None = None
    verify_tls: bool | ssl.SSLContext = True
    exchanges: list[ApiExchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"the server's base URL must be an http(s) URL, not {self.base_url!r}")
        self.base_url = self.base_url.rstrip("/")
        self._origin = (parts.scheme, parts.netloc.lower())
        self._http = httpx.Client(
            timeout=self.politeness.timeout,
            follow_redirects=False,
            transport=self.transport,
            verify=self.verify_tls,
        )
        self._slots = threading.BoundedSemaphore(self.politeness.concurrency)
        self._lock = threading.Lock()
        self._auth_lock = threading.Lock()
        self._sent = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def requests_sent(self) -> int:
        return self._sent

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    # --- the requests the tests make -------------------------------------------------------------------

    def get(
        self, path: str, *, headers: Mapping[str, str] | None = None, authenticated: bool = True
    ) -> Reply:
        wanted = {"Accept": FHIR_JSON, **(headers or {})}
        return self.request("GET", self.url(path), headers=wanted, authenticated=authenticated)

    def post_search(self, resource_type: str, form: Mapping[str, str]) -> Reply:
        body = str(httpx.QueryParams(dict(form))).encode("ascii")
        headers = {"Accept": FHIR_JSON, "Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", self.url(f"{resource_type}/_search"), headers=headers, body=body)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        authenticated: bool = True,
    ) -> Reply:
        self._check_allowed(method, url)
        ids: list[str] = []
        for _hop in range(_MAX_REDIRECTS + 1):
            request = _Request(method, url, headers or {}, body)
            reply = self._with_retries(request, authenticated=authenticated, ids=ids)
            location = reply.headers.get("location")
            if reply.status not in (301, 302, 303, 307, 308) or not location:
                return _with_ids(reply, ids)
            target = urljoin(url, location)
            if not self._same_origin(target):
                return _with_ids(reply, ids, f"redirect to another origin refused: {clip(target, 200)}")
            url = target
        return _with_ids(reply, ids, f"more than {_MAX_REDIRECTS} redirects")

    def _check_allowed(self, method: str, url: str) -> None:
        if not self._same_origin(url):
            raise UsageError(f"refusing to send a request outside the server under test: {url}")
        read_only = method == "GET" or (method == "POST" and urlsplit(url).path.endswith("/_search"))
        if not read_only and not self.politeness.allow_writes:
            raise UsageError(f"{method} {url} would change data on the server; allow writes to send it")

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc.lower()) == self._origin

    def _with_retries(self, request: _Request, *, authenticated: bool, ids: list[str]) -> Reply:
        attempt, renewed = 0, False
        while True:
            sent = dict(request.headers)
            if authenticated:
                with self._auth_lock:  # one token fetch at a time: the others then use its token
                    credential = self.auth.header(self._post_token)
                if credential:
                    sent["Authorization"] = credential
            reply = self._send(_Request(request.method, request.url, sent, request.body))
            ids.append(reply.exchange)
            if reply.status == 401 and authenticated and not renewed:
                # An expired or revoked token: fetch a new one once (a fixed bearer token stays refused).
                self.auth.refused()
                renewed = True
                continue
            if attempt >= self.politeness.retries or not _retryable(reply):
                return reply
            time.sleep(self._delay(reply, attempt))
            attempt += 1

    def _delay(self, reply: Reply, attempt: int) -> float:
        asked = _retry_after(reply.headers.get("retry-after"))
        delay = asked if asked is not None else self.politeness.backoff * (2**attempt)
        return min(delay, self.politeness.max_retry_after)

    def _post_token(self, url: str, form: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        """The token request: sent like the others, recorded with both bodies withheld."""
        body = str(httpx.QueryParams(form)).encode("ascii")
        sent = {**headers, "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        _, response = self._exchange(_Request("POST", url, sent, body, withhold=True))
        if isinstance(response, str):
            raise AuthError(f"cannot reach the token endpoint {url}: {response}")
        return response

    # --- one exchange --------------------------------------------------------------------------------

    def _send(self, request: _Request) -> Reply:
        exchange, response = self._exchange(request)
        if isinstance(response, str):
            return Reply(exchange, None, {}, b"", response)
        return Reply(exchange, response.status_code, _lower(response.headers), response.content)

    def _exchange(self, request: _Request) -> tuple[str, httpx.Response | str]:
        """Send one request and record it: the exchange's id, and the response or why there is none."""
        with self._lock:
            if self._sent >= self.politeness.max_requests:
                raise BudgetSpent(f"the request budget ({self.politeness.max_requests}) is spent")
            self._sent += 1
        started = time.monotonic()
        with self._slots:
            try:
                response = self._http.request(
                    request.method, request.url, headers=dict(request.headers), content=request.body
                )
            except httpx.HTTPError as exc:
                return self._record(request, None, started=started, error=_failure(exc)), _failure(exc)
        return self._record(request, response, started=started), response

    def _record(
        self, request: _Request, response: httpx.Response | None, *, started: float, error: str | None = None
    ) -> str:
        secrets = tuple(secret for secret in self.auth.secrets() if secret)
        body = request.body
        request_text = _WITHHELD_REQUEST if request.withhold and body else _text(body, secrets)
        content = response.content if response is not None else b""
        recorded_body, encoding, truncated = _recorded_body(content, secrets, request.withhold)
        fields = dict(
            method=request.method,
            url=clip(_scrub(request.url, secrets)),
            request_headers=_headers(request.headers, secrets),
            request_body=request_text,
            request_body_sha256=_sha256(request_text.encode()) if request_text is not None else None,
            status=response.status_code if response is not None else None,
            response_headers=_headers(response.headers, secrets) if response is not None else {},
            response_body=recorded_body,
            body_encoding=encoding,
            response_body_sha256=_sha256(body_bytes(recorded_body, encoding)),
            response_size=len(content),
            body_truncated=truncated,
            elapsed_ms=int((time.monotonic() - started) * 1000),
            error=clip(error) if error else None,
        )
        with self._lock:  # ids follow the order exchanges end in, also when several run at once
            exchange = ApiExchange(id=f"x{len(self.exchanges) + 1:04d}", **fields)
            self.exchanges.append(exchange)
        return exchange.id


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    withhold: bool = False  # a token request: both bodies hold credentials


def trusting(ca_cert: Path) -> ssl.SSLContext:
    """TLS that trusts the system's CAs and the given one (a supplier's test environment may use its own)."""
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=str(ca_cert))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot use {ca_cert} as a CA certificate: {exc}") from None
    return context


def _recorded_body(content: bytes, secrets: tuple[str, ...], withhold: bool) -> tuple[str, Any, bool]:
    if withhold:
        return _WITHHELD, "utf-8", False
    truncated = len(content) > MAX_BODY
    kept = content[:MAX_BODY] if truncated else content
    try:
        return _scrub(kept.decode("utf-8"), secrets), "utf-8", truncated
    except UnicodeDecodeError:
        # Kept byte for byte (base64 grows by a third: cut so it still fits).
        kept = kept[: MAX_BODY * 3 // 4]
        return base64.b64encode(kept).decode("ascii"), "base64", truncated or len(kept) < len(content)


def _text(body: bytes | None, secrets: tuple[str, ...]) -> str | None:
    if body is None:
        return None
    return _scrub(body.decode("utf-8", errors="replace"), secrets)


def _headers(headers: Mapping[str, str] | httpx.Headers, secrets: tuple[str, ...]) -> dict[str, str]:
    return {
        name.lower(): _REMOVED if name.lower() in _CREDENTIAL_HEADERS else clip(_scrub(value, secrets), 2000)
        for name, value in headers.items()
    }


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, _REMOVED)
    return text


def _lower(headers: httpx.Headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _failure(exc: httpx.HTTPError) -> str:
    """A sentence for a request that got no response: TLS problems named as such."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or cause
            return f"TLS failure: {reason} (the server's certificate or TLS setup)"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return "no answer within the timeout"
    return f"no response: {type(exc).__name__}: {exc}"


def _retryable(reply: Reply) -> bool:
    if reply.status is None:
        return reply.error is not None and not reply.error.startswith("TLS failure")
    return reply.status in _RETRIED_STATUSES


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _with_ids(reply: Reply, ids: list[str], error: str | None = None) -> Reply:
    return Reply(reply.exchange, reply.status, reply.headers, reply.body, error or reply.error, tuple(ids))
