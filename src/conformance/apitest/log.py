"""The tests of one run as they are decided: each with a stable id, an outcome and a readable reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance.statements.model import ApiOutcome, ApiResults, ApiTest, MustSupportSeen, clip


@dataclass
class TestLog:
    tests: list[ApiTest] = field(default_factory=list)

    def add(
        self,
        test_id: str,
        title: str,
        outcome: ApiOutcome,
        reason: str,
        exchanges: Iterable[str] = (),
        *,
        profile: str | None = None,
    ) -> None:
        unique = tuple(dict.fromkeys(exchanges))
        self.tests.append(
            ApiTest(
                id=clip(test_id, 200),
                title=clip(title),
                outcome=outcome,
                reason=clip(reason),
                profile=profile,
                exchanges=unique,
            )
        )

    def check(
        self,
        test_id: str,
        title: str,
        failures: list[str],
        passed: str,
        exchanges: Iterable[str] = (),
        *,
        profile: str | None = None,
    ) -> None:
        """Pass with `passed`, or fail naming the first failures."""
        if failures:
            shown = "; ".join(failures[:3]) + (
                f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
            )
            self.add(test_id, title, "fail", shown, exchanges, profile=profile)
        else:
            self.add(test_id, title, "pass", passed, exchanges, profile=profile)

    def results(self, base_url: str, must_support: tuple[MustSupportSeen, ...]) -> ApiResults:
        counts = Counter(test.outcome for test in self.tests)
        broken = counts["fail"] + counts["error"]
        reason = (
            f"{broken} of {len(self.tests)} test(s) failed or could not run"
            if broken
            else f"all {counts['pass']} test(s) that could be decided passed"
        )
        return ApiResults(
            base_url=base_url,
            outcome="fail" if broken else "pass",
            reason=reason,
            counts={
                outcome: counts[outcome]
                for outcome in ("pass", "fail", "not-demonstrated", "skipped", "error")
            },
            tests=tuple(self.tests),
            must_support=must_support,
        )
