"""From verified submissions to the Register model: entries, rejections, standards and frameworks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance import __version__
from conformance.frameworks import (
    Framework,
    KnownStandards,
    Qualification,
    Submission,
    TrustedKeys,
    inconsistencies,
    qualify,
)
from conformance.frameworks.lifecycle import status_of, successor_of, version_of
from conformance.register.model import (
    REGISTER_VERSION,
    Entry,
    FrameworkSummary,
    ProductOutcome,
    ProfileRef,
    Register,
    Rejected,
    RequirementInfo,
    Signer,
    StandardRef,
    StandardSummary,
)
from conformance.standards import Standard
from conformance.statements import Statement
from conformance.statements.model import clip

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
UNKNOWN = "unknown"


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe form of any text (statement fields are untrusted: no path can come through)."""
    cleaned = _NOT_SLUG.sub("-", text.lower()).strip("-")[:limit].strip("-")
    return cleaned or "x"


@dataclass(frozen=True)
class RegisterInputs:
    submissions: Sequence[Submission]
    keys: TrustedKeys
    frameworks: Sequence[Framework]
    standards: KnownStandards
    statements_root: Path
    title: str
    generated_at: str


@dataclass(frozen=True)
class Assembled:
    """The register, and each accepted statement by its entry id (for the statement pages)."""

    register: Register
    statements: dict[str, Statement]
    files: dict[str, Path]


def assemble(inputs: RegisterInputs) -> Assembled:
    accepted = list(_unique(inputs.submissions))
    entries = sorted(
        (_entry(submission, statement, inputs.standards) for submission, statement in accepted),
        key=lambda entry: (entry.generated_at, entry.id),
        reverse=True,
    )
    ids = {submission.path: entry_id(submission) for submission, _ in accepted}
    statements = {ids[submission.path]: statement for submission, statement in accepted}
    register = Register(
        register_version=REGISTER_VERSION,
        title=clip(inputs.title),
        generated_at=inputs.generated_at,
        generator=f"fhir-conformance {__version__}",
        trusted_keys=tuple(
            Signer(name=key.name, key_id=key.key_id)
            for key in sorted(inputs.keys.by_id.values(), key=lambda k: (k.name, k.key_id))
        ),
        statements=tuple(entries),
        rejected=tuple(_rejected(s, inputs.statements_root) for s in inputs.submissions if not s.accepted),
        standards=tuple(_standards(entries, inputs, statements)),
        frameworks=tuple(_framework(framework, inputs, ids) for framework in inputs.frameworks),
        inconsistencies=tuple(str(found) for found in inconsistencies(inputs.frameworks)),
    )
    return Assembled(
        register, statements, {ids[submission.path]: submission.path for submission, _ in accepted}
    )


def _unique(submissions: Iterable[Submission]) -> Iterator[tuple[Submission, Statement]]:
    """The accepted statements, each once: the same file sent twice (same sha256) is one statement."""
    seen: set[str] = set()
    for submission in submissions:
        if submission.accepted and submission.statement is not None and submission.sha256 not in seen:
            seen.add(submission.sha256)
            yield submission, submission.statement


def entry_id(submission: Submission) -> str:
    statement = submission.statement
    assert statement is not None
    subject = statement.subject
    name = slug(f"{subject.product}-{subject.product_version}-{statement.standard.id}")
    return f"{name}-{submission.sha256[:12]}"


def _entry(submission: Submission, statement: Statement, standards: KnownStandards) -> Entry:
    identifier = entry_id(submission)
    facts = standards.facts(statement.standard)
    subject = statement.subject
    return Entry(
        id=identifier,
        page=f"statements/{identifier}.html",
        statement_file=f"statements/{identifier}.json",
        sha256=submission.sha256,
        supplier=subject.supplier,
        product=subject.product,
        product_version=subject.product_version,
        standard=StandardRef(id=facts.id, title=facts.title, version=facts.version, status=facts.status),
        verdict=statement.results.verdict,
        reason=clip(statement.results.reason),
        generated_at=statement.provenance.generated_at,
        signer=Signer(name=submission.signer, key_id=submission.signer_key),
    )


