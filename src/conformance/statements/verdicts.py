"""Counting results per profile, and the verdict rules.

Per profile:
- not-tested: no payload was assessed against it;
- non-conformant: at least one payload has an error or fatal issue from it (or from the base
  definitions it builds on), after suppressions;
- insufficient-sample: none failed, but fewer payloads were tested than the standard's minimum;
- conformant: otherwise.

For the standard: non-conformant when any profile is, or any payload could not be read at all;
not-tested when no profile was tested; insufficient-sample when a required profile is not tested or
has too few payloads, or a tested optional profile has too few; conformant otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from conformance.statements.gaps import Gap
from conformance.statements.model import (
    NotEvaluated,
    ProfileInScope,
    ProfileResult,
    SeverityCounts,
    Verdict,
)

ERROR_SEVERITIES = frozenset({"fatal", "error"})


@dataclass
class ProfileTally:
    """What the payloads assessed against one profile added up to (built up, then frozen into a result)."""

    tested: int = 0
    failed: int = 0
    severities: Counter[str] = field(default_factory=Counter)
    message_ids: Counter[str] = field(default_factory=Counter)
    gap_payloads: Counter[Gap] = field(default_factory=Counter)
    gap_occurrences: Counter[Gap] = field(default_factory=Counter)

    def add(self, severities_and_ids: Sequence[tuple[str, str]], gaps: Iterable[Gap]) -> None:
        """One payload, given the (severity, message id) of each issue that counts for this profile."""
        self.tested += 1
        if any(severity in ERROR_SEVERITIES for severity, _ in severities_and_ids):
            self.failed += 1
        self.severities.update(severity for severity, _ in severities_and_ids)
        self.message_ids.update(message_id for _, message_id in severities_and_ids)
        occurrences = Counter(gaps)
        self.gap_occurrences.update(occurrences)
        self.gap_payloads.update(occurrences.keys())

    def result(self, profile: ProfileInScope) -> ProfileResult:
        verdict, reason = profile_verdict(self.tested, self.failed, profile.min_samples)
        return ProfileResult(
            url=profile.url,
            tested=self.tested,
            passed=self.tested - self.failed,
            failed=self.failed,
            issues_by_severity=SeverityCounts(**{name: self.severities[name] for name in _SEVERITY_NAMES}),
            issues_by_message_id=dict(sorted(self.message_ids.items())),
            not_evaluated=self._not_evaluated(),
            verdict=verdict,
            reason=reason,
            rests_on_draft=profile.status != "active",
        )

    def _not_evaluated(self) -> tuple[NotEvaluated, ...]:
        return tuple(
            NotEvaluated(
                kind=gap.kind,
                what=gap.what,
                reason=gap.reason,
                payloads=self.gap_payloads[gap],
                occurrences=self.gap_occurrences[gap],
            )
            for gap in sorted(self.gap_occurrences)
        )


_SEVERITY_NAMES = ("fatal", "error", "warning", "information")


def profile_verdict(tested: int, failed: int, min_samples: int) -> tuple[Verdict, str]:
    if tested == 0:
        return "not-tested", "no payload was assessed against this profile"
    if failed:
        return "non-conformant", f"{failed} of {tested} payload(s) have errors"
    if tested < min_samples:
        return (
            "insufficient-sample",
            f"{tested} payload(s) tested and passed; the standard asks for {min_samples}",
        )
    return "conformant", f"all {tested} payload(s) passed"


def overall_verdict(
    results: Sequence[ProfileResult], profiles: Sequence[ProfileInScope], unreadable: int
) -> tuple[Verdict, str]:
    required = {profile.url for profile in profiles if profile.required}
    failing = [result.url for result in results if result.verdict == "non-conformant"]
    if failing or unreadable:
        return "non-conformant", _non_conformant_reason(failing, unreadable)
    tested = [result for result in results if result.tested]
    if not tested:
        return "not-tested", "no payload was assessed against any profile of the standard"
    short = [
        result.url
        for result in results
        if result.verdict == "insufficient-sample" or (result.url in required and not result.tested)
    ]
    if short:
        return "insufficient-sample", f"{len(short)} profile(s) lack enough payloads: {_names(short)}"
    untested = len(results) - len(tested)
    rest = f"; {untested} optional profile(s) were not tested" if untested else ""
    return "conformant", f"{len(tested)} profile(s) tested, all conformant{rest}"


def _non_conformant_reason(failing: Sequence[str], unreadable: int) -> str:
    parts = [f"{len(failing)} profile(s) have failing payloads: {_names(failing)}"] if failing else []
    if unreadable:
        parts.append(f"{unreadable} payload(s) could not be read as FHIR")
    return "; ".join(parts)


def _names(urls: Sequence[str]) -> str:
    return ", ".join(url.rsplit("/", 1)[-1] for url in urls)
