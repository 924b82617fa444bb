"""OAuth2 client credentials (RFC 6749, 4.4) for terminology servers that need a token.

The NHS England Terminology Server, for one, answers system-to-system calls
only with a bearer token from its token endpoint. Tokens and client secrets
are held in objects that never show them: not in a repr, an exception
message, a recording or an outcome. Only the Authorization header of a
request to the server carries the token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from conformance.errors import ConformanceError
from conformance.terminology.answers import public_url

EXPIRY_MARGIN = 30.0  # seconds: a token this close to its end is renewed before use
DEFAULT_LIFETIME = 300.0  # when the token endpoint does not say how long a token lasts
MAX_TOKEN_RESPONSE = 64 * 1024


class TokenError(ConformanceError):
    """No access token could be had from the token endpoint (message safe to show: no secret in it)."""


class Secret:
    """A string that is never shown: its repr and str are masked; `reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class ClientCredentials:
    """A system-to-system account: where to ask for tokens, and who is asking."""

    token_url: str
    client_id: str
    client_secret: Secret
    scope: str | None = None


class TokenSource:
    """Gets a token when first needed and renews it before it expires; safe to share between threads."""

    def __init__(
        self,
        credentials: ClientCredentials,
        client: httpx.Client,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Secret | None = None
        self._expires_at = 0.0
        self.requests = 0  # how many tokens were asked for (tests and diagnostics)

    def __repr__(self) -> str:
        where = public_url(self.credentials.token_url)
        return f"TokenSource({where!r}, client_id={self.credentials.client_id!r})"

    def token(self) -> Secret:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - EXPIRY_MARGIN:
                self._token, lifetime = self._fetch()
                self._expires_at = self._clock() + lifetime
            return self._token

    def invalidate(self, token: Secret) -> None:
        """Forget `token` (the server refused it), so the next call asks for a new one."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> tuple[Secret, float]:
        self.requests += 1
        where = public_url(self.credentials.token_url)
        form = {
            "grant_type": "client_credentials",
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret.reveal(),
        }
        if self.credentials.scope:
            form["scope"] = self.credentials.scope
        try:
            response = self._client.post(
                self.credentials.token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise TokenError(f"the token endpoint {where} cannot be reached: {type(exc).__name__}") from None
        # The body of a refusal is never quoted: a token endpoint may echo what it was sent.
        if response.status_code in (400, 401, 403):
            raise TokenError(
                f"the token endpoint {where} refused the client credentials of client id "
                f"'{self.credentials.client_id}' (HTTP {response.status_code})"
            )
        if response.status_code != 200:
            raise TokenError(f"the token endpoint {where} answered HTTP {response.status_code}")
        return _token_of(response, where)


def _token_of(response: httpx.Response, where: str) -> tuple[Secret, float]:
    if len(response.content) > MAX_TOKEN_RESPONSE:
        raise TokenError(f"the token endpoint {where} answered with an oversized body")
    try:
        data = response.json()
    except ValueError:
        raise TokenError(f"the token endpoint {where} did not answer JSON") from None
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise TokenError(f"the token endpoint {where} answered without an access_token")
    token_type = data.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError(f"the token endpoint {where} gave a token of an unsupported type")
    lifetime = data.get("expires_in")
    seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_LIFETIME
    return Secret(token), seconds


class BearerAuth(httpx.Auth):
    """httpx authentication: the token on every request, and one renewal when the server refuses it."""

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    def __repr__(self) -> str:
        return f"BearerAuth({self.tokens!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.tokens.token()
        request.headers["Authorization"] = f"Bearer {token.reveal()}"
        response = yield request
        if response.status_code == 401:
            self.tokens.invalidate(token)
            request.headers["Authorization"] = f"Bearer {self.tokens.token().reveal()}"
            yield request
