"""RemoteTerminology against a real FHIR terminology server process on 127.0.0.1 (tests/tx_server.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.fhirversion import FhirVersion
from conformance.outcome import Severity
from conformance.terminology import results as r
from conformance.terminology import transport
from conformance.terminology.answers import (
    SERVER_ERROR,
    SERVER_UNAVAILABLE,
    AnswerSource,
    CodeQuestion,
    provenance_of,
)
from conformance.terminology.remote import SERVER_NOT_FOUND, RemoteOptions, RemoteTerminology
from conformance.terminology.replies import MAX_TEXT
from conformance.terminology.results import CodeCheck
from conformance.terminology.transport import HttpOptions
from tx_server import (
    ANY_LOINC,
    BODY_STRUCTURES,
    CLINICAL_FINDINGS,
    LOINC,
    SERVER_ONLY,
    SNOMED,
    UK_EDITION,
    TxServer,
    client_source,
    running_tx_server,
)

FAST = HttpOptions(timeout=5.0, retries=0, backoff=0.001, cooldown=60.0)


@pytest.fixture
def server() -> Iterator[TxServer]:
    with running_tx_server() as running:
        yield running


def remote_for(server: TxServer, **options: Any) -> RemoteTerminology:
    fhir_version = options.pop("fhir_version", FhirVersion.R4)
    return RemoteTerminology(
        server.url,
        fhir_version=fhir_version,
        source=client_source(),
        options=RemoteOptions(http=options.pop("http", FAST), **options),
    )


def posted(server: TxServer, path: str) -> list[dict[str, Any]]:
    return [json.loads(req.body) for req in server.fhir_requests if req.method == "POST" and req.path == path]


# --- membership --------------------------------------------------------------------------------------------


def test_a_code_in_the_value_set_is_valid_and_names_the_snomed_edition_that_decided(server: TxServer) -> None:
    result = remote_for(server).validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.VALID
    assert result.message_id == r.IN_VALUESET
    assert result.display == "Diabetes mellitus type 2"
    provenance = provenance_of(result)
    assert provenance is not None
    assert provenance.source is AnswerSource.SERVER
    assert provenance.server == server.url
    assert provenance.software == "tx-test-server 0.1"
    assert provenance.system_version == UK_EDITION
    assert provenance.edition == "UK Edition, release 20250101"
    assert "SNOMED CT UK Edition, release 20250101" in result.message


def test_a_code_outside_the_value_set_is_invalid(server: TxServer) -> None:
    result = remote_for(server).validate_code(CLINICAL_FINDINGS, system=SNOMED, code="80146002")
    assert result.status is CodeCheck.INVALID
    assert result.message_id == r.NOT_IN_VALUESET
    assert result.severity_hint is None  # the binding strength decides
    assert server.url in result.message


def test_a_concept_the_edition_lacks_is_invalid_with_an_unknown_code_finding(server: TxServer) -> None:
    result = remote_for(server).validate_code(CLINICAL_FINDINGS, system=SNOMED, code="999999006")
    assert result.status is CodeCheck.INVALID
    assert r.UNKNOWN_CODE in result.message_ids


def test_an_inactive_concept_is_a_member_with_a_warning(server: TxServer) -> None:
    result = remote_for(server).validate_code(CLINICAL_FINDINGS, system=SNOMED, code="313436004")
    assert result.status is CodeCheck.VALID
    assert [(f.severity, f.message_id) for f in result.issues] == [(Severity.WARNING, r.INACTIVE)]


def test_the_loaded_definition_of_the_value_set_travels_with_the_question(server: TxServer) -> None:
    remote_for(server).validate_code(BODY_STRUCTURES, system=SNOMED, code="39607008")
    (body,) = posted(server, "/ValueSet/$validate-code")
    names = [p["name"] for p in body["parameter"]]
    assert "url" not in names
    sent = next(p["resource"] for p in body["parameter"] if p["name"] == "valueSet")
    assert sent["url"] == "http://example.org/fhir/ValueSet/tx-body-structures"
    assert sent["compose"]["include"][0]["filter"][0]["value"] == "123037004"


def test_a_value_set_only_the_server_holds_is_asked_for_by_url_in_a_get(server: TxServer) -> None:
    result = remote_for(server).validate_code(SERVER_ONLY, system=SNOMED, code="46635009")
    assert result.status is CodeCheck.VALID
    gets = [req for req in server.fhir_requests if req.path == "/ValueSet/$validate-code"]
    assert [req.method for req in gets] == ["GET"]
    assert "url=http%3A%2F%2Fexample.org%2Ffhir%2FValueSet%2Ftx-server-diabetes" in gets[0].query


def test_a_value_set_nobody_holds_is_not_checked_rather_than_wrong(server: TxServer) -> None:
    result = remote_for(server).validate_code(
        "http://example.org/fhir/ValueSet/nowhere", system=SNOMED, code="46635009"
    )
    assert result.status is CodeCheck.UNKNOWN
    assert result.message_id == SERVER_NOT_FOUND
    assert "does not know the value set" in result.message


def test_the_code_system_version_asked_for_is_sent_under_the_name_of_the_fhir_version(
    server: TxServer,
) -> None:
    remote_for(server).validate_code(SERVER_ONLY, system=SNOMED, code="46635009", version=UK_EDITION)
    remote_for(server, fhir_version=FhirVersion.STU3).validate_code(
        SERVER_ONLY, system=SNOMED, code="44054006", version=UK_EDITION
    )
    queries = [req.query for req in server.fhir_requests if req.path == "/ValueSet/$validate-code"]
    assert "systemVersion=" in queries[0]
    assert "systemVersion=" not in queries[1]
    assert "&version=" in queries[1]


def test_an_empty_code_is_refused_without_asking(server: TxServer) -> None:
    result = remote_for(server).validate_code(CLINICAL_FINDINGS, system=SNOMED, code="")
    assert result.message_id == r.NO_CODE
    assert server.requests == []


# --- displays ---------------------------------------------------------------------------------------------


def test_a_wrong_display_is_an_error_finding_on_a_member(server: TxServer) -> None:
    result = remote_for(server).validate_code(
        CLINICAL_FINDINGS, system=SNOMED, code="44054006", display="Sugar"
    )
    assert result.status is CodeCheck.VALID
    assert [(f.severity, f.message_id) for f in result.issues] == [(Severity.ERROR, r.DISPLAY_MISMATCH)]


def test_display_warnings_make_a_wrong_display_a_warning(server: TxServer) -> None:
    remote = remote_for(server, display_mismatch_is_warning=True)
    result = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006", display="Sugar")
    assert [(f.severity, f.message_id) for f in result.issues] == [(Severity.WARNING, r.DISPLAY_MISMATCH)]


def test_a_synonym_is_a_right_display(server: TxServer) -> None:
    result = remote_for(server).validate_code(
        CLINICAL_FINDINGS, system=SNOMED, code="44054006", display="Type 2 diabetes mellitus"
    )
    assert result.status is CodeCheck.VALID
    assert result.issues == ()


def test_a_plain_server_is_asked_again_to_tell_a_wrong_display_from_a_wrong_code() -> None:
    with running_tx_server(typed_issues=False) as server:
        remote = remote_for(server)
        wrong_display = remote.validate_code(
            CLINICAL_FINDINGS, system=SNOMED, code="44054006", display="Sugar"
        )
        wrong_code = remote.validate_code(
            CLINICAL_FINDINGS, system=SNOMED, code="80146002", display="Appendectomy"
        )
        asked = len([req for req in server.fhir_requests if req.path == "/ValueSet/$validate-code"])
    assert wrong_display.status is CodeCheck.VALID
    assert [f.message_id for f in wrong_display.issues] == [r.DISPLAY_MISMATCH]
    assert "'Diabetes mellitus type 2'" in wrong_display.issues[0].message
    assert wrong_code.status is CodeCheck.INVALID
    assert asked == 4  # each question asked twice: with, then without the display
    provenance = provenance_of(wrong_code)  # no `version` in the reply: the server's default edition
    assert provenance is not None and provenance.system_version == UK_EDITION


# --- code systems, codeable concepts, expansions, lookups -------------------------------------------------


def test_a_code_of_a_code_system_is_checked_against_the_code_system(server: TxServer) -> None:
    remote = remote_for(server)
    good = remote.validate_coding_in_codesystem(LOINC, "8867-4", "Heart rate")
    bad = remote.validate_coding_in_codesystem(LOINC, "99999-9", None)
    assert (good.status, good.message_id) == (CodeCheck.VALID, r.CODE_VALID)
    assert provenance_of(good) is not None and provenance_of(good).system_version == "2.77"  # type: ignore[union-attr]
    assert (bad.status, bad.message_id, bad.severity_hint) == (
        CodeCheck.INVALID,
        r.UNKNOWN_CODE,
        Severity.ERROR,
    )


def test_one_coding_in_the_value_set_is_enough_for_a_codeable_concept(server: TxServer) -> None:
    remote = remote_for(server)
    some = remote.check_codeable_concept(
        CLINICAL_FINDINGS, [{"system": SNOMED, "code": "80146002"}, {"system": SNOMED, "code": "195967001"}]
    )
    none = remote.check_codeable_concept(CLINICAL_FINDINGS, [{"system": SNOMED, "code": "80146002"}])
    empty = remote.check_codeable_concept(CLINICAL_FINDINGS, [{"system": SNOMED}])
    assert some.status is CodeCheck.VALID
    assert (none.status, none.message_id) == (CodeCheck.INVALID, r.NONE_IN_VALUESET)
    assert empty.message_id == r.NO_CODE


def test_an_expansion_by_the_server_lists_the_codes_and_says_it_is_complete(server: TxServer) -> None:
    expansion = remote_for(server).expand(SERVER_ONLY)
    assert expansion is not None
    assert expansion.complete
    assert [c.code for c in expansion.contains] == ["73211009", "44054006", "46635009", "313436004"]
    assert expansion.lookup(SNOMED, "46635009") is not None


def test_a_truncated_expansion_never_says_no_for_a_code_it_did_not_list(server: TxServer) -> None:
    expansion = remote_for(server, expansion_limit=2).expand(SERVER_ONLY)
    assert expansion is not None
    assert not expansion.complete
    assert len(expansion.contains) == 2
    assert expansion.members.test(SNOMED, "313436004")[0] is CodeCheck.UNKNOWN
    assert expansion.members.test(SNOMED, "73211009")[0] is CodeCheck.VALID


def test_lookup_gives_display_synonyms_status_and_version(server: TxServer) -> None:
    remote = remote_for(server)
    details = remote.lookup(SNOMED, "44054006")
    retired = remote.lookup(SNOMED, "313436004")
    missing = remote.lookup(SNOMED, "999999006")
    assert details is not None and retired is not None
    assert details.display == "Diabetes mellitus type 2"
    assert details.designations == ("Type 2 diabetes mellitus",)
    assert details.version == UK_EDITION
    assert (details.inactive, retired.inactive) == (False, True)
    assert missing is None


# --- economy: caching, capabilities, batches ----------------------------------------------------------------


def test_the_server_is_asked_each_question_once_and_its_capabilities_once(server: TxServer) -> None:
    remote = remote_for(server)
    for _ in range(3):
        remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
        remote.validate_code(ANY_LOINC, system=LOINC, code="8867-4")
    paths = sorted(req.path + "?" + req.query for req in server.fhir_requests)
    assert paths == [
        "/ValueSet/$validate-code?",
        "/ValueSet/$validate-code?",
        "/metadata?",
        "/metadata?mode=terminology",
    ]


def test_describe_names_the_server_and_the_code_system_versions_used(server: TxServer) -> None:
    remote = remote_for(server)
    remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    remote.validate_code(ANY_LOINC, system=LOINC, code="8867-4")
    described = remote.describe().to_dict()
    assert described == {
        "kind": "server",
        "server": server.url,
        "software": "tx-test-server 0.1",
        "fhirVersion": "4.0.1",
        "codeSystems": [
            {"system": LOINC, "version": "2.77"},
            {"system": SNOMED, "version": UK_EDITION, "edition": "UK Edition, release 20250101"},
        ],
    }


QUESTIONS = [
    CodeQuestion(CLINICAL_FINDINGS, SNOMED, "44054006"),
    CodeQuestion(CLINICAL_FINDINGS, SNOMED, "80146002"),
    CodeQuestion(BODY_STRUCTURES, SNOMED, "39607008"),
    CodeQuestion(ANY_LOINC, LOINC, "8867-4"),
    CodeQuestion(ANY_LOINC, LOINC, "99999-9"),
    CodeQuestion(CLINICAL_FINDINGS, SNOMED, "44054006"),  # asked twice in one batch
]


def test_many_questions_travel_in_one_batch_bundle_when_the_server_takes_batches(server: TxServer) -> None:
    answers = remote_for(server).validate_codes(QUESTIONS)
    batches = posted(server, "/")
    assert len(batches) == 1
    assert batches[0]["type"] == "batch"
    assert len(batches[0]["entry"]) == 5
    assert [a.status.value for a in answers] == ["valid", "invalid", "valid", "valid", "invalid", "valid"]
    with running_tx_server() as other:
        one_by_one = remote_for(other)
        singly = [one_by_one.validate_code(q.valueset, system=q.system, code=q.code) for q in QUESTIONS]
    assert [(a.status, a.message_id) for a in answers] == [(a.status, a.message_id) for a in singly]


def test_batch_answers_are_kept_so_later_questions_are_not_asked_again(server: TxServer) -> None:
    remote = remote_for(server)
    remote.validate_codes(QUESTIONS)
    before = len(server.fhir_requests)
    remote.validate_code(ANY_LOINC, system=LOINC, code="99999-9")
    assert len(server.fhir_requests) == before


def test_without_batch_support_the_questions_go_one_by_one() -> None:
    with running_tx_server(batch=False) as server:
        answers = remote_for(server).validate_codes(QUESTIONS)
        single = [req for req in server.fhir_requests if req.path == "/ValueSet/$validate-code"]
        batches = posted(server, "/")
    assert [a.status.value for a in answers] == ["valid", "invalid", "valid", "valid", "invalid", "valid"]
    assert len(single) == 5
    assert batches == []


# --- hostile or broken replies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"this is not json",
        b'{"resourceType": "Parameters"}',
        b'{"resourceType": "Parameters", "parameter": [{"name": "result", "valueString": "maybe"}]}',
        b'{"resourceType": "Parameters", "parameter": "result"}',
        b"[" * 100_000 + b"]" * 100_000,
        b"null",
    ],
    ids=["not-json", "no-result", "result-not-boolean", "parameter-not-list", "deep-nesting", "null"],
)
def test_a_reply_that_is_not_an_answer_is_not_checked_never_a_crash(body: bytes) -> None:
    with running_tx_server(raw_reply=(200, body)) as server:
        result = remote_for(server).validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.UNKNOWN
    assert result.message_id == SERVER_ERROR
    assert "\n" not in result.message


def test_server_text_is_cleaned_and_shortened_before_it_reaches_a_message() -> None:
    noisy = "line one\n\x1b[31mred\x00" + "x" * 5000
    reply = {
        "resourceType": "Parameters",
        "parameter": [{"name": "result", "valueBoolean": False}, {"name": "message", "valueString": noisy}],
    }
    with running_tx_server(raw_reply=(200, json.dumps(reply).encode())) as server:
        result = remote_for(server).validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.INVALID
    assert "\x1b" not in result.message and "\x00" not in result.message and "\n" not in result.message
    assert "line one [31mred" in result.message
    assert len(result.message) < MAX_TEXT + 400


def test_an_oversized_reply_is_refused_not_read_into_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "MAX_BODY", 4096)
    with running_tx_server(raw_reply=(200, b'{"padding": "' + b"x" * 100_000 + b'"}')) as server:
        result = remote_for(server).validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.UNKNOWN
    assert result.message_id == SERVER_UNAVAILABLE
    assert "larger than" in result.message


def test_credentials_in_the_server_url_are_never_shown(server: TxServer) -> None:
    with_password = server.url.replace("http://", "http://someone:hunter2-pass@")
    remote = RemoteTerminology(with_password, source=client_source(), options=RemoteOptions(http=FAST))
    result = remote.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert result.status is CodeCheck.VALID
    assert remote.url == server.url
    shown = [
        result.message,
        repr(remote),
        json.dumps(remote.describe().to_dict()),
        repr(provenance_of(result)),
    ]
    assert not any("hunter2" in text or "someone" in text for text in shown)
