"""What a terminology server's replies mean: `$validate-code`, `$expand`, `$lookup` and its capabilities.

A server's reply is untrusted input. Text from it is cleaned (one line, no
control characters, bounded length) before it goes into a message, and a
reply that is not the expected shape is "the server failed", never a crash.

How a `$validate-code` reply becomes valid / invalid / unknown:

- `result = true`: valid; warnings the server attaches (inactive code...) become findings.
- `result = false` with typed issues (the `issues` OperationOutcome of the FHIR terminology
  ecosystem, typed by http://hl7.org/fhir/tools/CodeSystem/tx-issue-type): only display
  errors -> the code is a member with a wrong display; `not-found` / `vs-invalid` only ->
  the server could not check (unknown); anything else -> invalid.
- `result = false` without issues (a plain R4 server): invalid; the caller asks again without
  the display to tell a wrong display from a wrong code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.outcome import Severity
from conformance.terminology import results as r
from conformance.terminology.answers import (
    SERVER_NOTE,
    AnswerSource,
    CodeSystemVersion,
    Provenance,
    make_expansion,
    sorted_versions,
    traced,
)
from conformance.terminology.expansion import Expansion
from conformance.terminology.members import Concept
from conformance.terminology.parameters import Reader
from conformance.terminology.results import CodeCheck, CodeResult, Finding

TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
MAX_TEXT = 500
MAX_CONTAINS_DEPTH = 20

DISPLAY_KINDS = frozenset({"invalid-display"})
CANNOT_CHECK_KINDS = frozenset({"not-found", "vs-invalid"})
NOT_MEMBER_KINDS = frozenset({"not-in-vs", "this-code-not-in-vs"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SPACE = re.compile(r"\s+")


def clean(text: Any) -> str | None:
    """Server-supplied text made safe for a one-line message; None for anything that is not text."""
    if not isinstance(text, str):
        return None
    one_line = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    if not one_line:
        return None
    return one_line if len(one_line) <= MAX_TEXT else one_line[: MAX_TEXT - 1] + "…"


# --- capabilities -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerInfo:
    """What a server says about itself (CapabilityStatement and TerminologyCapabilities)."""

    url: str
    software: str | None = None
    fhir_version: str | None = None
    batch: bool = False
    code_systems: tuple[CodeSystemVersion, ...] = ()

    def default_version(self, system: str | None) -> str | None:
        """The version the server uses for `system` when none is asked for: its default, or its only one."""
        versions = [v for v in self.code_systems if v.system == system and v.version]
        default = next((v.version for v in versions if v.is_default), None)
        if default is not None:
            return default
        return versions[0].version if len(versions) == 1 else None


def read_capability_statement(url: str, body: Any) -> ServerInfo:
    data = body if isinstance(body, Mapping) else {}
    software = _mapping(data.get("software"))
    name, version = clean(software.get("name")), clean(software.get("version"))
    label = " ".join(part for part in (name, version) if part) or None
    interactions = (
        item for rest in _mappings(data.get("rest")) for item in _mappings(rest.get("interaction"))
    )
    batch = any(interaction.get("code") == "batch" for interaction in interactions)
    return ServerInfo(url=url, software=label, fhir_version=clean(data.get("fhirVersion")), batch=batch)


def read_code_systems(body: Any) -> tuple[CodeSystemVersion, ...]:
    """The code systems and versions a TerminologyCapabilities lists (nothing for any other reply)."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "TerminologyCapabilities":
        return ()
    found: list[CodeSystemVersion] = []
    for entry in _mappings(body.get("codeSystem")):
        system = clean(entry.get("uri"))
        if system is None:
            continue
        versions = list(_mappings(entry.get("version")))
        found.extend(
            CodeSystemVersion(system, clean(version.get("code")), version.get("isDefault") is True)
            for version in versions
        )
        if not versions:
            found.append(CodeSystemVersion(system))
    return sorted_versions(found)


