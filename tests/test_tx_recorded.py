"""Recorded answers: record a run against the server, replay it with the network disabled, byte for byte."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.terminology import InMemorySource, LocalTerminology, recorded
from conformance.terminology.answers import (
    NOT_IN_RECORDING,
    AnswerSource,
    CodeQuestion,
    RecordingError,
    provenance_of,
)
from conformance.terminology.composite import CompositeTerminology
from conformance.terminology.recorded import FORMAT, FORMAT_VERSION, Recorder, Recording, Replayer
from conformance.terminology.remote import RemoteOptions, RemoteTerminology
from conformance.terminology.results import CodeCheck
from conformance.terminology.transport import HttpOptions
from conformance.validation import Validator
from tx_server import (
    ANY_LOINC,
    CLINICAL_FINDINGS,
    LOINC,
    SERVER_ONLY,
    SNOMED,
    TX_FIXTURES,
    UK_EDITION,
    TxServer,
    client_source,
    running_tx_server,
)

FAST = HttpOptions(timeout=5.0, retries=0, backoff=0.001)
PAYLOADS = sorted((TX_FIXTURES / "payloads").glob("*.json"))


@pytest.fixture(scope="module")
def server() -> Iterator[TxServer]:
    with running_tx_server() as running:
        yield running


@pytest.fixture(scope="module")
def tx_context(r4_context: Context) -> Context:
    return r4_context.with_resources([TX_FIXTURES / "profiles"])


def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: socket.socket, address: Any) -> None:
        raise OSError(f"network disabled in this test (connect to {address!r})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def recorder_for(context: Context, url: str, path: Path | None = None) -> Recorder:
    remote = RemoteTerminology(url, source=context, options=RemoteOptions(http=FAST))
    return Recorder(CompositeTerminology(LocalTerminology(context, FhirVersion.R4), remote), path)


def outcomes(validator: Validator, payloads: list[Path]) -> list[bytes]:
    return [validator.validate(path).to_json().encode() for path in payloads]


# --- the round trip ---------------------------------------------------------------------------------------


def test_a_replay_with_the_network_disabled_gives_the_same_outcomes_byte_for_byte(
    tx_context: Context, server: TxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "answers.json"
    recorder = recorder_for(tx_context, server.url, recording)
    recorded_outcomes = outcomes(Validator(tx_context, terminology=recorder), PAYLOADS)
    recorder.close()
    assert any(b"binding.required.not-in-valueset" in outcome for outcome in recorded_outcomes)

    block_network(monkeypatch)
    with pytest.raises(OSError, match="network disabled"):
        socket.create_connection(("127.0.0.1", 9))
    local = LocalTerminology(tx_context, FhirVersion.R4)
    as_cli_replays = CompositeTerminology(local, Replayer.from_file(recording))
    alone = Replayer.from_file(recording)
    assert outcomes(Validator(tx_context, terminology=as_cli_replays), PAYLOADS) == recorded_outcomes
    assert outcomes(Validator(tx_context, terminology=alone), PAYLOADS) == recorded_outcomes


def test_two_recordings_of_the_same_run_are_byte_identical_whatever_the_order(
    tx_context: Context, server: TxServer, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    for path, order in ((first, PAYLOADS), (second, list(reversed(PAYLOADS)))):
        recorder = recorder_for(tx_context, server.url, path)
        outcomes(Validator(tx_context, terminology=recorder), order)
        recorder.close()
    assert first.read_bytes() == second.read_bytes()


def test_the_file_is_canonical_versioned_json(tx_context: Context, server: TxServer, tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    recorder = recorder_for(tx_context, server.url, path)
    outcomes(Validator(tx_context, terminology=recorder), PAYLOADS[:3])
    recorder.close()
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    assert (document["format"], document["version"]) == (FORMAT, FORMAT_VERSION)
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    keys = [json.dumps(a["question"], sort_keys=True, separators=(",", ":")) for a in document["answers"]]
    assert keys == sorted(keys)
    assert document["terminology"]["kind"] == "local+server"
    assert document["terminology"]["server"] == server.url
    from_server = [a for a in document["answers"] if "provenance" in a["answer"]]
    assert from_server
    assert {a["answer"]["provenance"]["systemVersion"] for a in from_server} == {UK_EDITION}


# --- replaying --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(server: TxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording of a few questions of every kind, made directly against the server."""
    path = tmp_path_factory.mktemp("recorded") / "answers.json"
    remote = RemoteTerminology(server.url, source=client_source(), options=RemoteOptions(http=FAST))
    recorder = Recorder(remote, path)
    recorder.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    recorder.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="80146002", display="Appendectomy")
    recorder.validate_coding_in_codesystem(LOINC, "8867-4", "Heart rate")
    recorder.check_codeable_concept(
        ANY_LOINC, [{"system": LOINC, "code": "8480-6", "extension": [{"url": "x"}]}]
    )
    recorder.expand(SERVER_ONLY)
    recorder.lookup(SNOMED, "44054006")
    recorder.check_identifier("https://fhir.nhs.uk/Id/nhs-number", "9434765919")
    recorder.validate_codes([CodeQuestion(ANY_LOINC, LOINC, "99999-9")])
    recorder.close()
    return path


