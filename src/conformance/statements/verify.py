"""Verifying a statement: its schema, its signature, the payloads it names, and that it reproduces.

Each check passes, fails, or is skipped (with the reason); a statement verifies when none fails.
Reproducing means: load exactly the packages the statement names (the same versions, the same sha256),
rebuild the standard and the suppressions from the statement itself, assess the same payloads again,
and compare everything but the moment, the names the payload files have, and the signature.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from conformance.context import Context
from conformance.errors import ConformanceError
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.standards import Standard, standard_from_dict
from conformance.statements.assess import Assessor, Product, RunDetails, terminology_source_of
from conformance.statements.model import (
    ApiEvidence,
    ApiExchange,
    ProfileInScope,
    StandardRecord,
    Statement,
    TerminologySource,
    body_bytes,
)
from conformance.statements.payloads import PayloadFile, collect_payloads, payload_set_digest, sha256_file
from conformance.statements.schema import read_statement_data, statement_from_data, statement_to_data
from conformance.statements.signing import verify_signature
from conformance.statements.suppressions import Suppression
from conformance.terminology import TerminologyService
from conformance.validation import Validator

CheckStatus = Literal["pass", "fail", "skipped", "warning"]  # a warning never fails verification
_SHOWN_DIFFERENCES = 5


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    detail: str


TerminologySession = Callable[[Context], AbstractContextManager[TerminologyService]]
"""Opens the terminology a re-run may use over a Context, and closes it after."""


class _CannotRerun(ConformanceError):
    """The terminology at hand cannot stand in for the one the statement was made with."""


@dataclass(frozen=True)
class Verification:
    """The checks made on one statement, in order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return not any(check.status == "fail" for check in self.checks)


def verify_statement(
    path: Path,
    *,
    public_key: Ed25519PublicKey | None = None,
    payloads: Path | None = None,
    settings: Settings | None = None,
    context: Context | None = None,
    terminology: TerminologySession | None = None,
) -> Verification:
    """Check a statement file. `payloads` is a folder holding the payload files (any names, any layout);
    the context to re-run in is `context`, or is built from `settings` (offline) and the statement's
    packages; without either, reproduction is skipped. A statement whose codes were checked with a
    server or recorded answers re-runs only with the same kind of `terminology` (the same recording).
    """
    checks: list[Check] = []
    statement = _read(path, checks)
    if statement is None:
        return Verification(tuple(checks))
    checks.append(_signature(statement, public_key))
    checks.append(_consistency(statement))
    checks.extend(_standard_status(statement))
    if statement.evidence.api is not None:
        checks.append(_exchange_digests(statement.evidence.api))
        checks.append(_revalidation(statement, settings, context))
        return Verification(tuple(checks))
    files = _payload_files(statement, payloads, checks)
    checks.append(_reproduction(statement, files, settings, context, terminology))
    return Verification(tuple(checks))


def _read(path: Path, checks: list[Check]) -> Statement | None:
    try:
        statement = statement_from_data(read_statement_data(path), str(path))
    except ConformanceError as exc:
        checks.append(Check("schema", "fail", str(exc)))
        return None
    checks.append(Check("schema", "pass", f"matches the statement schema {statement.statement_version}"))
    return statement


def _signature(statement: Statement, public_key: Ed25519PublicKey | None) -> Check:
    answer = verify_signature(statement, public_key)
    if not answer.signed and answer.ok:
        return Check("signature", "skipped", answer.detail)
    return Check("signature", "pass" if answer.ok else "fail", answer.detail)


def _consistency(statement: Statement) -> Check:
    evidence = statement.evidence.payloads
    digest = payload_set_digest(payload.sha256 for payload in evidence)
    subject = statement.subject
    if digest != subject.payload_set_sha256 or len(evidence) != subject.payload_count:
        return Check(
            "payload set", "fail", "the payload-set digest does not match the payloads in the evidence"
        )
    return Check("payload set", "pass", f"{len(evidence)} payload(s), set digest {digest[:16]}…")


# --- API evidence: the recorded exchanges ------------------------------------------------------------


def _exchange_digests(api: ApiEvidence) -> Check:
    """Every recorded body still has the digest recorded with it."""
    changed = [
        exchange.id
        for exchange in api.exchanges
        if _sha256(body_bytes(exchange.response_body, exchange.body_encoding))
        != exchange.response_body_sha256
        or (
            exchange.request_body is not None
            and _sha256(exchange.request_body.encode("utf-8")) != exchange.request_body_sha256
        )
    ]
    if changed:
        shown = ", ".join(changed[:_SHOWN_DIFFERENCES]) + (" …" if len(changed) > _SHOWN_DIFFERENCES else "")
        return Check(
            "exchanges", "fail", f"{len(changed)} recorded exchange(s) changed since recording: {shown}"
        )
    return Check("exchanges", "pass", f"all {len(api.exchanges)} recorded exchange digest(s) match")


