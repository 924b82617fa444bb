"""The conformance statement: what was assessed, against what, with what result, and how to re-check it.

A pydantic model, versioned by `statement_version`: 1.0 attests to payload files; 1.1 adds the optional
`results.api` and `evidence.api` parts written by `conformance test-server` (a statement without them
is the same as in 1.0, so 1.0 statements read, verify and keep their signatures). Its JSON Schema is
generated from this model (`conformance.statements.schema`), committed as
docs/schema/statement-<version>.schema.json, and every statement written or read is checked against it.
The statement holds no floating-point numbers, so its canonical JSON form (sorted keys, no whitespace,
UTF-8) is the same on every platform.
"""

from __future__ import annotations

import base64
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

STATEMENT_VERSION: Final = "1.1"
STATEMENT_VERSIONS: Final = ("1.0", "1.1")
PAYLOAD_TYPE: Final = "application/vnd.fhir-conformance.statement+json"
SIGNATURE_FORMAT: Final = "dsse-v1-ed25519"

Verdict = Literal["conformant", "non-conformant", "not-tested", "insufficient-sample"]
PublicationStatus = Literal["draft", "active", "retired", "unknown"]
StandardStatus = Literal["draft", "trial-use", "active", "deprecated", "retired"]
Assignment = Literal["claimed", "resource-type", "out-of-scope", "unreadable"]
NotEvaluatedKind = Literal["binding", "invariant", "extension", "profile", "regex", "questionnaire", "other"]
TerminologyKind = Literal["offline", "server", "recorded-answers"]
SeverityName = Literal["fatal", "error", "warning", "information"]

CLIPPED = 2000  # payload-derived text longer than this is cut: a hostile payload may quote megabytes
NAME_LENGTH = 200

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, StringConstraints(max_length=10_000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LENGTH)]
Count = Annotated[int, Field(ge=0)]
MAX_BODY = 8 * 1024 * 1024  # characters of one recorded body: the rest is cut, and says so
Body = Annotated[str, StringConstraints(max_length=MAX_BODY)]
Timestamp = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")]


