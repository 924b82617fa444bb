"""Which products qualify for a framework, and exactly why the others do not.

A product is a supplier's product at one version. It qualifies when, for every standard the framework
requires, one of its statements is accepted (see `submissions`), was made against a version of the
standard the framework accepts that is not retired, has the overall verdict conformant, and leaves no
more profiles untested than the framework allows. Otherwise each unmet requirement says why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from conformance.frameworks.lifecycle import DEPRECATED, RETIRED, KnownStandards, StandardFacts
from conformance.frameworks.model import Framework, Requirement
from conformance.frameworks.submissions import Submission
from conformance.statements import Statement
from conformance.statements.view import VERDICT_LABELS, short_name


class ProductKey(NamedTuple):
    supplier: str
    product: str
    version: str

    @property
    def label(self) -> str:
        return f"{self.product} {self.version} by {self.supplier}"


def product_of(statement: Statement) -> ProductKey:
    subject = statement.subject
    return ProductKey(subject.supplier, subject.product, subject.product_version)


@dataclass(frozen=True)
class RequirementOutcome:
    """One requirement for one product: met or not, why not, and what the reader should know anyway."""

    requirement: Requirement
    met: bool
    submission: Submission | None = None
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Qualification:
    product: ProductKey
    outcomes: tuple[RequirementOutcome, ...]

    @property
    def qualifies(self) -> bool:
        return all(outcome.met for outcome in self.outcomes)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every reason the product does not qualify, each naming its standard."""
        return tuple(
            f"{outcome.requirement.standard}: {reason}"
            for outcome in self.outcomes
            for reason in outcome.reasons
        )


def qualify(
    framework: Framework, submissions: Iterable[Submission], standards: KnownStandards
) -> tuple[Qualification, ...]:
    """One qualification per product that handed in a readable statement, in product order."""
    by_product: defaultdict[ProductKey, list[Submission]] = defaultdict(list)
    for submission in submissions:
        if submission.statement is not None:
            by_product[product_of(submission.statement)].append(submission)
    return tuple(
        Qualification(
            product,
            tuple(
                _outcome(requirement, by_product[product], standards)
                for requirement in framework.requirements
            ),
        )
        for product in sorted(by_product)
    )


def _outcome(
    requirement: Requirement, submissions: Sequence[Submission], standards: KnownStandards
) -> RequirementOutcome:
    candidates = [
        s for s in submissions if s.statement is not None and s.statement.standard.id == requirement.standard
    ]
    if not candidates:
        return RequirementOutcome(
            requirement, False, reasons=(f"no statement against {requirement.standard}",)
        )
    judged = [_judge(requirement, candidate, standards) for candidate in _newest_first(candidates)]
    # The newest statement that meets the requirement; when none does, the newest one's reasons.
    return next((outcome for outcome in judged if outcome.met), judged[0])


def _newest_first(candidates: Sequence[Submission]) -> list[Submission]:
    def moment(submission: Submission) -> str:
        return submission.statement.provenance.generated_at if submission.statement else ""

    return sorted(candidates, key=lambda s: (moment(s), s.name), reverse=True)


def _judge(requirement: Requirement, submission: Submission, standards: KnownStandards) -> RequirementOutcome:
    statement = submission.statement
    assert statement is not None  # only readable statements are candidates
    facts = standards.facts(statement.standard)
    reasons: list[str] = []
    if not submission.accepted:
        reasons.append(f"the statement {submission.name} was not accepted: {submission.problem}")
    reasons.extend(_version_reasons(requirement, facts))
    if facts.status == RETIRED:
        reasons.append(f"made against {_named(facts)}, which is retired{_successor(facts)}")
    results = statement.results
    if results.verdict != "conformant":
        reasons.append(f"verdict {VERDICT_LABELS[results.verdict].lower()}: {results.reason}")
    reasons.extend(_untested_reasons(requirement, statement))
    notes = (f"{_named(facts)} is deprecated{_successor(facts)}",) if facts.status == DEPRECATED else ()
    return RequirementOutcome(requirement, not reasons, submission, tuple(reasons), notes)


def _version_reasons(requirement: Requirement, facts: StandardFacts) -> list[str]:
    if requirement.any_version:
        return []
    if facts.version is None:
        return [
            f"the version of {facts.id} the statement was made against is not known; "
            f"the framework accepts {requirement.versions}"
        ]
    if not requirement.accepts_version(facts.version):
        return [f"made against {_named(facts)}; the framework accepts versions {requirement.versions}"]
    return []


def _untested_reasons(requirement: Requirement, statement: Statement) -> list[str]:
    if requirement.max_not_tested is None:
        return []
    untested = [short_name(result.url) for result in statement.results.profiles if not result.tested]
    if len(untested) <= requirement.max_not_tested:
        return []
    shown = ", ".join(untested[:10]) + (" …" if len(untested) > 10 else "")
    return [
        f"{len(untested)} profile(s) not tested ({shown}); "
        f"the framework allows at most {requirement.max_not_tested}"
    ]


def _named(facts: StandardFacts) -> str:
    return f"{facts.id} {facts.version}" if facts.version else facts.id


def _successor(facts: StandardFacts) -> str:
    return f" (its successor is {facts.successor})" if facts.successor else ""
