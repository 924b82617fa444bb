"""Assessing payloads against a standard: validate each resource, count per profile, write the statement.

`Assessor(standard, context)` checks that the context can serve the standard (FHIR version, package
versions, every profile defined with the right type) and builds one Validator; `assess(payloads,
product)` may then be called many times. Payloads are read once each; what was submitted is named
and hashed as `conformance.statements.payloads` describes, and each resource in a payload is assigned
to profiles as `conformance.statements.assignment` describes.
"""

from __future__ import annotations

import hashlib
import platform
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from conformance import __version__, instance
from conformance.context import Context
from conformance.errors import InputError, UsageError
from conformance.instance import Limits, Parsed
from conformance.models import FhirModel, is_model, model_json
from conformance.outcome import Issue
from conformance.packages.versions import VersionSpec
from conformance.standards import ProfileRequirement, Standard, bare_canonical
from conformance.statements.assignment import Assigned, PayloadResource, assign, is_container, resources_of
from conformance.statements.gaps import Gap, gaps_of
from conformance.statements.model import (
    NAME_LENGTH,
    STATEMENT_VERSION,
    Assignment,
    Environment,
    Evidence,
    IssueRecord,
    ItemEvidence,
    OutOfScope,
    PackageRange,
    PackageRecord,
    PayloadEvidence,
    ProfileInScope,
    Provenance,
    PublicationStatus,
    Results,
    StandardRecord,
    Statement,
    Subject,
    SuppressionRecord,
    TerminologySource,
    clip,
)
from conformance.statements.payloads import (
    PayloadFile,
    collect_payloads,
    package_digest,
    payload_set_digest,
    sha256_file,
)
from conformance.statements.schema import checked
from conformance.statements.suppressions import Suppression, first_match
from conformance.statements.verdicts import ProfileTally, overall_verdict
from conformance.terminology import LocalTerminology, TerminologyService
from conformance.terminology.answers import CodeSystemVersion
from conformance.terminology.answers import describe as describe_terminology
from conformance.validation import Validator

TOOL = "fhir-conformance"
OFFLINE = TerminologySource(
    kind="offline",
    description=(
        "the loaded FHIR packages only, without a terminology server: membership of codes from "
        "SNOMED CT, LOINC, dm+d and other external code systems is not checked"
    ),
)
_STATUSES: Mapping[str, PublicationStatus] = {"draft": "draft", "active": "active", "retired": "retired"}
_NO_TYPE = "(no resourceType)"
MAX_NAME = 200


@dataclass(frozen=True)
class Product:
    """Whose payloads they are: the supplier, the product and its version."""

    supplier: str
    name: str
    version: str

    def __post_init__(self) -> None:
        for label, value in (("supplier", self.supplier), ("product", self.name), ("version", self.version)):
            if not value.strip() or len(value) > MAX_NAME:
                raise UsageError(f"the {label} must be given, in at most {MAX_NAME} characters")


@dataclass(frozen=True)
class RunDetails:
    """What the statement records about the run itself."""

    suppressions: tuple[Suppression, ...] = ()
    terminology: TerminologySource | None = None  # None: as the terminology service describes itself
    generated_by: str = ""
    command: str = ""
    generated_at: datetime | None = None


def assess(
    standard: Standard,
    payloads: Sequence[Path | FhirModel],
    context: Context,
    product: Product,
    run: RunDetails = RunDetails(),
) -> Statement:
    """Assess payload files and folders against a standard (one-off; use Assessor to assess many sets).

    fhir.resources models may be given among the paths: each is a payload of its own JSON export, named
    `model-N-Type-id.json` by its place among the models given.
    """
    return Assessor(standard, context).assess(payloads, product, run)


@dataclass(frozen=True)
class ModelPayload:
    """A fhir.resources model given to assess: its JSON export, named by its place and its type and id."""

    name: str
    data: bytes

    @classmethod
    def of(cls, model: Any, number: int, context: Context) -> ModelPayload:
        data = model_json(model, context.fhir_version)  # refuses a model of another FHIR version
        kind = getattr(model, "resource_type", None) or type(model).__name__
        identity = getattr(model, "id", None)
        return cls(f"model-{number}-{kind}{f'-{identity}' if identity else ''}.json", data)


