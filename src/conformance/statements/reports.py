"""A statement's evidence as CI reports (JUnit, SARIF): one result per payload resource and its profiles."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.outcome import Issue, Outcome, Severity
from conformance.reports import PayloadResult
from conformance.statements.model import IssueRecord, ItemEvidence, Statement


def payload_results(statement: Statement) -> Iterator[PayloadResult]:
    """The assessed resources, each with the issues that count (suppressed ones are left out)."""
    for payload in statement.evidence.payloads:
        for item in payload.items:
            if item.valid is None:
                continue  # out of the standard's scope: nothing was checked
            yield PayloadResult(
                outcome=Outcome.of(_issues(item), profiles=item.assigned_profiles),
                source=_source(payload.name, item),
                resource_type=item.resource_type,
                profiles=item.assigned_profiles,
            )


def _source(name: str, item: ItemEvidence) -> str:
    return f"{name}#{item.entry}" if item.entry else name


def _issues(item: ItemEvidence) -> Iterator[Issue]:
    for record in item.issues:
        if not record.suppressed:
            yield _issue(record)


def _issue(record: IssueRecord) -> Issue:
    return Issue(
        severity=Severity(record.severity),
        code=record.code,
        message_id=record.message_id,
        message=record.message,
        location=record.location,
        line=record.line,
        column=record.column,
        profile=record.profile,
        element_id=record.element_id,
        constraint=record.constraint,
    )
