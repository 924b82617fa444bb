"""Tests of the server as a whole: its CapabilityStatement, and the FHIR RESTful protocol rules.

CapabilityStatement (http.html#capabilities): `GET [base]/metadata` answers without credentials, with a
valid CapabilityStatement for the standard's FHIR version that offers JSON and declares the standard's
resource types, profiles, the read and search interactions and the search parameters used.
Protocol (http.html, search.html): an unknown resource type, an unknown id and a malformed search answer
4xx with an OperationOutcome; FHIR answers are labelled `application/fhir+json`; `_format` and `Accept`
are honoured; XML is served where it is declared.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import ElementTree

from conformance.apitest.client import FHIR_JSON, ApiClient, Reply
from conformance.apitest.log import TestLog
from conformance.apitest.requirements import TypeRequirements
from conformance.statements.model import ApiExchange
from conformance.validation import Validator

FHIR_XML = "application/fhir+xml"
_FHIR_NAMESPACE = "{http://hl7.org/fhir}"


@dataclass(frozen=True)
class Expected:
    """What the server's CapabilityStatement should say: the standard's FHIR version, its profiles by
    resource type, and what the standard's own CapabilityStatements require per type."""

    fhir_version: str
    scope: Mapping[str, Sequence[str]]
    requirements: Mapping[str, TypeRequirements]


def capability_tests(
    client: ApiClient, log: TestLog, validator: Validator, expected: Expected
) -> Mapping[str, Any] | None:
    """The CapabilityStatement tests; the statement itself, when one came back."""
    reply = client.get("metadata", authenticated=False)
    body = reply.json()
    ids = reply.exchanges
    if reply.status != 200 or not isinstance(body, dict) or body.get("resourceType") != "CapabilityStatement":
        log.add(
            "capability.available",
            "GET [base]/metadata answers without credentials",
            "fail",
            f"answered {_status(reply)}, not a CapabilityStatement",
            ids,
        )
        return None
    outcome = validator.validate(body)
    errors = [f"{issue.location}: {issue.message}" for issue in outcome.issues if issue.severity.is_error]
    log.check(
        "capability.available",
        "GET [base]/metadata answers without credentials with a valid CapabilityStatement",
        errors,
        "a valid CapabilityStatement, without credentials",
        ids,
    )
    declared = str(body.get("fhirVersion", ""))
    fhir_version = expected.fhir_version
    wanted = ".".join(fhir_version.split(".")[:2])
    log.check(
        "capability.fhir-version",
        "fhirVersion is the standard's",
        []
        if declared.startswith(wanted)
        else [f"declares FHIR {declared or 'nothing'}, the standard is {fhir_version}"],
        f"FHIR {declared}",
        ids,
    )
    formats = [str(f) for f in body.get("format") or ()]
    log.check(
        "capability.json",
        "JSON is offered",
        [] if any("json" in f for f in formats) else [f"formats declared: {', '.join(formats) or 'none'}"],
        "JSON declared",
        ids,
    )
    _declared_types(log, body, expected, ids)
    return body


def _declared_types(log: TestLog, body: Mapping[str, Any], expected: Expected, ids: Sequence[str]) -> None:
    resources = {
        str(entry.get("type")): entry
        for rest in body.get("rest") or ()
        if isinstance(rest, dict) and rest.get("mode") == "server"
        for entry in rest.get("resource") or ()
        if isinstance(entry, dict)
    }
    for resource_type, profiles in sorted(expected.scope.items()):
        entry = resources.get(resource_type)
        required = expected.requirements.get(resource_type, TypeRequirements())
        test_id = f"capability.resource.{resource_type}"
        title = f"{resource_type}: its profiles, interactions and search parameters are declared"
        if entry is None:
            log.add(test_id, title, "fail", f"{resource_type} is not declared", ids)
            continue
        listed = {
            str(p).split("|")[0] for p in [*(entry.get("supportedProfile") or ()), entry.get("profile")] if p
        }
        failures = [f"profile {url} is not declared" for url in profiles if url not in listed]
        interactions = {str(i.get("code")) for i in entry.get("interaction") or () if isinstance(i, dict)}
        failures += [
            f"interaction {code} is not declared"
            for code in required.interactions
            if code not in interactions
        ]
        params = {str(p.get("name")) for p in entry.get("searchParam") or () if isinstance(p, dict)}
        failures += [
            f"search parameter {name} is not declared"
            for name in required.search_params
            if name not in params
        ]
        log.check(
            test_id, title, failures, "declared with its profiles, interactions and search parameters", ids
        )


def declared_search_params(capability: Mapping[str, Any] | None, resource_type: str) -> set[str] | None:
    """The search parameter names the server declares for a type; None when it declares nothing."""
    if capability is None:
        return None
    for rest in capability.get("rest") or ():
        for entry in (rest.get("resource") or ()) if isinstance(rest, dict) else ():
            if isinstance(entry, dict) and entry.get("type") == resource_type:
                return {str(p.get("name")) for p in entry.get("searchParam") or () if isinstance(p, dict)}
    return None