def clip(text: str, limit: int = CLIPPED) -> str:
    """`text` cut to `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def body_bytes(recorded: str, encoding: str) -> bytes:
    """The bytes a recorded exchange body stands for (its digest is over these)."""
    return base64.b64decode(recorded) if encoding == "base64" else recorded.encode("utf-8")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Subject(_Model):
    """Who and what was assessed, and a digest of exactly the payloads submitted."""

    supplier: Name
    product: Name
    product_version: Name
    payload_count: Count
    payload_set_sha256: Sha256 = Field(
        description="sha256 of the sorted payload sha256 digests, one per line (names do not count)"
    )


class PackageRange(_Model):
    """A package the standard asks for, with the version range it accepts."""

    name: Name
    version: Name


class PackageRecord(_Model):
    """A package that was loaded, exactly: its version and the sha256 of its archive or folder."""

    name: Name
    version: Name
    sha256: Sha256
    fhir_versions: tuple[Name, ...] = ()


class ProfileInScope(_Model):
    """A profile of the standard, as the loaded packages define it."""

    url: Text
    version: Text | None = None
    title: Text | None = None
    type: Name
    status: PublicationStatus = Field(description="the StructureDefinition's publication status")
    experimental: bool = False
    package: Text | None = Field(default=None, description="the package (name#version) defining it")
    required: bool
    min_samples: Annotated[int, Field(ge=1)]
    default_for_type: bool
    note: Text = ""


class StandardRecord(_Model):
    """The standard the payloads were assessed against, complete enough to re-run the assessment."""

    id: Name
    title: Name
    publisher: Name
    description: Text = ""
    fhir_version: Name
    status: StandardStatus = Field(
        default="active",
        description="the standard's life-cycle status when assessed; deprecated or retired ones are flagged",
    )
    version: Annotated[str, StringConstraints(max_length=NAME_LENGTH)] = ""
    definition_sha256: Sha256 = Field(description="sha256 of the standard definition's canonical JSON form")
    package_ranges: tuple[PackageRange, ...]
    packages: tuple[PackageRecord, ...] = Field(description="every package loaded, in precedence order")
    profiles: tuple[ProfileInScope, ...]


class SeverityCounts(_Model):
    fatal: Count = 0
    error: Count = 0
    warning: Count = 0
    information: Count = 0


class NotEvaluated(_Model):
    """A rule in scope that could not be evaluated, why, and how often."""

    kind: NotEvaluatedKind
    what: Text
    reason: Text
    payloads: Count
    occurrences: Count


class ProfileResult(_Model):
    url: Text
    tested: Count
    passed: Count
    failed: Count
    issues_by_severity: SeverityCounts
    issues_by_message_id: dict[str, Count]
    not_evaluated: tuple[NotEvaluated, ...]
    verdict: Verdict
    reason: Text
    rests_on_draft: bool = Field(description="the profile is not active (draft, retired or unknown status)")


class OutOfScope(_Model):
    """Payload resources that no profile of the standard covers, by resource type."""

    resource_type: Name
    count: Count


ApiOutcome = Literal["pass", "fail", "not-demonstrated", "skipped", "error"]


class ApiTest(_Model):
    """One test of a live server: a stable id, its outcome, a sentence a buyer can read, its exchanges."""

    id: Name
    title: Text
    outcome: ApiOutcome
    reason: Text
    profile: Text | None = None
    exchanges: tuple[Name, ...] = ()


class MustSupportSeen(_Model):
    """A must-support element of a profile, and in how many of the resources returned it was present."""

    profile: Text
    element: Text
    resources: Count
    seen_in: Count


class ApiResults(_Model):
    base_url: Text
    outcome: Literal["pass", "fail"]
    reason: Text
    counts: dict[ApiOutcome, Count]
    tests: tuple[ApiTest, ...]
    must_support: tuple[MustSupportSeen, ...] = ()


class Results(_Model):
    verdict: Verdict
    reason: Text
    rests_on_draft_profiles: bool
    profiles: tuple[ProfileResult, ...]
    unreadable_payloads: Count
    out_of_scope: tuple[OutOfScope, ...]
    suppressed_issues: Count
    api: ApiResults | None = None


class IssueRecord(_Model):
    severity: SeverityName
    code: Name
    message_id: Name
    message: Text
    location: Text = ""
    line: Count | None = None
    column: Count | None = None
    profile: Text | None = None
    element_id: Text | None = None
    constraint: Text | None = None
    suppressed: bool = False


class ItemEvidence(_Model):
    """One resource of a payload: the payload itself, or one entry of a Bundle."""

    entry: Text = Field(description="where in the payload ('' for the whole payload)")
    resource_type: Text | None = None
    id: Text | None = None
    claimed_profiles: tuple[Text, ...] = ()
    assigned_profiles: tuple[Text, ...] = ()
    assignment: Assignment
    valid: bool | None = Field(default=None, description="None when it was not validated (out of scope)")
    issues: tuple[IssueRecord, ...] = ()


class PayloadEvidence(_Model):
    name: Text
    sha256: Sha256
    size: Count
    items: tuple[ItemEvidence, ...]


class ApiExchange(_Model):
    """One HTTP request and its response, as sent and received (credentials removed)."""

    id: Name
    method: Name
    url: Text
    request_headers: dict[str, Text] = {}
    request_body: Body | None = None
    request_body_sha256: Sha256 | None = None
    status: Annotated[int, Field(ge=100, le=599)] | None = Field(
        default=None, description="None when no response came (timeout, refused, TLS)"
    )
    response_headers: dict[str, Text] = {}
    response_body: Body = Field(default="", description="the body as text, or base64 (see body_encoding)")
    body_encoding: Literal["utf-8", "base64"] = "utf-8"
    response_body_sha256: Sha256 = Field(
        description="sha256 of the body bytes recorded here (all of them unless body_truncated)"
    )
    response_size: Count = 0
    body_truncated: bool = Field(default=False, description="the body was longer than the tool keeps")
    elapsed_ms: Count = 0
    error: Text | None = None


class ApiResource(_Model):
    """One resource a server returned, the profile it was validated against, and what was found."""

    exchange: Name
    entry: Text = Field(description="where in the response body ('' for the whole body)")
    resource_type: Text
    id: Text | None = None
    profiles: tuple[Text, ...]
    valid: bool
    issues: tuple[IssueRecord, ...] = ()


class ApiEvidence(_Model):
    """Everything exchanged with the server under test, in order."""

    base_url: Text
    auth: Text = Field(description="how the tool authenticated (the kind, never a secret)")
    exchanges: tuple[ApiExchange, ...]
    resources: tuple[ApiResource, ...] = ()


class Evidence(_Model):
    payloads: tuple[PayloadEvidence, ...]
    api: ApiEvidence | None = None


class TerminologySource(_Model):
    """Where code checks got their answers."""

    kind: TerminologyKind
    description: Text
    server: Text | None = None
    editions: tuple[Text, ...] = ()
    answers_file: Text | None = None
    answers_sha256: Sha256 | None = None


class SuppressionRecord(_Model):
    """An issue rule the assessor chose to set aside, why, and how many issues it set aside."""

    message_id: Name
    constraint: Text | None = None
    profile: Text | None = None
    location: Text | None = None
    rationale: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    matched: Count = 0


class Environment(_Model):
    tool: Name
    tool_version: Name
    python_version: Name
    terminology: TerminologySource
    suppressions: tuple[SuppressionRecord, ...] = ()


class Provenance(_Model):
    generated_at: Timestamp = Field(description="UTC, to the second")
    generated_by: Name
    command: Text = Field(description="the command that reproduces this statement")


class Signature(_Model):
    """An Ed25519 signature over the DSSE v1 pre-authentication encoding of the canonical statement."""

    format: Literal["dsse-v1-ed25519"]
    payload_type: Literal["application/vnd.fhir-conformance.statement+json"]
    key_id: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]
    signature: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{86}==$")]


class Statement(_Model):
    """A conformance statement (format 1.1; 1.0 statements are the same without the API parts)."""

    statement_version: Literal["1.0", "1.1"]
    subject: Subject
    standard: StandardRecord
    results: Results
    evidence: Evidence
    environment: Environment
    provenance: Provenance
    signature: Signature | None = None