class Assessor:
    """A standard, a context that serves it, and one Validator, for assessing payload sets.

    Not for several threads at once: the Validator it holds is not.
    """

    def __init__(
        self, standard: Standard, context: Context, *, terminology: TerminologyService | None = None
    ) -> None:
        self.standard = standard
        self.context = context
        self.record = standard_record(standard, context)
        self._service = (
            terminology if terminology is not None else LocalTerminology(context, context.fhir_version)
        )
        self._validator = Validator(context, terminology=self._service)

    def assess(
        self, payloads: Sequence[Path | FhirModel], product: Product, run: RunDetails = RunDetails()
    ) -> Statement:
        files = self._collect(payloads)
        try:
            statement = self._statement(files, product, run)
        except ValidationError as exc:
            # Only what the caller gave can break the model (an over-long rationale, say): say which.
            error = exc.errors()[0]
            place = ".".join(str(step) for step in error["loc"])
            raise UsageError(f"cannot write the statement: {place}: {error['msg']}") from None
        return checked(statement)

    def _collect(self, payloads: Sequence[Path | FhirModel]) -> tuple[PayloadFile | ModelPayload, ...]:
        models = [payload for payload in payloads if is_model(payload)]
        paths = [Path(payload) for payload in payloads if not is_model(payload)]  # type: ignore[arg-type]
        given = [ModelPayload.of(model, number, self.context) for number, model in enumerate(models, 1)]
        found: list[PayloadFile | ModelPayload] = [*collect_payloads(paths), *given]
        return tuple(sorted(found, key=lambda payload: payload.name))

    def _statement(
        self, files: Sequence[PayloadFile | ModelPayload], product: Product, run: RunDetails
    ) -> Statement:
        tally = _Tally(run.suppressions)
        evidence = tuple(self._payload(payload, tally) for payload in files)
        return Statement(
            statement_version=STATEMENT_VERSION,
            subject=Subject(
                supplier=product.supplier,
                product=product.name,
                product_version=product.version,
                payload_count=len(evidence),
                payload_set_sha256=payload_set_digest(payload.sha256 for payload in evidence),
            ),
            standard=self.record,
            results=tally.results(self.record.profiles),
            evidence=Evidence(payloads=evidence),
            environment=_environment(run, tally, run.terminology or terminology_source_of(self._service)),
            provenance=_provenance(run),
        )

    # --- one payload file ------------------------------------------------------------------------

    def _payload(self, payload: PayloadFile | ModelPayload, tally: _Tally) -> PayloadEvidence:
        if isinstance(payload, ModelPayload):
            digest, size, source, parsed = self._read_data(payload.data)
        else:
            digest, size, source, parsed = self._read(payload.path)
        if parsed.resource is None:
            tally.unreadable += 1
            items: tuple[ItemEvidence, ...] = (_unreadable(parsed),)
        else:
            items = tuple(
                self._resource(item, source, parsed, tally)
                for item in resources_of(parsed.resource)
                if not is_container(item, self.standard)
            )
        return PayloadEvidence(name=payload.name, sha256=digest, size=size, items=items)

    def _read(self, path: Path) -> tuple[str, int, bytes | Path, Parsed]:
        """Digest, size, what to validate (the bytes, or the path when too large to read) and the parse."""
        if _size(path) > Limits().max_bytes:
            # Hashed in chunks and never read whole: the parser reports it as too large.
            digest, size = sha256_file(path)
            return digest, size, path, instance.parse(path, model=self._validator.type_model)
        return self._read_data(_read_bytes(path))

    def _read_data(self, data: bytes) -> tuple[str, int, bytes | Path, Parsed]:
        parsed = instance.parse(data, model=self._validator.type_model)
        return hashlib.sha256(data).hexdigest(), len(data), data, parsed

    def _resource(
        self, item: PayloadResource, source: bytes | Path, parsed: Parsed, tally: _Tally
    ) -> ItemEvidence:
        assigned = self._with_satisfied_specialisations(assign(self.standard, item), item)
        if not assigned.profiles:
            tally.out_of_scope[clip(item.resource_type or _NO_TYPE, NAME_LENGTH)] += 1
            return _item(item, assigned.how, (), None, ())
        urls = tuple(profile.url for profile in assigned.profiles)
        issues = self._validate(item, source, parsed, urls)
        marks = tally.count(assigned.profiles, issues, gaps_of(issues))
        valid = not any(
            issue.severity.is_error and mark is None for issue, mark in zip(issues, marks, strict=True)
        )
        records = tuple(
            _issue_record(issue, mark is not None) for issue, mark in zip(issues, marks, strict=True)
        )
        return _item(item, assigned.how, urls, valid, records)

    def _with_satisfied_specialisations(self, assigned: Assigned, item: PayloadResource) -> Assigned:
        """A resource that claims no profile is also tested against the more specific profiles of its type
        that it satisfies, so that they are seen tested; one it does not satisfy is not held against it
        (to be judged by a specific profile, a payload claims it in meta.profile)."""
        if assigned.how != "resource-type" or item.resource_type is None:
            return assigned
        satisfied = tuple(
            profile
            for profile in self.standard.specialisations_for(item.resource_type)
            if self._validator.validate(item.resource, profiles=[profile.url]).valid
        )
        return Assigned(assigned.how, (*assigned.profiles, *satisfied)) if satisfied else assigned

    def _validate(
        self, item: PayloadResource, source: bytes | Path, parsed: Parsed, urls: tuple[str, ...]
    ) -> tuple[Issue, ...]:
        if not item.entry:
            # The payload itself, from its bytes: its issues then carry line and column.
            return self._validator.validate(source, profiles=urls).issues
        outcome = self._validator.validate(item.resource, profiles=urls)
        # Reading problems inside this entry (a repeated key, say) were found on the whole payload.
        inside = tuple(issue for issue in parsed.issues if _within(issue.location, item.entry))
        return (*inside, *outcome.issues)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _within(location: str, entry: str) -> bool:
    return location == entry or location.startswith((f"{entry}.", f"{entry}["))