def declares_xml(capability: Mapping[str, Any] | None) -> bool:
    formats = (capability or {}).get("format") or ()
    return any("xml" in str(f) for f in formats)


# --- the protocol ---------------------------------------------------------------------------------------


def protocol_tests(
    client: ApiClient, log: TestLog, capability: Mapping[str, Any] | None, known_type: str
) -> None:
    unknown = f"NotAResourceType{uuid.uuid4().hex[:8]}"
    _error_answer(
        log,
        client.get(unknown),
        "protocol.unknown-type",
        "an unknown resource type answers 4xx with an OperationOutcome",
    )
    _error_answer(
        log,
        client.get(f"{known_type}/{uuid.uuid4().hex}"),
        "protocol.unknown-id",
        "an unknown id answers 404 with an OperationOutcome",
        wanted_status=404,
    )
    malformed = client.get(f"{known_type}?_lastUpdated=not-a-date")
    _error_answer(
        log, malformed, "protocol.malformed-search", "a malformed search answers 4xx with an OperationOutcome"
    )
    _format_tests(client, log)
    _xml_test(client, log, capability)


def _error_answer(
    log: TestLog, reply: Reply, test_id: str, title: str, wanted_status: int | None = None
) -> None:
    body = reply.json()
    failures = []
    if (
        reply.status is None
        or not 400 <= reply.status < 500
        or (wanted_status and reply.status != wanted_status)
    ):
        failures.append(f"answered {_status(reply)}")
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        failures.append("the body is not an OperationOutcome")
    log.check(test_id, title, failures, f"answered {reply.status} with an OperationOutcome", reply.exchanges)


def _format_tests(client: ApiClient, log: TestLog) -> None:
    for test_id, title, reply in (
        (
            "protocol.format-parameter",
            "_format=json is honoured",
            client.get("metadata?_format=json", authenticated=False),
        ),
        (
            "protocol.format-mime",
            "_format=application/fhir+json is honoured",
            client.get("metadata?_format=application/fhir%2Bjson", authenticated=False),
        ),
        (
            "protocol.accept",
            "Accept: application/fhir+json is honoured",
            client.get("metadata", headers={"Accept": FHIR_JSON}, authenticated=False),
        ),
    ):
        body = reply.json()
        failures = [] if reply.status == 200 and isinstance(body, dict) else [f"answered {_status(reply)}"]
        if reply.status == 200 and reply.content_type != FHIR_JSON:
            failures.append(f"labelled {reply.content_type or 'nothing'}")
        log.check(test_id, title, failures, "JSON, labelled application/fhir+json", reply.exchanges)


def _xml_test(client: ApiClient, log: TestLog, capability: Mapping[str, Any] | None) -> None:
    title = "XML is served where the CapabilityStatement declares it"
    if not declares_xml(capability):
        log.add("protocol.xml", title, "skipped", "the server does not declare XML")
        return
    reply = client.get("metadata?_format=xml", headers={"Accept": FHIR_XML}, authenticated=False)
    failures = [] if reply.status == 200 else [f"answered {_status(reply)}"]
    if reply.status == 200:
        if reply.content_type != FHIR_XML:
            failures.append(f"labelled {reply.content_type or 'nothing'}, not {FHIR_XML}")
        try:
            root = ElementTree.fromstring(reply.body)
            if root.tag != f"{_FHIR_NAMESPACE}CapabilityStatement":
                failures.append("the XML is not a FHIR CapabilityStatement")
        except (ParseError, ValueError):
            failures.append("the body is not well-formed XML")
    log.check("protocol.xml", title, failures, "XML served", reply.exchanges)


def content_type_test(log: TestLog, exchanges: Iterable[ApiExchange], token_urls: set[str]) -> None:
    """Every FHIR answer with a body is labelled application/fhir+json (or XML, when XML was asked for)."""
    failures, seen = [], []
    for exchange in exchanges:
        if exchange.status is None or not exchange.response_body or exchange.url in token_urls:
            continue
        if "xml" in exchange.url or "xml" in exchange.request_headers.get("accept", ""):
            continue
        seen.append(exchange.id)
        label = exchange.response_headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if label != FHIR_JSON:
            failures.append(f"{exchange.method} {exchange.url} was labelled {label or 'nothing'}")
    log.check(
        "protocol.content-type",
        "answers are labelled application/fhir+json",
        failures,
        f"all {len(seen)} answers labelled {FHIR_JSON}",
        seen[:20] if not failures else [e.id for e in exchanges if e.id in seen][:20],
    )


def _status(reply: Reply) -> str:
    return str(reply.status) if reply.status is not None else (reply.error or "nothing")
