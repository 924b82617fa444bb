"""What a terminology check answers: a three-valued status, a stable message id, and secondary findings.

`unknown` is a first-class answer: offline, many codes (SNOMED CT, LOINC, dm+d...)
cannot be checked, and saying "not checked" is better than a false error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from conformance.outcome import Severity


class CodeCheck(StrEnum):
    """The answer of a check; compares equal to its plain string ("valid", "invalid", "unknown")."""

    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"  # cannot tell offline: not checked


# Message ids (catalogued in docs/terminology.md). Tests and users match on these, never on the text.
IN_VALUESET = "terminology.in-valueset"
NOT_IN_VALUESET = "terminology.not-in-valueset"
NONE_IN_VALUESET = "terminology.none-in-valueset"
NO_CODE = "terminology.no-code"
SYSTEM_UNDETERMINED = "terminology.system-undetermined"
CODE_VALID = "terminology.code-valid"
UNKNOWN_CODE = "terminology.unknown-code"
UNKNOWN_CODE_IN_FRAGMENT = "terminology.unknown-code.fragment"
DISPLAY_MISMATCH = "terminology.display-mismatch"
DISPLAY_WHITESPACE = "terminology.display-whitespace"
CODE_CASE = "terminology.code-case"
INACTIVE = "terminology.inactive"
DEPRECATED = "terminology.deprecated"
VALUESET_NOT_FOUND = "terminology.valueset-not-found"
CODESYSTEM_NOT_FOUND = "terminology.codesystem-not-found"
CODESYSTEM_VERSION_NOT_FOUND = "terminology.codesystem-version-not-found"
NOT_CHECKED_EXTERNAL = "terminology.not-checked.external"
NOT_CHECKED_CONTENT = "terminology.not-checked.content"
NOT_CHECKED_VALUESET = "terminology.not-checked.valueset"
SYNTAX_VALID = "terminology.syntax-valid"
UCUM_INVALID = "terminology.ucum.invalid"
MIME_INVALID = "terminology.mimetype.invalid"
LANGUAGE_INVALID = "terminology.language.invalid"
IDENTIFIER_VALID = "identifier.valid"


@dataclass(frozen=True)
class Finding:
    """A secondary finding reported alongside a result (display mismatch, inactive code...)."""

    severity: Severity
    issue_type: str  # FHIR IssueType code: code-invalid, invalid, business-rule, not-found, informational
    message_id: str
    message: str


@dataclass(frozen=True)
class CodeResult:
    """The answer to one terminology question.

    `severity_hint` is set when the rule itself implies a severity (an invalid
    NHS number check digit is an error whatever the binding); for binding
    membership it is None and the binding strength decides. `issues` are
    secondary findings that stand whatever the membership answer is.
    """

    status: CodeCheck
    message_id: str
    message: str
    severity_hint: Severity | None = None
    issues: tuple[Finding, ...] = ()
    issue_type: str = "code-invalid"
    system: str | None = None  # the system the code belongs to (inferred for bare codes)
    display: str | None = None  # the preferred display of the code, when known

    @property
    def valid(self) -> bool:
        return self.status is CodeCheck.VALID

    @property
    def invalid(self) -> bool:
        return self.status is CodeCheck.INVALID

    @property
    def unknown(self) -> bool:
        return self.status is CodeCheck.UNKNOWN

    @property
    def message_ids(self) -> tuple[str, ...]:
        """The primary message id and those of the secondary findings, in order."""
        return (self.message_id, *(finding.message_id for finding in self.issues))

    def with_issues(self, *extra: Finding) -> CodeResult:
        return replace(self, issues=(*self.issues, *extra)) if extra else self


def valid(
    message_id: str, message: str, *, system: str | None = None, display: str | None = None
) -> CodeResult:
    return CodeResult(
        CodeCheck.VALID, message_id, message, issue_type="informational", system=system, display=display
    )


def invalid(
    message_id: str, message: str, *, hint: Severity | None = None, issue_type: str = "code-invalid"
) -> CodeResult:
    return CodeResult(CodeCheck.INVALID, message_id, message, severity_hint=hint, issue_type=issue_type)


def unknown(
    message_id: str, message: str, *, hint: Severity | None = None, issue_type: str = "not-supported"
) -> CodeResult:
    return CodeResult(CodeCheck.UNKNOWN, message_id, message, severity_hint=hint, issue_type=issue_type)


def qualified(system: str | None, code: str) -> str:
    """How a code is named in messages: `system#code`, or `#code` when there is no system."""
    return f"{system or ''}#{code}"