def _rejected(submission: Submission, root: Path) -> Rejected:
    try:
        shown = submission.path.relative_to(root).as_posix()
    except ValueError:
        shown = submission.path.name
    statement = submission.statement
    subject = statement.subject if statement else None
    return Rejected(
        file=shown,
        sha256=submission.sha256,
        reason=clip(submission.problem or "not accepted"),
        supplier=subject.supplier if subject else None,
        product=subject.product if subject else None,
        product_version=subject.product_version if subject else None,
        standard_id=statement.standard.id if statement else None,
    )


# --- standards -------------------------------------------------------------------------------------


def _standards(
    entries: Sequence[Entry], inputs: RegisterInputs, statements: Mapping[str, Statement]
) -> Iterable[StandardSummary]:
    wanted = dict.fromkeys(
        [*sorted({entry.standard.id for entry in entries}),
         *(r.standard for framework in inputs.frameworks for r in framework.requirements)]
    )  # fmt: skip
    for standard_id in wanted:
        against = [entry for entry in entries if entry.standard.id == standard_id]
        definition = inputs.standards.definition(standard_id)
        if definition is not None:
            yield _from_definition(definition, against)
        else:
            yield _from_statements(standard_id, against, statements)


def _conformant(against: Sequence[Entry]) -> tuple[str, ...]:
    return tuple(entry.id for entry in against if entry.verdict == "conformant")


def _from_definition(definition: Standard, against: Sequence[Entry]) -> StandardSummary:
    name = slug(definition.id)
    return StandardSummary(
        id=definition.id,
        slug=name,
        page=f"standards/{name}.html",
        title=definition.title,
        publisher=definition.publisher,
        description=definition.description,
        version=version_of(definition),
        status=status_of(definition),
        successor=successor_of(definition),
        profiles=tuple(ProfileRef(url=p.url, type=p.type, required=p.required) for p in definition.profiles),
        statements=tuple(entry.id for entry in against),
        conformant=_conformant(against),
    )


def _from_statements(
    standard_id: str, against: Sequence[Entry], statements: Mapping[str, Statement]
) -> StandardSummary:
    """A standard with no definition at hand: described by the newest statement made against it."""
    name = slug(standard_id)
    record = statements[against[0].id].standard if against else None
    return StandardSummary(
        id=standard_id,
        slug=name,
        page=f"standards/{name}.html",
        title=record.title if record else standard_id,
        publisher=record.publisher if record else UNKNOWN,
        description=record.description if record else "",
        version=against[0].standard.version if against else None,
        status=against[0].standard.status if against else UNKNOWN,
        profiles=tuple(ProfileRef(url=p.url, type=p.type, required=p.required) for p in record.profiles)
        if record
        else (),
        statements=tuple(entry.id for entry in against),
        conformant=_conformant(against),
    )


# --- frameworks ------------------------------------------------------------------------------------


def _framework(framework: Framework, inputs: RegisterInputs, ids: dict[Path, str]) -> FrameworkSummary:
    name = slug(framework.id)
    return FrameworkSummary(
        id=framework.id,
        slug=name,
        page=f"frameworks/{name}.html",
        title=framework.title,
        publisher=framework.publisher,
        description=framework.description,
        example=framework.example,
        requires=tuple(
            RequirementInfo(
                standard=r.standard,
                versions=r.versions,
                level=r.level,
                max_not_tested=r.max_not_tested,
                note=r.note,
            )
            for r in framework.requirements
        ),
        products=tuple(_product(q, ids) for q in qualify(framework, inputs.submissions, inputs.standards)),
    )


def _product(qualification: Qualification, ids: dict[Path, str]) -> ProductOutcome:
    product = qualification.product
    meeting = tuple(
        ids[outcome.submission.path]
        for outcome in qualification.outcomes
        if outcome.met and outcome.submission is not None and outcome.submission.path in ids
    )
    return ProductOutcome(
        supplier=product.supplier,
        product=product.product,
        product_version=product.version,
        qualifies=qualification.qualifies,
        statements=meeting,
        # Reasons quote statement text: clipped, as the statement clips what it quotes.
        reasons=tuple(clip(reason) for reason in qualification.reasons),
        notes=tuple(clip(note) for outcome in qualification.outcomes for note in outcome.notes),
    )