# --- $validate-code -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TxIssue:
    severity: Severity
    kind: str | None  # the tx-issue-type code, when the server gives one
    text: str


def tx_issues(outcome: Any) -> tuple[TxIssue, ...]:
    if not isinstance(outcome, Mapping):
        return ()
    return tuple(issue for raw in _mappings(outcome.get("issue")) if (issue := _tx_issue(raw)) is not None)


def _tx_issue(raw: Mapping[str, Any]) -> TxIssue | None:
    try:
        severity = Severity(raw.get("severity"))
    except ValueError:
        return None
    details = _mapping(raw.get("details"))
    kind = next(
        (
            str(c.get("code"))
            for c in _mappings(details.get("coding"))
            if c.get("system") == TX_ISSUE_TYPE and isinstance(c.get("code"), str)
        ),
        None,
    )
    text = clean(details.get("text")) or clean(raw.get("diagnostics")) or (kind or "no details")
    return TxIssue(severity, kind, text)


@dataclass(frozen=True)
class Validation:
    """One `$validate-code` reply, read but not yet judged."""

    result: bool
    message: str | None
    display: str | None
    system: str | None
    version: str | None
    issues: tuple[TxIssue, ...]

    @property
    def errors(self) -> tuple[TxIssue, ...]:
        return tuple(issue for issue in self.issues if issue.severity.is_error)

    @property
    def display_only(self) -> bool:
        """False only because of the display: every error is a display error."""
        return bool(self.errors) and all(issue.kind in DISPLAY_KINDS for issue in self.errors)

    @property
    def cannot_check(self) -> bool:
        """The server could not look: it lacks the code system or value set, or cannot evaluate it."""
        kinds = {issue.kind for issue in self.errors}
        return bool(kinds) and kinds <= CANNOT_CHECK_KINDS


def read_validation(body: Any) -> Validation | None:
    """None when the reply has no boolean `result`: not an answer at all."""
    reader = Reader(body)
    result = reader.boolean("result")
    if result is None:
        return None
    return Validation(
        result=result,
        message=clean(reader.string("message")),
        display=clean(reader.string("display")),
        system=clean(reader.string("system")),
        version=clean(reader.string("version")),
        issues=tx_issues(reader.resource("issues")),
    )


@dataclass(frozen=True)
class Judge:
    """Turns readings into results, with the wording and the severity choices of this run."""

    provenance: Provenance
    display_mismatch_is_warning: bool = False

    def findings(self, reading: Validation, *, skip_membership: bool = True) -> tuple[Finding, ...]:
        """The server's issues as findings (the not-in-value-set issue itself is the primary answer)."""
        return tuple(
            self._finding(issue)
            for issue in reading.issues
            if not (skip_membership and issue.kind in NOT_MEMBER_KINDS)
        )

    def _finding(self, issue: TxIssue) -> Finding:
        where = f" ({self.provenance.describe()})"
        if issue.kind in DISPLAY_KINDS:
            severity = Severity.WARNING if self.display_mismatch_is_warning else Severity.ERROR
            return Finding(severity, "invalid", r.DISPLAY_MISMATCH, issue.text + where)
        if issue.kind == "invalid-code":
            return Finding(Severity.ERROR, "code-invalid", r.UNKNOWN_CODE, issue.text + where)
        if issue.kind == "status-check":
            return Finding(Severity.WARNING, "business-rule", r.INACTIVE, issue.text + where)
        return Finding(issue.severity, "informational", SERVER_NOTE, issue.text + where)

    def display_finding(self, display: str, correct: str | None, subject: str) -> Finding:
        """A wrong display found by asking twice (a server that does not type its issues)."""
        severity = Severity.WARNING if self.display_mismatch_is_warning else Severity.ERROR
        expected = f": the server's display is '{correct}'" if correct else ""
        return Finding(
            severity,
            "invalid",
            r.DISPLAY_MISMATCH,
            f"Wrong display '{display}' for {subject}{expected} ({self.provenance.describe()})",
        )

    def result(
        self,
        status: CodeCheck,
        message_id: str,
        message: str,
        *,
        reading: Validation | None = None,
        hint: Severity | None = None,
        issue_type: str | None = None,
    ) -> CodeResult:
        default_type = {CodeCheck.VALID: "informational", CodeCheck.INVALID: "code-invalid"}
        plain = CodeResult(
            status,
            message_id,
            f"{message} ({self.provenance.describe()})",
            severity_hint=hint,
            issue_type=issue_type or default_type.get(status, "not-supported"),
            system=reading.system if reading else None,
            display=reading.display if reading else None,
        )
        return traced(plain, self.provenance)


