"""How the tester authenticates: none, a bearer token, OAuth2 client credentials, SMART Backend Services.

An `Auth` gives the Authorization header for a request, forgets a token the server refused (so the next
request fetches a fresh one), and names its secrets so that the recorder can remove them from every
exchange. Tokens are fetched with the same client as the FHIR requests, so the token endpoint is bound by
the same politeness rules, but token exchanges are recorded with their bodies withheld.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from conformance.errors import InputError, UsageError

Algorithm = Literal["RS384", "ES384"]
TokenPost = Callable[[str, dict[str, str], dict[str, str]], httpx.Response]
"""Posts a form to the token endpoint: (url, form, headers) -> response."""

_EARLY_REFRESH_SECONDS = 10
_ASSERTION_LIFETIME_SECONDS = 300  # the most SMART Backend Services allows
MAX_KEY_BYTES = 64 * 1024


class AuthError(InputError):
    """Credentials the server would not accept, or a token endpoint that did not answer as OAuth2 says."""


class Auth(Protocol):
    description: str

    def header(self, post: TokenPost) -> str | None: ...

    def refused(self) -> None: ...

    def secrets(self) -> tuple[str, ...]: ...


@dataclass
class NoAuth:
    description: str = "none"

    def header(self, post: TokenPost) -> str | None:
        return None

    def refused(self) -> None:
        return None

    def secrets(self) -> tuple[str, ...]:
        return ()


@dataclass
class BearerAuth:
    """A token given by the caller: it cannot be renewed."""

    token: str
    description: str = "bearer token"

    def header(self, post: TokenPost) -> str | None:
        return f"Bearer {self.token}"

    def refused(self) -> None:
        return None

    def secrets(self) -> tuple[str, ...]:
        return (self.token,)


@dataclass
class _Token:
    value: str
    expires_at: float


@dataclass
class _TokenAuth:
    """Fetches a token from `token_url` when there is none, it is about to expire, or it was refused."""

    token_url: str
    client_id: str
    scope: str
    _token: _Token | None = field(default=None, init=False, repr=False)
    _issued: list[str] = field(default_factory=list, init=False, repr=False)

    def header(self, post: TokenPost) -> str | None:
        if self._token is None or self._token.expires_at <= time.monotonic():
            self._token = self._fetch(post)
        return f"Bearer {self._token.value}"

    def refused(self) -> None:
        self._token = None

    def _form(self) -> tuple[dict[str, str], dict[str, str]]:
        raise NotImplementedError

    def _fetch(self, post: TokenPost) -> _Token:
        form, headers = self._form()
        response = post(self.token_url, form, headers)
        if response.status_code != 200:
            raise AuthError(
                f"the token endpoint {self.token_url} refused the client ({response.status_code})"
            )
        try:
            answer = json.loads(response.content)
            value = answer["access_token"]
            lifetime = int(answer.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise AuthError(f"the token endpoint {self.token_url} did not answer with a token") from None
        if not isinstance(value, str) or not value:
            raise AuthError(f"the token endpoint {self.token_url} did not answer with a token")
        self._issued.append(value)
        # Replaced a little before it expires (a fifth of its life, at most ten seconds), so that a request
        # does not set out with a token that lapses on the way.
        margin = min(_EARLY_REFRESH_SECONDS, lifetime / 5)
        return _Token(value, time.monotonic() + lifetime - margin)

    def issued(self) -> tuple[str, ...]:
        return tuple(self._issued)


@dataclass
class ClientCredentials(_TokenAuth):
    """OAuth2 client credentials with a client secret (HTTP Basic, RFC 6749 section 2.3.1)."""

    client_secret: str = ""
    description: str = "OAuth2 client credentials (client secret)"

    def _form(self) -> tuple[dict[str, str], dict[str, str]]:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        return form, headers

    def secrets(self) -> tuple[str, ...]:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return (self.client_secret, base64.b64encode(pair).decode("ascii"), *self.issued())


@dataclass
class BackendServices(_TokenAuth):
    """SMART Backend Services: a client assertion (JWT) signed with the client's private key."""

    key_path: Path = Path()
    algorithm: Algorithm = "RS384"
    key_id: str = ""
    description: str = "SMART Backend Services"
    _assertions: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self._key = load_signing_key(self.key_path, self.algorithm)
        self.description = f"SMART Backend Services (private_key_jwt, {self.algorithm})"

    def _form(self) -> tuple[dict[str, str], dict[str, str]]:
        assertion = self.assertion()
        self._assertions.append(assertion)
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        if self.scope:
            form["scope"] = self.scope
        return form, {}

    def assertion(self) -> str:
        now = int(time.time())
        header = {"alg": self.algorithm, "typ": "JWT", **({"kid": self.key_id} if self.key_id else {})}
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "exp": now + _ASSERTION_LIFETIME_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        return f"{signing_input}.{_b64(self._sign(signing_input.encode('ascii')))}"

    def _sign(self, data: bytes) -> bytes:
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hashes.SHA384())
        # JWS wants the raw r || s form (RFC 7518 section 3.4), not DER.
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA384())))
        return r.to_bytes(48, "big") + s.to_bytes(48, "big")

    def secrets(self) -> tuple[str, ...]:
        return (*self._assertions, *self.issued())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_signing_key(path: Path, algorithm: Algorithm) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """The client's private key for `algorithm` (RS384: RSA of 2048 bits or more; ES384: P-384)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the client key {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_BYTES:
        raise UsageError(f"{path} is too large to be a private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{path} is not an unencrypted PEM private key ({exc})") from None
    if algorithm == "RS384" and isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return key
    if algorithm == "ES384" and isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
        return key
    wanted = "an RSA key of 2048 bits or more" if algorithm == "RS384" else "an EC key on P-384"
    raise UsageError(f"{path} is not {wanted}, as {algorithm} needs")