@dataclass
class _Tally:
    """The running counts of one assessment."""

    suppressions: tuple[Suppression, ...]
    profiles: dict[str, ProfileTally] = field(default_factory=dict)
    suppressed: Counter[int] = field(default_factory=Counter)
    out_of_scope: Counter[str] = field(default_factory=Counter)
    unreadable: int = 0

    def count(
        self, assigned: Sequence[ProfileRequirement], issues: Sequence[Issue], gaps: Sequence[Gap]
    ) -> tuple[int | None, ...]:
        """Add one resource to each profile it was assessed against; the suppression matching each issue."""
        marks = tuple(first_match(self.suppressions, issue) for issue in issues)
        self.suppressed.update(mark for mark in marks if mark is not None)
        urls = {profile.url for profile in assigned}
        for profile in assigned:
            # An issue raised by another profile the resource was also assessed against is that one's.
            others = urls - {profile.url}
            counted = [
                (issue.severity.value, issue.message_id)
                for issue, mark in zip(issues, marks, strict=True)
                if mark is None and bare_canonical(issue.profile or "") not in others
            ]
            self.profiles.setdefault(profile.url, ProfileTally()).add(counted, gaps)
        return marks

    def results(self, profiles: Sequence[ProfileInScope]) -> Results:
        per_profile = tuple(self.profiles.get(p.url, ProfileTally()).result(p) for p in profiles)
        verdict, reason = overall_verdict(per_profile, profiles, self.unreadable)
        return Results(
            verdict=verdict,
            reason=reason,
            rests_on_draft_profiles=any(result.rests_on_draft and result.tested for result in per_profile),
            profiles=per_profile,
            unreadable_payloads=self.unreadable,
            out_of_scope=tuple(
                OutOfScope(resource_type=name, count=count)
                for name, count in sorted(self.out_of_scope.items())
            ),
            suppressed_issues=sum(self.suppressed.values()),
        )


def _item(
    item: PayloadResource,
    how: Assignment,
    urls: tuple[str, ...],
    valid: bool | None,
    issues: tuple[IssueRecord, ...],
) -> ItemEvidence:
    return ItemEvidence(
        entry=item.entry,
        resource_type=_clipped(item.resource_type),
        id=_clipped(item.id),
        claimed_profiles=tuple(clip(url) for url in item.claimed_profiles),
        assigned_profiles=urls,
        assignment=how,
        valid=valid,
        issues=issues,
    )


def _unreadable(parsed: Parsed) -> ItemEvidence:
    return ItemEvidence(
        entry="",
        assignment="unreadable",
        valid=False,
        issues=tuple(_issue_record(issue, False) for issue in parsed.issues),
    )


def _issue_record(issue: Issue, suppressed: bool) -> IssueRecord:
    fields: dict[str, Any] = {
        key: clip(value) if isinstance(value, str) else value for key, value in issue.to_dict().items()
    }
    return IssueRecord(**fields, suppressed=suppressed)


def _clipped(text: str | None) -> str | None:
    return clip(text) if text is not None else None


# --- the standard as the context defines it --------------------------------------------------------