def _revalidation(statement: Statement, settings: Settings | None, context: Context | None) -> Check:
    """The resources the server returned, validated again from the recorded bodies, offline."""
    api = statement.evidence.api
    assert api is not None
    try:
        used = context if context is not None else _context_for(statement.standard, settings)
    except ConformanceError as exc:
        return Check("re-validation", "fail", f"could not load the standard's packages: {exc}")
    if used is None:
        return Check("re-validation", "skipped", "no package settings to load the packages with")
    validator = Validator(used)
    bodies = {exchange.id: exchange for exchange in api.exchanges}
    differences = []
    for record in api.resources:
        resource = _recorded_resource(bodies.get(record.exchange), record.entry)
        if resource is None:
            differences.append(
                f"{record.exchange} {record.entry or 'body'}: the resource is not in the recording"
            )
            continue
        valid = validator.validate(resource, profiles=list(record.profiles)).valid
        if valid != record.valid:
            differences.append(f"{record.resource_type}/{record.id}: {'valid' if valid else 'invalid'} now")
    if differences:
        shown = "; ".join(differences[:_SHOWN_DIFFERENCES])
        return Check("re-validation", "fail", f"{len(differences)} difference(s) on re-validating: {shown}")
    return Check(
        "re-validation", "pass", f"{len(api.resources)} recorded resource(s) re-validated: the same results"
    )


def _recorded_resource(exchange: ApiExchange | None, entry: str) -> dict[str, Any] | None:
    if exchange is None or exchange.body_encoding != "utf-8" or exchange.body_truncated:
        return None
    try:
        body = json.loads(exchange.response_body)
    except (ValueError, RecursionError):
        return None
    match = re.fullmatch(r"entry\[(\d+)\]\.resource", entry)
    if match:
        entries = body.get("entry") if isinstance(body, dict) else None
        index = int(match.group(1))
        item = entries[index] if isinstance(entries, list) and index < len(entries) else None
        body = item.get("resource") if isinstance(item, dict) else None
    elif entry:
        return None
    return body if isinstance(body, dict) else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the payload files -----------------------------------------------------------------------------


def _payload_files(statement: Statement, folder: Path | None, checks: list[Check]) -> tuple[Path, ...] | None:
    """The files that hold the statement's payloads, one per payload; None when they are not all there."""
    if folder is None:
        checks.append(Check("payloads", "skipped", "no payload folder given (--payloads DIR)"))
        return None
    if not folder.is_dir():
        checks.append(Check("payloads", "fail", f"{folder} is not a folder"))
        return None
    available = _by_digest(collect_payloads([folder]))
    chosen: list[Path] = []
    missing: list[str] = []
    for payload in statement.evidence.payloads:
        candidates = available.get(payload.sha256)
        if candidates:
            chosen.append(candidates.pop())
        else:
            missing.append(payload.name)
    if missing:
        shown = ", ".join(missing[:_SHOWN_DIFFERENCES]) + (" …" if len(missing) > _SHOWN_DIFFERENCES else "")
        detail = (
            f"{len(missing)} payload(s) not found in {folder} with the digest recorded (changed or missing): "
        )
        checks.append(Check("payloads", "fail", detail + shown))
        return None
    extra = sum(len(files) for files in available.values())
    note = f"; {extra} other file(s) there are not part of the statement and were left out" if extra else ""
    checks.append(Check("payloads", "pass", f"all {len(chosen)} payload digest(s) match{note}"))
    return tuple(chosen)


def _by_digest(files: Sequence[PayloadFile]) -> dict[str, list[Path]]:
    found: defaultdict[str, list[Path]] = defaultdict(list)
    for payload in reversed(files):
        found[sha256_file(payload.path)[0]].append(payload.path)
    return dict(found)


# --- reproduction ----------------------------------------------------------------------------------


def _reproduction(
    statement: Statement,
    files: tuple[Path, ...] | None,
    settings: Settings | None,
    context: Context | None,
    terminology: TerminologySession | None,
) -> Check:
    if files is None:
        return Check("reproduction", "skipped", "needs the payload files")
    try:
        again = _rerun(statement, files, settings, context, terminology)
    except _CannotRerun as exc:
        return Check("reproduction", "fail", f"cannot re-run: {exc}")
    except ConformanceError as exc:
        return Check("reproduction", "fail", f"could not re-run the assessment: {exc}")
    if again is None:
        return Check("reproduction", "skipped", "no package settings to load the packages with")
    return _compared(statement, again)


def _rerun(
    statement: Statement,
    files: tuple[Path, ...],
    settings: Settings | None,
    context: Context | None,
    terminology: TerminologySession | None,
) -> Statement | None:
    """The same assessment again; None when there is nothing to load the packages with."""
    recorded = statement.environment.terminology
    if recorded.kind != "offline" and terminology is None:
        raise _CannotRerun(_wanted(recorded))
    used = context if context is not None else _context_for(statement.standard, settings)
    if used is None:
        return None
    return _reassess(statement, files, used, None if recorded.kind == "offline" else terminology)


def _compared(statement: Statement, again: Statement) -> Check:
    differences = list(_differences(_comparable(statement), _comparable(again)))
    if differences:
        shown = "; ".join(differences[:_SHOWN_DIFFERENCES])
        return Check("reproduction", "fail", f"{len(differences)} difference(s) on re-running: {shown}")
    verdict = statement.results.verdict
    return Check("reproduction", "pass", f"re-assessed: the same results, verdict {verdict}")


