"""Local answers first; only what the loaded packages cannot tell goes to the terminology server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.outcome import Severity
from conformance.terminology import InMemorySource, LocalTerminology
from conformance.terminology import results as r
from conformance.terminology.answers import SERVER_UNAVAILABLE, CodeQuestion, describe, provenance_of
from conformance.terminology.composite import CompositeTerminology, combine
from conformance.terminology.remote import RemoteOptions, RemoteTerminology
from conformance.terminology.results import CodeCheck, CodeResult, Finding
from conformance.terminology.transport import HttpOptions
from conformance.validation import Validator
from tx_server import (
    CLINICAL_FINDINGS,
    SERVER_ONLY,
    SNOMED,
    TX_FIXTURES,
    UK_EDITION,
    TxServer,
    client_resources,
    running_tx_server,
)

REPO = Path(__file__).resolve().parents[1]
COLOURS = "http://example.org/fhir/CodeSystem/colours"
ALL_COLOURS = "http://example.org/fhir/ValueSet/all-colours"
FAST = HttpOptions(timeout=5.0, retries=0, backoff=0.001)


def local_resources() -> list[dict[str, Any]]:
    folder = REPO / "fixtures" / "terminology"
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


@pytest.fixture
def server() -> Iterator[TxServer]:
    with running_tx_server() as running:
        yield running


def composite_for(url: str) -> CompositeTerminology:
    source = InMemorySource([*client_resources(), *local_resources()])
    remote = RemoteTerminology(url, source=source, options=RemoteOptions(http=FAST))
    return CompositeTerminology(LocalTerminology(source, FhirVersion.R4), remote)


def test_what_the_packages_decide_never_reaches_the_server(server: TxServer) -> None:
    service = composite_for(server.url)
    good = service.validate_code(ALL_COLOURS, system=COLOURS, code="crimson")
    bad = service.validate_code(ALL_COLOURS, system=COLOURS, code="purple")
    unknown_code = service.validate_coding_in_codesystem(COLOURS, "purple", None)
    assert (good.status, bad.status, unknown_code.status) == (
        CodeCheck.VALID,
        CodeCheck.INVALID,
        CodeCheck.INVALID,
    )
    assert provenance_of(good) is None
    assert server.requests == []


def test_what_the_packages_cannot_tell_is_answered_by_the_server(server: TxServer) -> None:
    service = composite_for(server.url)
    member = service.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    stranger = service.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="80146002")
    in_system = service.validate_coding_in_codesystem(SNOMED, "195967001", "Asthma")
    assert (member.status, stranger.status, in_system.status) == (
        CodeCheck.VALID,
        CodeCheck.INVALID,
        CodeCheck.VALID,
    )
    provenance = provenance_of(member)
    assert provenance is not None and provenance.system_version == UK_EDITION


def test_a_value_set_missing_from_the_packages_is_asked_of_the_server(server: TxServer) -> None:
    service = composite_for(server.url)
    result = service.validate_code(SERVER_ONLY, system=SNOMED, code="46635009")
    assert result.status is CodeCheck.VALID


def test_a_malformed_sctid_is_rejected_locally_without_asking(server: TxServer) -> None:
    service = composite_for(server.url)
    result = service.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="12345678")
    assert result.status is CodeCheck.INVALID
    assert [req for req in server.fhir_requests if "validate-code" in req.path] == []


def test_when_the_server_is_unavailable_the_answer_says_why_and_keeps_the_local_warning() -> None:
    with running_tx_server() as server:
        url = server.url
    service = composite_for(url)  # the server has gone
    missing = service.validate_code("http://example.org/fhir/ValueSet/absent", system=SNOMED, code="46635009")
    external = service.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    assert (missing.status, missing.message_id) == (CodeCheck.UNKNOWN, SERVER_UNAVAILABLE)
    assert missing.severity_hint is Severity.WARNING  # the value set is still missing from the packages
    assert (external.status, external.message_id) == (CodeCheck.UNKNOWN, SERVER_UNAVAILABLE)
    assert external.severity_hint is None
    assert url in external.message


def test_local_findings_that_only_said_cannot_tell_are_dropped_once_the_server_decides() -> None:
    local = CodeResult(
        CodeCheck.UNKNOWN,
        r.NOT_CHECKED_EXTERNAL,
        "not checked",
        issues=(
            Finding(Severity.WARNING, "code-invalid", r.UNKNOWN_CODE_IN_FRAGMENT, "maybe"),
            Finding(Severity.WARNING, "business-rule", r.INACTIVE, "inactive"),
        ),
    )
    remote = CodeResult(
        CodeCheck.VALID,
        r.IN_VALUESET,
        "in",
        issues=(Finding(Severity.WARNING, "business-rule", r.INACTIVE, "inactive"),),
    )
    combined = combine(local, remote)
    assert combined.status is CodeCheck.VALID
    assert [f.message_id for f in combined.issues] == [r.INACTIVE]


def test_many_questions_send_only_the_undecided_ones_in_a_batch(server: TxServer) -> None:
    service = composite_for(server.url)
    questions = [
        CodeQuestion(ALL_COLOURS, COLOURS, "crimson"),
        CodeQuestion(CLINICAL_FINDINGS, SNOMED, "44054006"),
        CodeQuestion(ALL_COLOURS, COLOURS, "purple"),
        CodeQuestion(CLINICAL_FINDINGS, SNOMED, "80146002"),
    ]
    answers = service.validate_codes(questions)
    assert [a.status.value for a in answers] == ["valid", "valid", "invalid", "invalid"]
    (batch,) = [
        json.loads(req.body) for req in server.fhir_requests if req.path == "/" and req.method == "POST"
    ]
    assert len(batch["entry"]) == 2


def test_a_complete_local_expansion_is_used_and_an_external_one_comes_from_the_server(
    server: TxServer,
) -> None:
    service = composite_for(server.url)
    colours = service.expand(ALL_COLOURS)
    assert colours is not None and colours.complete
    assert server.requests == []
    diabetes = service.expand(SERVER_ONLY)
    assert diabetes is not None and {c.code for c in diabetes.contains} >= {"44054006", "46635009"}


def test_identifiers_stay_local_and_the_service_describes_both_halves(server: TxServer) -> None:
    service = composite_for(server.url)
    nhs_number = service.check_identifier("https://fhir.nhs.uk/Id/nhs-number", "9434765919")
    assert nhs_number is not None and nhs_number.status is CodeCheck.VALID
    service.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
    described = describe(service)
    assert described.kind == "local+server"
    assert described.server == server.url
    assert describe(LocalTerminology(InMemorySource(), FhirVersion.R4)).kind == "local"
    details = service.lookup(SNOMED, "44054006")
    assert details is not None and details.display == "Diabetes mellitus type 2"


# --- through the validator --------------------------------------------------------------------------------

PAYLOADS = TX_FIXTURES / "payloads"
EXPECTED_BINDING_ERRORS = {
    "condition-asthma.json": [],
    "condition-bad-check-digit.json": ["Condition.code"],
    "condition-diabetes.json": [],
    "condition-finding-as-body-site.json": ["Condition.bodySite[0]"],
    "condition-procedure-as-finding.json": ["Condition.code"],
    "condition-unknown-concept.json": ["Condition.code"],
    "observation-heart-rate.json": [],
    "observation-unknown-loinc.json": ["Observation.code"],
}


@pytest.fixture(scope="module")
def tx_context(r4_context: Context) -> Context:
    return r4_context.with_resources([TX_FIXTURES / "profiles"])


def binding_errors(validator: Validator, name: str) -> list[str]:
    outcome = validator.validate(PAYLOADS / name)
    return [i.location for i in outcome.errors if i.message_id == "binding.required.not-in-valueset"]


def test_the_validator_reports_what_the_server_rejects_and_nothing_it_accepts(
    tx_context: Context, server: TxServer
) -> None:
    remote = RemoteTerminology(server.url, source=tx_context, options=RemoteOptions(http=FAST))
    validator = Validator(
        tx_context, terminology=CompositeTerminology(LocalTerminology(tx_context, FhirVersion.R4), remote)
    )
    found = {name: binding_errors(validator, name) for name in EXPECTED_BINDING_ERRORS}
    assert found == EXPECTED_BINDING_ERRORS


def test_without_a_server_the_validator_reports_only_what_the_packages_decide(tx_context: Context) -> None:
    with running_tx_server() as server:
        url = server.url
    remote = RemoteTerminology(url, source=tx_context, options=RemoteOptions(http=FAST))
    validator = Validator(
        tx_context, terminology=CompositeTerminology(LocalTerminology(tx_context, FhirVersion.R4), remote)
    )
    found = {name: binding_errors(validator, name) for name in EXPECTED_BINDING_ERRORS}
    locally_decided = {
        name: ["Condition.code"] if name == "condition-bad-check-digit.json" else [] for name in found
    }
    assert found == locally_decided  # an unreachable server adds no false error
