"""What the human renderings (Markdown, HTML, compare) say, worded once for readers new to FHIR."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance.statements.model import ProfileInScope, ProfileResult, Statement, Verdict

VERDICT_LABELS: Mapping[str, str] = {
    "conformant": "Conformant",
    "non-conformant": "Not conformant",
    "not-tested": "Not tested",
    "insufficient-sample": "Too few samples",
}

VERDICT_MEANINGS: Mapping[str, str] = {
    "conformant": "every sample tested met the rules, and there were enough samples",
    "non-conformant": "at least one sample broke a rule of the specification",
    "not-tested": "no sample was provided for this part of the standard",
    "insufficient-sample": "the samples met the rules, but there were fewer than the standard asks for",
}

INTRODUCTION = (
    "This statement records whether sample data produced by a supplier's product follows a published "
    "data standard. The standard is made of profiles: each profile is a set of rules for one kind of "
    "health record (a patient, an encounter, an allergy...). Every sample the supplier provided was "
    "checked against the rules of the profile it belongs to by an automated validator, and the results "
    "are counted here. The statement can be re-checked by anyone who has the same samples."
)


@dataclass(frozen=True)
class ProfileRow:
    """One line of a verdict table."""

    name: str
    url: str
    resource_type: str
    required: bool
    status: str
    tested: int
    passed: int
    failed: int
    min_samples: int
    verdict: Verdict
    reason: str

    @property
    def verdict_label(self) -> str:
        return VERDICT_LABELS[self.verdict]


def short_name(url: str) -> str:
    """A profile's last URL segment: UKCore-Patient."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def profile_rows(statement: Statement) -> tuple[ProfileRow, ...]:
    scope = {profile.url: profile for profile in statement.standard.profiles}
    return tuple(_row(scope[result.url], result) for result in statement.results.profiles)


def _row(profile: ProfileInScope, result: ProfileResult) -> ProfileRow:
    return ProfileRow(
        name=short_name(profile.url),
        url=profile.url,
        resource_type=profile.type,
        required=profile.required,
        status=profile.status,
        tested=result.tested,
        passed=result.passed,
        failed=result.failed,
        min_samples=profile.min_samples,
        verdict=result.verdict,
        reason=result.reason,
    )


def non_active_profiles(statement: Statement) -> tuple[ProfileInScope, ...]:
    return tuple(profile for profile in statement.standard.profiles if profile.status != "active")


def draft_warning(statement: Statement) -> str | None:
    """Sentences for the reader when the standard, or profiles verdicts rest on, are not (or no longer)
    active."""
    sentences = [text for text in (_standard_status_warning(statement), _profiles_warning(statement)) if text]
    return " ".join(sentences) or None


def _standard_status_warning(statement: Statement) -> str | None:
    standard = statement.standard
    if standard.status in ("deprecated", "retired"):
        return f"The standard {standard.id} was {standard.status} when this statement was made."
    if standard.status in ("draft", "trial-use"):
        return f"The standard {standard.id} is a {standard.status} version: it may still change."
    return None


def _profiles_warning(statement: Statement) -> str | None:
    tested = {result.url for result in statement.results.profiles if result.tested}
    shaky = [profile for profile in non_active_profiles(statement) if profile.url in tested]
    if not shaky:
        return None
    names = ", ".join(f"{short_name(p.url)} ({p.status})" for p in shaky)
    return (
        f"Some verdicts rest on profiles that are not published as active: {names}. "
        "Draft profiles may still change, so these verdicts may not hold for the final version."
    )


def subject_line(statement: Statement) -> str:
    subject = statement.subject
    return f"{subject.product} {subject.product_version} by {subject.supplier}"


def top_message_ids(result: ProfileResult, limit: int = 10) -> Sequence[tuple[str, int]]:
    ranked = sorted(result.issues_by_message_id.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:limit]