def standard_record(standard: Standard, context: Context) -> StandardRecord:
    """The standard section of a statement; UsageError when the context cannot serve the standard."""
    _check_fhir_version(standard, context)
    _check_packages(standard, context)
    return StandardRecord(
        id=standard.id,
        title=standard.title,
        publisher=standard.publisher,
        description=standard.description,
        fhir_version=standard.fhir_version.value,
        status=standard.status.value,
        version=standard.lifecycle.version,
        definition_sha256=standard.sha256,
        package_ranges=tuple(PackageRange(name=p.name, version=p.version) for p in standard.packages),
        packages=tuple(
            PackageRecord(
                name=package.name,
                version=package.version,
                sha256=package_digest(package),
                fhir_versions=package.manifest.fhir_versions,
            )
            for package in context.packages
        ),
        profiles=tuple(_profile_in_scope(profile, context) for profile in standard.profiles),
    )


def _check_fhir_version(standard: Standard, context: Context) -> None:
    if standard.fhir_version is not context.fhir_version:
        raise UsageError(
            f"standard {standard.id} is for FHIR {standard.fhir_version.label}, "
            f"the packages loaded are for FHIR {context.fhir_version.label}"
        )


def _check_packages(standard: Standard, context: Context) -> None:
    for wanted in standard.packages:
        spec = VersionSpec.parse(wanted.version)
        versions = [package.version for package in context.packages if package.name == wanted.name]
        if not any(spec.matches(version) for version in versions):
            found = ", ".join(versions) or "none"
            raise UsageError(
                f"standard {standard.id} needs {wanted.name} {wanted.version}; loaded versions: {found}"
            )


def _profile_in_scope(profile: ProfileRequirement, context: Context) -> ProfileInScope:
    definition = context.structure_definition(profile.url)
    if definition is None:
        raise UsageError(f"profile {profile.url} of the standard is not defined in the loaded packages")
    if definition.get("type") != profile.type:
        raise UsageError(
            f"profile {profile.url} constrains {definition.get('type')}, but the standard says {profile.type}"
        )
    entry = context.find_entry(profile.url)
    return ProfileInScope(
        url=profile.url,
        version=_text(definition.get("version")),
        title=_text(definition.get("title")) or _text(definition.get("name")),
        type=profile.type,
        status=_status(definition),
        experimental=definition.get("experimental") is True,
        package=entry.package if entry is not None and entry.package else None,
        required=profile.required,
        min_samples=profile.min_samples,
        default_for_type=profile.default_for_type,
        note=profile.note,
    )


def _status(definition: Mapping[str, Any]) -> PublicationStatus:
    status = definition.get("status")
    return _STATUSES.get(status, "unknown") if isinstance(status, str) else "unknown"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# --- the run ---------------------------------------------------------------------------------------


def terminology_source_of(service: object) -> TerminologySource:
    """How a terminology service answered, as a statement records it (asked after the run, so that a
    server can say which code system versions, SNOMED CT editions included, decided its answers)."""
    described = describe_terminology(service)
    editions = tuple(_edition(version) for version in described.code_systems)
    if "recording" in described.kind:
        return TerminologySource(
            kind="recorded-answers",
            description="the loaded FHIR packages, and recorded answers of a terminology server",
            server=described.server,
            editions=editions,
            answers_file=described.recording,
            answers_sha256=described.recording_sha256,
        )
    if "server" in described.kind:
        software = f" ({described.software})" if described.software else ""
        return TerminologySource(
            kind="server",
            description=f"the loaded FHIR packages, and the terminology server {described.server}{software}",
            server=described.server,
            editions=editions,
        )
    return OFFLINE


def _edition(version: CodeSystemVersion) -> str:
    if version.edition is not None:
        return f"{version.system} {version.edition}"
    return f"{version.system}|{version.version}" if version.version else version.system


def _environment(run: RunDetails, tally: _Tally, terminology: TerminologySource) -> Environment:
    return Environment(
        tool=TOOL,
        tool_version=__version__,
        python_version=platform.python_version(),
        terminology=terminology,
        suppressions=tuple(
            SuppressionRecord(
                message_id=rule.message_id,
                constraint=rule.constraint,
                profile=rule.profile,
                location=rule.location,
                rationale=rule.rationale,
                matched=tally.suppressed[index],
            )
            for index, rule in enumerate(run.suppressions)
        ),
    )


def _provenance(run: RunDetails) -> Provenance:
    moment = (run.generated_at or datetime.now(UTC)).astimezone(UTC)
    return Provenance(
        generated_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        generated_by=run.generated_by or f"{TOOL} {__version__}",
        command=run.command or "(called from Python: conformance.statements.assess)",
    )