def _wanted(recorded: TerminologySource) -> str:
    wanted = "--tx-replay with the recording" if recorded.kind == "recorded-answers" else "--tx with a server"
    return f"the statement's codes were checked with {recorded.kind}; give {wanted}"


def _check_same_source(recorded: TerminologySource, given: TerminologySource) -> None:
    if given.kind != recorded.kind:
        raise _CannotRerun(_wanted(recorded))
    if recorded.kind == "recorded-answers" and given.answers_sha256 != recorded.answers_sha256:
        raise _CannotRerun(
            f"the recording given (sha256 {given.answers_sha256}) is not the one assessed with "
            f"({recorded.answers_file}, sha256 {recorded.answers_sha256})"
        )


def _context_for(record: StandardRecord, settings: Settings | None) -> Context | None:
    """The standard's packages at the exact versions the statement records (their dependencies follow)."""
    if settings is None:
        return None
    recorded = {package.name: package.version for package in record.packages}
    references = [
        f"{wanted.name}#{recorded.get(wanted.name, wanted.version)}" for wanted in record.package_ranges
    ]
    return Context.build(
        settings.with_options(offline=True), FhirVersion.parse(record.fhir_version), igs=references
    )


def _reassess(
    statement: Statement, files: Sequence[Path], context: Context, terminology: TerminologySession | None
) -> Statement:
    standard = standard_of(statement.standard)
    subject = statement.subject
    environment = statement.environment
    run = RunDetails(
        suppressions=tuple(
            Suppression(s.message_id, s.rationale, s.constraint, s.profile, s.location)
            for s in environment.suppressions
        ),
        generated_by=statement.provenance.generated_by,
        command=statement.provenance.command,
    )
    product = Product(subject.supplier, subject.product, subject.product_version)
    session = terminology(context) if terminology is not None else nullcontext(None)
    with session as service:
        if service is not None:
            _check_same_source(environment.terminology, terminology_source_of(service))
        return Assessor(standard, context, terminology=service).assess(files, product, run)


def _standard_status(statement: Statement) -> list[Check]:
    """A warning when the standard was deprecated or retired when the statement was made."""
    standard = statement.standard
    if standard.status not in ("deprecated", "retired"):
        return []
    detail = f"the statement was made against {standard.id}, a {standard.status} standard"
    return [Check("standard status", "warning", detail)]


def standard_of(record: StandardRecord) -> Standard:
    """The standard a statement was assessed against, rebuilt from the statement itself."""
    definition: dict[str, Any] = {
        "format": 1,
        "id": record.id,
        "title": record.title,
        "publisher": record.publisher,
        "description": record.description,
        "fhir_version": record.fhir_version,
        "status": record.status,
        "version": record.version,
        "packages": [{"name": p.name, "version": p.version} for p in record.package_ranges],
        "profiles": [_profile_definition(profile) for profile in record.profiles],
    }
    standard = standard_from_dict(definition, where=f"the standard in the statement ({record.id})")
    if standard.sha256 != record.definition_sha256:
        raise ConformanceError("the standard recorded in the statement does not match its own digest")
    return standard


def _profile_definition(profile: ProfileInScope) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": profile.url,
        "type": profile.type,
        "required": profile.required,
        "min_samples": profile.min_samples,
        "default_for_type": profile.default_for_type,
    }
    if profile.note:
        data["note"] = profile.note
    return data


def _comparable(statement: Statement) -> dict[str, Any]:
    """What must be the same when an assessment is repeated: not the time, file names or signature."""
    data = statement_to_data(statement)
    # The same packages may come in another precedence order when loaded by exact version.
    data["standard"]["packages"].sort(key=lambda package: (package["name"], package["version"]))
    evidence = sorted(
        (
            {key: value for key, value in payload.items() if key != "name"}
            for payload in data["evidence"]["payloads"]
        ),
        key=lambda payload: (payload["sha256"], repr(payload["items"])),
    )
    # In the order a reader wants the differences: causes (packages, standard) before effects.
    return {
        "standard": data["standard"],
        "subject": data["subject"],
        # What answered, not how it is worded or what the recording file is called here.
        "terminology": {
            key: value
            for key, value in data["environment"]["terminology"].items()
            if key not in ("description", "answers_file")
        },
        "suppressions": data["environment"]["suppressions"],
        "results": data["results"],
        "evidence": evidence,
    }


def _differences(before: Any, after: Any, where: str = "") -> Iterator[str]:
    """The places where two JSON values differ, as dotted paths."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in [*before, *(key for key in after if key not in before)]:
            yield from _differences(before.get(key), after.get(key), f"{where}.{key}" if where else str(key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (left, right) in enumerate(zip(before, after, strict=True)):
            yield from _differences(left, right, f"{where}[{index}]")
    elif before != after:
        yield f"{where or 'the statement'}: {_brief(before)} then, {_brief(after)} now"


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"
