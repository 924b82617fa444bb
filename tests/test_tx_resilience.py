"""A terminology server that is slow, failing or gone degrades to "not checked": no false error, no crash.

Timeouts are short and retries' waits go through an injected `sleep`, so these tests stay fast.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from conformance.terminology.answers import SERVER_ERROR, SERVER_UNAVAILABLE, CodeQuestion, provenance_of
from conformance.terminology.remote import RemoteOptions, RemoteTerminology
from conformance.terminology.results import CodeCheck
from conformance.terminology.transport import HttpOptions
from tx_server import ANY_LOINC, CLINICAL_FINDINGS, LOINC, SNOMED, TxServer, client_source, running_tx_server


@dataclass
class FakeTime:
    """A clock and a sleep that only move when told: retries and cooldowns without waiting."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def remote_for(url: str, time: FakeTime, **http: float) -> RemoteTerminology:
    options = HttpOptions(
        timeout=http.get("timeout", 5.0),
        retries=int(http.get("retries", 2)),
        backoff=http.get("backoff", 0.25),
        max_backoff=http.get("max_backoff", 8.0),
        max_concurrent=int(http.get("max_concurrent", 4)),
        cooldown=http.get("cooldown", 30.0),
    )
    return RemoteTerminology(
        url, source=client_source(), options=RemoteOptions(http=options), sleep=time.sleep, clock=time.clock
    )


def ask(remote: RemoteTerminology, code: str = "44054006") -> CodeCheck:
    return remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code=code).status


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def test_a_slow_server_times_out_into_not_checked(fake_time: FakeTime) -> None:
    with running_tx_server(delay=1.0) as server:
        remote = remote_for(server.url, fake_time, timeout=0.2, retries=0)
        result = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.UNKNOWN
    assert result.message_id == SERVER_UNAVAILABLE
    assert "no answer within 0.2 s" in result.message
    assert server.url in result.message


def test_a_failing_server_is_retried_with_growing_waits_then_not_checked(fake_time: FakeTime) -> None:
    with running_tx_server(fail_status=503) as server:
        remote = remote_for(server.url, fake_time, retries=2, backoff=0.25)
        result = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
        attempts = len(server.fhir_requests)
    assert result.status is CodeCheck.UNKNOWN
    assert result.message_id == SERVER_UNAVAILABLE
    assert "HTTP 503" in result.message
    assert attempts == 3  # the first try and two retries, then the breaker opens
    assert fake_time.sleeps == [0.25, 0.5]


def test_a_passing_failure_is_retried_into_an_answer(fake_time: FakeTime) -> None:
    with running_tx_server(fail_status=502, fail_times=2) as server:
        remote = remote_for(server.url, fake_time, retries=2)
        assert ask(remote) is CodeCheck.VALID
        assert ask(remote, "80146002") is CodeCheck.INVALID


def test_retry_after_is_honoured_up_to_the_longest_wait(fake_time: FakeTime) -> None:
    with running_tx_server(fail_status=429, fail_times=2, retry_after="3") as server:
        remote = remote_for(server.url, fake_time, retries=2, backoff=0.1, max_backoff=2.0)
        assert ask(remote) is CodeCheck.VALID
    assert fake_time.sleeps == [2.0, 2.0]


def test_an_internal_server_error_is_not_retried_and_is_not_checked(fake_time: FakeTime) -> None:
    with running_tx_server(fail_status=500) as server:
        remote = remote_for(server.url, fake_time, retries=2)
        result = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
        asked = [req.path for req in server.fhir_requests]
    assert (result.status, result.message_id) == (CodeCheck.UNKNOWN, SERVER_ERROR)
    assert asked == ["/metadata", "/ValueSet/$validate-code"]  # once each, no retry
    assert fake_time.sleeps == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_server_that_is_not_there_is_not_checked(fake_time: FakeTime) -> None:
    remote = remote_for(f"http://127.0.0.1:{free_port()}/fhir", fake_time, retries=1)
    result = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.UNKNOWN
    assert result.message_id == SERVER_UNAVAILABLE
    assert "ConnectError" in result.message
    assert provenance_of(result) is not None


