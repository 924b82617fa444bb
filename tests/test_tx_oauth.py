"""OAuth2 client credentials against the test server's token endpoint; secrets and tokens never leak."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.terminology import InMemorySource, LocalTerminology
from conformance.terminology.answers import SERVER_UNAVAILABLE
from conformance.terminology.composite import CompositeTerminology
from conformance.terminology.oauth import ClientCredentials, Secret, TokenError, TokenSource
from conformance.terminology.recorded import Recorder
from conformance.terminology.remote import RemoteOptions, RemoteTerminology
from conformance.terminology.results import CodeCheck
from conformance.terminology.transport import HttpOptions
from tx_server import (
    ANY_LOINC,
    CLINICAL_FINDINGS,
    LOINC,
    SNOMED,
    TxServer,
    client_resources,
    running_tx_server,
)

FAST = HttpOptions(timeout=5.0, retries=0, backoff=0.001)


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[TxServer]:
    with running_tx_server(require_token=True) as running:
        yield running


def credentials(server: TxServer, secret: str | None = None) -> ClientCredentials:
    return ClientCredentials(server.token_url, server.client_id, Secret(secret or server.client_secret))


def remote_for(server: TxServer, secret: str | None = None, clock: Clock | None = None) -> RemoteTerminology:
    return RemoteTerminology(
        server.url,
        source=InMemorySource(client_resources()),
        options=RemoteOptions(http=FAST),
        credentials=credentials(server, secret),
        clock=clock or Clock(),
    )


def test_a_server_that_needs_a_token_answers_with_one(server: TxServer) -> None:
    remote = remote_for(server)
    assert remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006").status is CodeCheck.VALID
    assert remote.validate_code(ANY_LOINC, system=LOINC, code="8867-4").status is CodeCheck.VALID
    token_requests = [req for req in server.requests if req.path == "/token"]
    assert len(token_requests) == 1  # one token for the whole run
    assert b"grant_type=client_credentials" in token_requests[0].body
    assert {req.authorization for req in server.fhir_requests} == {f"Bearer {server.issued_tokens[0]}"}


def test_without_a_token_the_server_is_not_checked_with_the_reason() -> None:
    with running_tx_server(require_token=True) as server:
        remote = RemoteTerminology(
            server.url, source=InMemorySource(client_resources()), options=RemoteOptions(http=FAST)
        )
        result = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.UNKNOWN
    assert result.message_id == SERVER_UNAVAILABLE
    assert "HTTP 401" in result.message


def test_a_refused_token_is_renewed_once(server: TxServer) -> None:
    remote = remote_for(server)
    assert remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006").status is CodeCheck.VALID
    server.expire_tokens()
    assert remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="80146002").status is CodeCheck.INVALID
    assert len(server.issued_tokens) == 2
    assert remote.http.token_requests == 2


def test_a_token_near_its_end_is_renewed_before_use(server: TxServer) -> None:
    server.token_lifetime = 600
    clock = Clock()
    remote = remote_for(server, clock=clock)
    remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    clock.now += 560  # 40 s left: still used
    remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="80146002")
    assert len(server.issued_tokens) == 1
    clock.now += 20  # 20 s left: renewed first
    remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="195967001")
    assert len(server.issued_tokens) == 2
    assert server.fhir_requests[-1].authorization == f"Bearer {server.issued_tokens[1]}"


def test_a_wrong_secret_is_not_checked_and_the_message_says_why_without_the_secret(server: TxServer) -> None:
    remote = remote_for(server, secret="wrong-secret-77")
    result = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.UNKNOWN
    assert "refused the client credentials of client id 'conformance-tests' (HTTP 401)" in result.message
    assert "wrong-secret-77" not in result.message
    assert server.fhir_requests == []  # nothing was sent to the FHIR server without a token


def test_a_token_endpoint_that_is_not_there_is_not_checked(server: TxServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remote = RemoteTerminology(
        server.url,
        options=RemoteOptions(http=FAST),
        credentials=ClientCredentials(f"http://127.0.0.1:{port}/token", "id", Secret("s")),
    )
    result = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.UNKNOWN
    assert "token endpoint" in result.message and "cannot be reached" in result.message


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b"not json", "did not answer JSON"),
        (200, b'{"token_type": "Bearer"}', "without an access_token"),
        (200, b'{"access_token": "abc", "token_type": "MAC"}', "unsupported type"),
        (500, b"{}", "answered HTTP 500"),
        (403, b'{"error": "echo tx-secret-4f1b9c"}', "refused the client credentials"),
    ],
)
def test_token_endpoint_replies_that_are_not_tokens_raise_a_clean_error(
    status: int, body: bytes, expected: str
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    tokens = TokenSource(
        ClientCredentials("https://auth.example/token", "client", Secret("tx-secret-4f1b9c")),
        httpx.Client(transport=transport),
    )
    with pytest.raises(TokenError) as raised:
        tokens.token()
    message = str(raised.value)
    assert expected in message
    assert "tx-secret-4f1b9c" not in message
    assert "\n" not in message


def test_secrets_are_masked_wherever_they_could_be_shown(server: TxServer) -> None:
    secret = Secret(server.client_secret)
    assert server.client_secret not in repr(secret) and server.client_secret not in str(secret)
    assert server.client_secret not in repr(credentials(server))
    settings = Settings(tx_client_id="id", tx_client_secret=server.client_secret)
    assert server.client_secret not in repr(settings)
    remote = remote_for(server)
    remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert server.issued_tokens[0] not in repr(remote.http._tokens)


def test_neither_the_secret_nor_a_token_reaches_outcomes_recordings_or_errors(
    server: TxServer, tmp_path: Path
) -> None:
    original_secret = server.client_secret
    local = LocalTerminology(InMemorySource(client_resources()), fhir_version=FhirVersion.R4)
    recorder = Recorder(CompositeTerminology(local, remote_for(server)), tmp_path / "answers.json")
    texts: list[str] = []
    for code in ("44054006", "80146002", "999999006"):
        result = recorder.validate_code(CLINICAL_FINDINGS, system=SNOMED, code=code, display="Some display")
        texts += [result.message, repr(result), *(f.message for f in result.issues)]
    texts.append(json.dumps(recorder.describe().to_dict()))
    server.expire_tokens()
    server.client_secret = "rotated"  # the next token request is refused: its error must be clean too
    texts.append(recorder.validate_code(ANY_LOINC, system=LOINC, code="8867-4").message)
    recorder.close()
    texts.append((tmp_path / "answers.json").read_text(encoding="utf-8"))
    leaks = [original_secret, *server.issued_tokens]
    assert len(server.issued_tokens) == 1
    assert not [leak for leak in leaks for text in texts if leak in text]
