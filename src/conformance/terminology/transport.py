"""HTTP to a FHIR server: timeouts, retries with backoff, a limit on concurrent requests, and a breaker.

Every failure becomes a `ServerUnavailable` or `ServerFailed` with a one-line
reason fit to show a user; the callers turn them into "not checked" answers.
After a failure that says the server is not there (refused connection,
timeout, 502/503/504 after the retries), the breaker opens: for `cooldown`
seconds every request fails at once with the same reason, so a server that
disappears mid-run costs one timeout, not one per code.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from conformance import __version__
from conformance.errors import ConformanceError
from conformance.terminology.answers import public_url
from conformance.terminology.oauth import BearerAuth, ClientCredentials, TokenError, TokenSource

FHIR_JSON = "application/fhir+json"
MAX_BODY = 64 * 1024 * 1024  # a terminology answer larger than this is refused, not read into memory
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class ServerUnavailable(ConformanceError):
    """The server cannot be reached, or keeps failing: nothing it would say is known."""


class ServerFailed(ConformanceError):
    """The server answered, but not with a usable answer (4xx, 500, not JSON, too large)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class HttpOptions:
    """How hard to try: timeouts in seconds, retries after the first attempt, concurrency."""

    timeout: float = 20.0
    retries: int = 2
    backoff: float = 0.5  # seconds before the first retry, doubled for each later one
    max_backoff: float = 8.0
    max_concurrent: int = 4
    cooldown: float = 60.0  # how long a server that failed is not asked again


@dataclass(frozen=True)
class FhirResponse:
    status: int
    body: Any  # parsed JSON


class FhirHttp:
    """A FHIR server's base URL and the ways of asking it; thread-safe."""

    def __init__(
        self,
        base_url: str,
        *,
        options: HttpOptions | None = None,
        credentials: ClientCredentials | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.public_url = public_url(base_url)
        self.options = options or HttpOptions()
        self._credentials = credentials
        self._transport = transport
        self._sleep = sleep
        self._clock = clock
        self._slots = threading.BoundedSemaphore(max(1, self.options.max_concurrent))
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._token_client: httpx.Client | None = None
        self._tokens: TokenSource | None = None
        self._down_until = 0.0
        self._down_reason: str | None = None
        self.sent = 0  # requests sent, retries included

    def __repr__(self) -> str:
        return f"FhirHttp({self.public_url!r})"

    @property
    def token_requests(self) -> int:
        return self._tokens.requests if self._tokens is not None else 0

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = self._new_client()
            return self._client

    def _new_client(self) -> httpx.Client:
        limits = httpx.Limits(max_connections=max(1, self.options.max_concurrent))
        client = httpx.Client(
            timeout=self.options.timeout,
            limits=limits,
            transport=self._transport,
            follow_redirects=True,
            headers={"Accept": FHIR_JSON, "User-Agent": f"fhir-conformance/{__version__}"},
        )
        if self._credentials is not None:
            self._token_client = httpx.Client(timeout=self.options.timeout, transport=self._transport)
            self._tokens = TokenSource(self._credentials, self._token_client, clock=self._clock)
            client.auth = BearerAuth(self._tokens)
        return client

    def close(self) -> None:
        with self._lock:
            for client in (self._client, self._token_client):
                if client is not None:
                    client.close()
            self._client = self._token_client = None
            self._tokens = None

    # --- asking -------------------------------------------------------------------------------------

    def get(self, path: str, query: Sequence[tuple[str, str]] = ()) -> FhirResponse:
        return self._request("GET", path, query=query)

    def post(self, path: str, body: Mapping[str, Any]) -> FhirResponse:
        return self._request("POST", path, body=body)

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Mapping[str, Any] | None = None,
    ) -> FhirResponse:
        self._check_breaker()
        url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        content = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": FHIR_JSON} if content is not None else {}
        for attempt in range(max(0, self.options.retries) + 1):
            answer = self._attempt(method, url, query, content, headers)
            if isinstance(answer, FhirResponse):
                return answer
            failure, retry_after = answer
            if attempt >= self.options.retries:
                raise self._trip(failure)
            self._sleep(self._delay(attempt, retry_after))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(
        self,
        method: str,
        url: str,
        query: Sequence[tuple[str, str]],
        content: bytes | None,
        headers: Mapping[str, str],
    ) -> FhirResponse | tuple[str, float | None]:
        """The answer, or why this attempt failed in a way worth retrying (and how long to wait)."""
        try:
            status, raw, retry_after = self._send(method, url, query, content, headers)
        except ServerUnavailable as exc:
            return str(exc), None
        if status in RETRY_STATUSES:
            return f"it answered HTTP {status}", retry_after
        return self._response(status, raw)

    def _send(
        self,
        method: str,
        url: str,
        query: Sequence[tuple[str, str]],
        content: bytes | None,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes, float | None]:
        with self._slots:
            self.sent += 1
            try:
                with self._http().stream(
                    method, url, params=list(query), content=content, headers=dict(headers)
                ) as response:
                    raw = _read_limited(response)
                    return response.status_code, raw, _retry_after(response.headers.get("Retry-After"))
            except TokenError as exc:
                raise ServerUnavailable(str(exc)) from None
            except httpx.TimeoutException:
                raise ServerUnavailable(f"no answer within {self.options.timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise ServerUnavailable(_reason(exc)) from None

    def _response(self, status: int, raw: bytes) -> FhirResponse:
        body = _json(raw)
        if status in {401, 403}:
            raise self._trip(f"it refused the request (HTTP {status}): check the client credentials")
        if status >= 400:
            raise ServerFailed(f"the server {self.public_url} answered HTTP {status}", status, body)
        if body is None:
            raise ServerFailed(f"the server {self.public_url} did not answer JSON", status)
        self._reset_breaker()
        return FhirResponse(status, body)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.options.backoff * (2.0**attempt), self.options.max_backoff)
        if retry_after is not None:
            return min(max(retry_after, backoff), self.options.max_backoff)
        return backoff

    # --- the breaker --------------------------------------------------------------------------------

    def _check_breaker(self) -> None:
        with self._lock:
            if self._down_reason is not None and self._clock() < self._down_until:
                raise ServerUnavailable(self._unavailable(self._down_reason))

    def _trip(self, reason: str) -> ServerUnavailable:
        with self._lock:
            self._down_until = self._clock() + self.options.cooldown
            self._down_reason = reason
        return ServerUnavailable(self._unavailable(reason))

    def _reset_breaker(self) -> None:
        with self._lock:
            self._down_reason = None

    def _unavailable(self, reason: str) -> str:
        return f"the terminology server {self.public_url} is unavailable: {reason}"


def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise ServerUnavailable(f"an answer was larger than {MAX_BODY // (1024 * 1024)} MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _reason(exc: BaseException) -> str:
    """A short, credential-free reason: the exception's kind and first line, without URLs."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    kind = type(exc).__name__
    if not text or "://" in text:
        return kind
    return f"{kind}: {text}"[:200]