def test_every_kind_of_answer_replays_as_it_was_given(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)
    replay = Replayer.from_file(saved)
    member = replay.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert member.status is CodeCheck.VALID
    provenance = provenance_of(member)
    assert provenance is not None
    assert (provenance.source, provenance.system_version) == (AnswerSource.RECORDING, UK_EDITION)
    assert "UK Edition" in member.message
    assert replay.validate_code(
        CLINICAL_FINDINGS, system=SNOMED, code="80146002", display="Appendectomy"
    ).invalid
    assert replay.validate_coding_in_codesystem(LOINC, "8867-4", "Heart rate").valid
    coding = [{"system": LOINC, "code": "8480-6"}]  # the same coding, without its extension
    assert replay.check_codeable_concept(ANY_LOINC, coding).valid
    expansion = replay.expand(SERVER_ONLY)
    assert expansion is not None and expansion.complete and len(expansion) == 4
    details = replay.lookup(SNOMED, "44054006")
    assert details is not None and details.designations == ("Type 2 diabetes mellitus",)
    assert (
        replay.check_identifier("https://fhir.nhs.uk/Id/nhs-number", "9434765919") is None
    )  # a server has none
    assert replay.validate_codes([CodeQuestion(ANY_LOINC, LOINC, "99999-9")])[0].invalid


def test_a_question_not_in_the_recording_is_not_checked_and_says_so(saved: Path) -> None:
    replay = Replayer.from_file(saved)
    result = replay.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="195967001")
    assert (result.status, result.message_id) == (CodeCheck.UNKNOWN, NOT_IN_RECORDING)
    assert "not in the terminology recording answers.json" in result.message
    assert "195967001" in result.message
    other_display = replay.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006", display="Other")
    assert other_display.message_id == NOT_IN_RECORDING  # a different question, though the code is the same
    assert replay.expand("http://example.org/fhir/ValueSet/never-expanded") is None


def test_a_replay_describes_the_recording_it_answers_from(saved: Path) -> None:
    described = Replayer.from_file(saved).describe().to_dict()
    assert described["kind"] == "recording"
    assert described["recording"] == "answers.json"
    assert described["recordingSha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert {"system": SNOMED, "version": UK_EDITION, "edition": "UK Edition, release 20250101"} in described[
        "codeSystems"
    ]


