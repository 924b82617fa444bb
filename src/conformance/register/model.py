"""register.json: what the register holds, for machines, in one versioned document.

A pydantic model, versioned by `register_version`. Its JSON Schema is generated from this model,
committed as docs/schema/register-<version>.schema.json, and every register.json written is checked
against it. The HTML pages and the Atom feed are made from this same model, so they cannot disagree.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from conformance.statements.model import Sha256, Timestamp, Verdict

REGISTER_VERSION: Final = "1.0"

Text = Annotated[str, StringConstraints(max_length=10_000)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
SitePath = Annotated[str, StringConstraints(pattern=r"^[a-z]+/[a-z0-9][a-z0-9-]{0,99}\.(html|json)$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Signer(_Model):
    """Who signed: the trusted key's name (its file name) and id."""

    name: Text
    key_id: Text = Field(description="sha256:<hex> of the raw public key; empty when not signed")


class StandardRef(_Model):
    id: Text
    title: Text
    version: Text | None = Field(description="the standard's version, when known")
    status: Text = Field(description="draft, trial-use, active, deprecated or retired")


class Entry(_Model):
    """An accepted statement: verified on the way in (schema, digests, signature by a trusted key)."""

    id: Slug
    page: SitePath = Field(description="the statement's page, relative to the register")
    statement_file: SitePath = Field(description="the statement itself (JSON), relative to the register")
    sha256: Sha256 = Field(description="sha256 of the statement file")
    supplier: Text
    product: Text
    product_version: Text
    standard: StandardRef
    verdict: Verdict
    reason: Text
    generated_at: Timestamp
    signer: Signer
    verified: Literal[True] = True


class Rejected(_Model):
    """A statement that failed verification: listed apart, with why, and never with its verdict."""

    file: Text = Field(description="the file's path inside the statements folder")
    sha256: Sha256
    reason: Text
    supplier: Text | None = None
    product: Text | None = None
    product_version: Text | None = None
    standard_id: Text | None = None
    verified: Literal[False] = False


class ProfileRef(_Model):
    url: Text
    type: Text
    required: bool


class StandardSummary(_Model):
    id: Text
    slug: Slug
    page: SitePath
    title: Text
    publisher: Text
    description: Text = ""
    version: Text | None
    status: Text
    successor: Text | None = None
    profiles: tuple[ProfileRef, ...]
    statements: tuple[Slug, ...] = Field(description="the accepted statements against this standard")
    conformant: tuple[Slug, ...] = Field(description="those of them whose verdict is conformant")


class RequirementInfo(_Model):
    standard: Text
    versions: Text
    level: Text
    max_not_tested: int | None = None
    note: Text = ""


class ProductOutcome(_Model):
    supplier: Text
    product: Text
    product_version: Text
    qualifies: bool
    statements: tuple[Slug, ...] = Field(description="the accepted statements that meet a requirement")
    reasons: tuple[Text, ...] = Field(description="why it does not qualify, one per unmet requirement")
    notes: tuple[Text, ...] = ()


class FrameworkSummary(_Model):
    id: Text
    slug: Slug
    page: SitePath
    title: Text
    publisher: Text
    description: Text = ""
    example: bool
    requires: tuple[RequirementInfo, ...]
    products: tuple[ProductOutcome, ...]


class Register(_Model):
    """The register (format 1.0)."""

    register_version: Literal["1.0"]
    title: Text
    generated_at: Timestamp
    generator: Text
    trusted_keys: tuple[Signer, ...]
    statements: tuple[Entry, ...] = Field(description="accepted statements, newest first")
    rejected: tuple[Rejected, ...]
    standards: tuple[StandardSummary, ...]
    frameworks: tuple[FrameworkSummary, ...]
    inconsistencies: tuple[Text, ...] = Field(description="frameworks that require non-overlapping versions")
