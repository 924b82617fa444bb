"""A statement as FHIR R4: a collection Bundle of TestReport resources, one per profile of the standard.

Each TestReport's `result` is pass (conformant), fail (non-conformant) or pending (not tested, or too
few samples); it holds one test per resource assessed against the profile, whose assert says pass or
fail and names the payload and its sha256. Identifiers and fullUrls are name-based UUIDs derived from
the statement's content, so the same statement always gives the same Bundle.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from html import escape
from typing import Any

from conformance.statements.model import ItemEvidence, PayloadEvidence, ProfileResult, Statement
from conformance.statements.schema import canonical_bytes
from conformance.statements.view import VERDICT_LABELS, short_name

_RESULTS = {
    "conformant": "pass",
    "non-conformant": "fail",
    "not-tested": "pending",
    "insufficient-sample": "pending",
}
_NAMESPACE = uuid.UUID("5b0b6a7e-3c1f-5d0e-9a51-0c6f6e6f726d")  # fixed: this tool's UUID namespace
XHTML = "http://www.w3.org/1999/xhtml"
_SCRIPT_SYSTEM = "urn:fhir-conformance:standard-profile"  # a profile of a standard stands for the test script


def render_fhir(statement: Statement) -> dict[str, Any]:
    """The statement as a FHIR R4 Bundle (a JSON-ready dict)."""
    seed = hashlib.sha256(canonical_bytes(statement)).hexdigest()
    reports = [
        _test_report(statement, result, seed, index)
        for index, result in enumerate(statement.results.profiles)
    ]
    return {
        "resourceType": "Bundle",
        "id": f"statement-{seed[:16]}",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": _urn(seed, "bundle")},
        "type": "collection",
        "timestamp": statement.provenance.generated_at,
        "entry": [
            {"fullUrl": _urn(seed, f"report-{report['id']}"), "resource": report} for report in reports
        ],
    }


def _urn(seed: str, name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{seed}/{name}')}"


def _test_report(statement: Statement, result: ProfileResult, seed: str, index: int) -> dict[str, Any]:
    standard = statement.standard
    environment = statement.environment
    name = short_name(result.url)
    report: dict[str, Any] = {
        "resourceType": "TestReport",
        "id": f"profile-{index + 1}",
        "text": {"status": "generated", "div": _narrative(statement, result)},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": _urn(seed, result.url)},
        "name": f"{standard.id}: {name} — {statement.subject.product} {statement.subject.product_version}",
        "status": "completed",
        "testScript": {
            "identifier": {"system": _SCRIPT_SYSTEM, "value": f"{standard.id}|{result.url}"},
            "display": f"Profile {result.url} of {standard.title}",
        },
        "result": _RESULTS[result.verdict],
        "tester": f"{environment.tool} {environment.tool_version}",
        "issued": statement.provenance.generated_at,
        "participant": [
            {"type": "test-engine", "uri": f"urn:fhir-conformance:{environment.tool_version}",
             "display": environment.tool},
        ],
    }  # fmt: skip
    if result.tested:
        report["score"] = round(result.passed * 100 / result.tested, 2)
    tests = list(_tests(statement, result.url))
    if tests:
        report["test"] = tests
    return report


def _narrative(statement: Statement, result: ProfileResult) -> str:
    text = (
        f"{VERDICT_LABELS[result.verdict]}: {result.reason}. Profile {result.url} of "
        f"{statement.standard.title}; {result.tested} tested, {result.passed} passed, {result.failed} failed."
    )
    return f'<div xmlns="{XHTML}"><p>{escape(text, quote=False)}</p></div>'


def _tests(statement: Statement, url: str) -> Iterator[dict[str, Any]]:
    for payload in statement.evidence.payloads:
        for item in payload.items:
            if url in item.assigned_profiles:
                yield _test(payload, item)


def _test(payload: PayloadEvidence, item: ItemEvidence) -> dict[str, Any]:
    where = f" {item.entry}" if item.entry else ""
    errors = sum(1 for issue in item.issues if issue.severity in ("fatal", "error") and not issue.suppressed)
    message = "no errors" if item.valid else f"{errors} error(s)"
    kind = f"{item.resource_type}/{item.id}" if item.id else (item.resource_type or "resource")
    return {
        "name": f"{payload.name}{where}",
        "description": f"{kind}, payload sha256 {payload.sha256}",
        "action": [{"assert": {"result": "pass" if item.valid else "fail", "message": message}}],
    }