def test_a_recording_reads_and_writes_back_unchanged(saved: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.json"
    Recording.load(saved).save(copy)
    assert copy.read_bytes() == saved.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["copy.json"]  # no temporary file left behind


def test_an_outage_is_recorded_as_what_happened(tmp_path: Path) -> None:
    with running_tx_server() as server:
        url = server.url
    recorder = Recorder(RemoteTerminology(url, options=RemoteOptions(http=FAST)))
    result = recorder.validate_code(SERVER_ONLY, system=SNOMED, code="46635009")
    replayed = Replayer(recorder.recording).validate_code(SERVER_ONLY, system=SNOMED, code="46635009")
    assert (replayed.status, replayed.message_id, replayed.message) == (
        result.status,
        result.message_id,
        result.message,
    )


def test_a_recorder_needs_a_file_to_save_in() -> None:
    recorder = Recorder(LocalTerminology(InMemorySource(), FhirVersion.R4))
    with pytest.raises(RecordingError, match="no file"):
        recorder.save()


# --- hostile recordings -------------------------------------------------------------------------------------

GOOD_ANSWER = {
    "status": "valid",
    "messageId": "terminology.in-valueset",
    "message": "in",
    "issueType": "informational",
}
QUESTION = {"op": "validate-code", "valueSet": "http://x/vs", "system": "http://x/cs", "code": "a"}


def document(**changes: Any) -> bytes:
    base: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "answers": [{"question": QUESTION, "answer": GOOD_ANSWER}],
    }
    base.update(changes)
    return json.dumps(base).encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[" * 200_000 + b"]" * 200_000, "not JSON"),
        (b"[]", "not a terminology recording"),
        (document(format="something-else"), "not a terminology recording"),
        (document(version=2), "version 2 recording; this tool reads version 1"),
        (document(version="1"), "no format version"),
        (document(version=0), "unknown format version"),
        (document(answers={"a": 1}), "no list of answers"),
        (document(answers=[{"answer": GOOD_ANSWER}]), "answer 1: not an object with a question"),
        (document(answers=[{"question": {"op": "delete-everything"}, "answer": None}]), "unknown operation"),
        (
            document(answers=[{"question": QUESTION, "answer": {**GOOD_ANSWER, "status": "perhaps"}}]),
            "status",
        ),
        (document(answers=[{"question": QUESTION, "answer": {**GOOD_ANSWER, "message": 7}}]), "'message'"),
        (
            document(
                answers=[
                    {
                        "question": QUESTION,
                        "answer": {**GOOD_ANSWER, "issues": [{"severity": "dire", "message": "m"}]},
                    }
                ]
            ),
            "severity",
        ),
        (
            document(answers=[{"question": QUESTION, "answer": {**GOOD_ANSWER, "issues": "many"}}]),
            "not a list",
        ),
        (
            document(
                answers=[{"question": QUESTION, "answer": {**GOOD_ANSWER, "provenance": {"source": "x"}}}]
            ),
            "answer source",
        ),
        (document(answers=[{"question": {"op": "expand"}, "answer": {"url": 1}}]), "'url'"),
    ],
    ids=[
        "bytes",
        "deep",
        "array",
        "format",
        "newer",
        "version-text",
        "version-zero",
        "answers-object",
        "no-question",
        "operation",
        "status",
        "message-type",
        "severity",
        "issues-type",
        "provenance",
        "expansion",
    ],
)
def test_a_broken_or_hostile_recording_is_refused_with_a_one_line_reason(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(data)
    with pytest.raises(RecordingError) as raised:
        Replayer.from_file(path)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_recording_too_large_to_be_one_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorded, "MAX_RECORDING_BYTES", 100)
    path = tmp_path / "big.json"
    path.write_bytes(document())
    with pytest.raises(RecordingError, match="larger than"):
        Recording.load(path)


def test_a_missing_recording_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot read the terminology recording"):
        Recording.load(tmp_path / "absent.json")


def test_a_minimal_hand_written_recording_is_accepted() -> None:
    replay = Replayer(Recording.loads(document()))
    result = replay.validate_code("http://x/vs", system="http://x/cs", code="a")
    assert result.status is CodeCheck.VALID
    assert provenance_of(result) is not None