def test_after_the_server_disappears_every_question_is_not_checked_at_once(fake_time: FakeTime) -> None:
    with running_tx_server() as server:
        remote = remote_for(server.url, fake_time, retries=1, cooldown=30.0)
        assert ask(remote) is CodeCheck.VALID
        sent_before = remote.http.sent
        server.disappear()
        after = [
            remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code=c) for c in ("80146002", "195967001")
        ]
        after += [remote.validate_code(ANY_LOINC, system=LOINC, code="8867-4")]
    assert [a.status for a in after] == [CodeCheck.UNKNOWN] * 3
    assert all(a.message_id == SERVER_UNAVAILABLE for a in after)
    assert (
        remote.http.sent - sent_before == 2
    )  # the first question's two attempts; the breaker answers the rest
    assert ask(remote) is CodeCheck.VALID  # answers given before the outage are still known


def test_a_server_that_drops_the_connection_mid_run_is_not_checked(fake_time: FakeTime) -> None:
    with running_tx_server(vanish_after=3) as server:
        remote = remote_for(server.url, fake_time, retries=0)
        first = ask(remote)  # metadata twice, then this question
        second = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="80146002")
    assert first is CodeCheck.VALID
    assert second.status is CodeCheck.UNKNOWN
    assert second.message_id == SERVER_UNAVAILABLE


def test_after_the_cooldown_a_server_that_is_back_is_asked_again(fake_time: FakeTime) -> None:
    with running_tx_server(fail_status=503, fail_times=1) as server:
        remote = remote_for(server.url, fake_time, retries=0, cooldown=30.0)
        assert ask(remote) is CodeCheck.UNKNOWN  # the one failure opens the breaker
        assert ask(remote) is CodeCheck.UNKNOWN  # still open: not asked
        asked_while_open = len(server.fhir_requests)
        fake_time.now += 31
        assert ask(remote) is CodeCheck.VALID
    assert asked_while_open == 1


def test_outage_answers_are_not_kept(fake_time: FakeTime) -> None:
    with running_tx_server(fail_status=503, fail_times=1) as server:
        remote = remote_for(server.url, fake_time, retries=0, cooldown=0.0)
        outage = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
        again = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert outage.status is CodeCheck.UNKNOWN
    assert again.status is CodeCheck.VALID


@pytest.fixture
def slow_server() -> Iterator[TxServer]:
    with running_tx_server(delay=0.1, batch=False) as server:
        yield server


def test_no_more_requests_are_in_flight_than_the_limit_whatever_the_callers(
    slow_server: TxServer, fake_time: FakeTime
) -> None:
    remote = remote_for(slow_server.url, fake_time, max_concurrent=2)
    questions = [(CLINICAL_FINDINGS, SNOMED, code) for code in ("44054006", "46635009", "80146002")]
    questions += [(ANY_LOINC, LOINC, code) for code in ("8867-4", "8480-6", "8462-4", "29463-7")]
    with ThreadPoolExecutor(max_workers=len(questions)) as callers:
        answers = list(
            callers.map(lambda q: remote.validate_code(q[0], system=q[1], code=q[2]).status, questions)
        )
    assert [a.value for a in answers] == ["valid", "valid", "invalid", "valid", "valid", "valid", "valid"]
    assert slow_server.most_in_flight == 2


def test_questions_asked_together_without_batches_respect_the_limit(
    slow_server: TxServer, fake_time: FakeTime
) -> None:
    remote = remote_for(slow_server.url, fake_time, max_concurrent=3)
    questions = [
        CodeQuestion(ANY_LOINC, LOINC, code) for code in ("8867-4", "8480-6", "8462-4", "29463-7", "1-8")
    ]
    answers = remote.validate_codes(questions)
    assert [a.status.value for a in answers] == ["valid", "valid", "valid", "valid", "invalid"]
    assert slow_server.most_in_flight == 3