def said(reading: Validation, repeated: Sequence[TxIssue] = ()) -> str:
    """The server's own message, as a clause to append (unless an issue already says the same)."""
    if not reading.message or any(issue.text == reading.message for issue in repeated):
        return ""
    return f"; the server said: {reading.message}"


# --- $expand ------------------------------------------------------------------------------------------


def read_expansion(body: Any, url: str, limit: int) -> Expansion | None:
    if not isinstance(body, Mapping) or body.get("resourceType") != "ValueSet":
        return None
    expansion = body.get("expansion")
    if not isinstance(expansion, Mapping):
        return None
    contains = tuple(_contained(expansion.get("contains"), 0))
    total = expansion.get("total")
    offset = expansion.get("offset")
    if isinstance(total, int) and not isinstance(total, bool):
        complete = total == len(contains)
    else:
        complete = len(contains) < limit and not offset
    title = clean(body.get("title")) or clean(body.get("name")) or url
    version = clean(body.get("version"))
    note = () if complete else (f"the server listed {len(contains)} of {total if total else 'more'} codes",)
    return make_expansion(
        url=clean(body.get("url")) or url,
        version=version,
        title=title,
        contains=contains,
        complete=complete,
        notes=note,
    )


def _contained(items: Any, depth: int) -> Iterator[Concept]:
    if depth > MAX_CONTAINS_DEPTH:
        return
    for item in _mappings(items):
        system, code = clean(item.get("system")), item.get("code")
        if system and isinstance(code, str) and code:
            yield Concept(
                system=system,
                code=code,
                display=clean(item.get("display")),
                version=clean(item.get("version")),
                status="inactive" if item.get("inactive") is True else None,
                abstract=item.get("abstract") is True,
            )
        yield from _contained(item.get("contains"), depth + 1)


# --- $lookup ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConceptDetails:
    """What `$lookup` says about one code."""

    system: str
    code: str
    display: str | None = None
    version: str | None = None
    name: str | None = None  # the code system's name
    designations: tuple[str, ...] = ()
    inactive: bool | None = None
    provenance: Provenance | None = None


def read_lookup(body: Any, system: str, code: str, provenance: Provenance) -> ConceptDetails | None:
    reader = Reader(body)
    if not reader.names:
        return None
    designations = tuple(
        text for part in reader.parts("designation") if (text := clean(part.string("value"))) is not None
    )
    inactive: bool | None = None
    for prop in reader.parts("property"):
        if prop.value("code") == "inactive":
            inactive = prop.boolean("value")
    version = clean(reader.string("version"))
    return ConceptDetails(
        system=system,
        code=code,
        display=clean(reader.string("display")),
        version=version,
        name=clean(reader.string("name")),
        designations=designations,
        inactive=inactive,
        provenance=Provenance(
            AnswerSource.SERVER,
            provenance.server,
            provenance.software,
            system,
            version or provenance.system_version,
        ),
    )


def operation_outcome_text(body: Any) -> str | None:
    """The first issue's text of an OperationOutcome a server sent with an error status."""
    issues = tx_issues(body) if isinstance(body, Mapping) else ()
    return issues[0].text if issues else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        yield from (item for item in value if isinstance(item, Mapping))
