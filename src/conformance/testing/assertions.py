"""`assert_conforms`: a test assertion over the validator, with a report a person reads at a glance."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.errors import ConformanceError, UsageError
from conformance.models import FhirModel, Payload, payload_of
from conformance.outcome import Issue, Outcome, Severity
from conformance.reports.text import count_text, issues_text

if TYPE_CHECKING:
    from conformance.validation import Validator

Resource = Mapping[str, Any] | bytes | str | Path | FhirModel
ValidatorSource = Callable[[], "Validator"]

_default_validator: contextvars.ContextVar[ValidatorSource | None] = contextvars.ContextVar(
    "conformance_default_validator", default=None
)
_default_profiles: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "conformance_default_profiles", default=()
)


class NonConformance(AssertionError, ConformanceError):
    """A payload does not conform. `outcome` holds every issue; the message lists the ones that count.

    Unlike other errors of this package the message has several lines: the first says what failed, the
    others list each issue with its location, position, message id and rule.
    """

    def __init__(self, message: str, outcome: Outcome, failures: Sequence[Issue]) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.failures = tuple(failures)


@dataclass(frozen=True)
class Allowance:
    """An issue a test tolerates: a message id, optionally only at a location and below it."""

    message_id: str
    location: str | None = None

    @classmethod
    def parse(cls, text: str) -> Allowance:
        message_id, _, location = text.partition("@")
        if not message_id.strip():
            raise UsageError(
                f"allow entry {text!r} has no message id (write 'message.id' or 'message.id@Location')"
            )
        return cls(message_id.strip(), location.strip() or None)

    def covers(self, issue: Issue) -> bool:
        if issue.message_id != self.message_id:
            return False
        if self.location is None:
            return True
        return issue.location == self.location or issue.location.startswith(
            (self.location + ".", self.location + "[")
        )


@contextmanager
def validator_source(source: ValidatorSource | None) -> Iterator[None]:
    """Within the block, `assert_conforms` without `validator=` uses the validator `source()` returns."""
    token = _default_validator.set(source)
    try:
        yield
    finally:
        _default_validator.reset(token)


@contextmanager
def default_profiles(profiles: Sequence[str]) -> Iterator[None]:
    """Within the block, `assert_conforms` without `profile=` checks against `profiles` (the marker's)."""
    token = _default_profiles.set(tuple(profiles))
    try:
        yield
    finally:
        _default_profiles.reset(token)


def _validator(given: Validator | None) -> Validator:
    if given is not None:
        return given
    source = _default_validator.get()
    if source is None:
        raise UsageError(
            "assert_conforms needs a validator: pass validator=..., or run under pytest with the "
            "fhir-conformance plugin options (--fhir-package-path, --fhir-ig)"
        )
    return source()


def _profiles(profile: str | Sequence[str] | None) -> tuple[str, ...]:
    if profile is None:
        return _default_profiles.get()
    return (profile,) if isinstance(profile, str) else tuple(profile)


def _allowances(allow: Iterable[str] | str) -> tuple[Allowance, ...]:
    return tuple(Allowance.parse(entry) for entry in ([allow] if isinstance(allow, str) else allow))


def _name(resource: Payload, outcome: Outcome) -> str:
    if isinstance(resource, os.PathLike):
        return str(resource)
    if isinstance(resource, Mapping):
        kind, identity = resource.get("resourceType"), resource.get("id")
        return f"{kind}/{identity}" if identity else str(kind or "resource")
    return outcome.source or "payload"


def conformance_report(
    name: str, profiles: Sequence[str], failures: Sequence[Issue], outcome: Outcome
) -> str:
    """The text of a failed `assert_conforms`: a one-line verdict, then one entry per issue that counts."""
    against = ", ".join(profiles) if profiles else "its base definition and meta.profile"
    head = f"{name} does not conform to {against}: {count_text(failures)}"
    allowed = len(outcome.errors) - sum(1 for issue in failures if issue.severity.is_error)
    tail = f"\n({allowed} error(s) tolerated by allow=)" if allowed else ""
    return f"{head}\n{issues_text(failures, indent='  ')}{tail}"


def assert_conforms(
    resource: Resource,
    profile: str | Sequence[str] | None = None,
    allow: Iterable[str] | str = (),
    *,
    validator: Validator | None = None,
    strict: bool = False,
) -> Outcome:
    """Validate `resource` and fail with a readable report when it has errors; return the Outcome.

    `resource` is a dict, JSON or XML text (bytes or str), a file path or a fhir.resources model of the
    validator's FHIR version; text and files give issues their line and column. `profile` is a canonical
    URL (or several); without it, the profiles of an enclosing `@pytest.mark.fhir_profile(...)` apply,
    else only the base definition and `meta.profile`.
    `allow` lists issues to tolerate, each a message id (`"extension.unknown"`) or a message id at a
    location and below it (`"cardinality.min@Patient.name"`). `strict=True` fails on warnings too.
    Without `validator=`, the pytest plugin's session validator is used.
    """
    __tracebackhide__ = True  # pytest shows the caller's line and the report, not this function
    chosen = _validator(validator)
    profiles = _profiles(profile)
    payload = payload_of(resource, chosen.fhir_version)  # a model is named by its resourceType/id
    outcome = chosen.validate(payload, profiles=profiles)
    allowances = _allowances(allow)
    failures = [
        issue
        for issue in outcome.issues
        if (issue.severity.is_error or (strict and issue.severity is Severity.WARNING))
        and not any(allowance.covers(issue) for allowance in allowances)
    ]
    if failures:
        report = conformance_report(_name(payload, outcome), profiles, failures, outcome)
        raise NonConformance(report, outcome, failures)
    return outcome
