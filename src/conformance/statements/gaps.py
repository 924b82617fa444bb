"""What was in scope but not evaluated, and why: the gaps a verdict does not cover.

The validator says so itself, with issues: a binding whose membership cannot be decided offline
(`binding.not-checked`: SNOMED CT, dm+d, a value set missing from the packages), an invariant the engine
cannot evaluate, an extension or profile that is not in the packages, a regex too costly to run. Each
becomes a Gap worded so that the same rule, missed in many payloads, is one line of the statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from conformance.outcome import Issue
from conformance.statements.model import NotEvaluatedKind, clip


@dataclass(frozen=True, order=True)
class Gap:
    """One kind of rule left unevaluated: its family, what exactly, and why."""

    kind: NotEvaluatedKind
    what: str
    reason: str


_ISSUE_GAPS: Mapping[str, tuple[NotEvaluatedKind, str]] = {
    "invariant.not-checked": ("invariant", "the constraint's expression cannot be evaluated by this tool"),
    "extension.unknown": ("extension", "the extension is not defined in the loaded packages"),
    "profile.unknown": ("profile", "the claimed profile is not in the loaded packages"),
    "type.regex.invalid": ("regex", "the profile's regular expression does not compile"),
    "type.regex.too-costly": ("regex", "the profile's regular expression takes too long on this value"),
    "questionnaire.options-not-checked": ("questionnaire", "the item lists no options for this answer"),
    "questionnaire.value-set-not-checked": ("questionnaire", "value set membership needs a server"),
}

# The validator words a binding it could not check as "The binding to <value set> was not checked:
# <the terminology's answer>", and the answer as "... cannot be told offline: <why>". The value set and
# the why are the same for every code missed, so they make the line; the code itself is in the evidence.
_BINDING = re.compile(r"^The binding to (?P<valueset>\S+) was not checked: (?P<answer>.*)$", re.DOTALL)
_OFFLINE = re.compile(r"cannot be told offline: (?P<why>.*)$", re.DOTALL)


def gap_of_issue(issue: Issue) -> Gap | None:
    """The gap an issue reports, for the issues that say something was not checked."""
    if issue.message_id == "binding.not-checked":
        return _binding_gap(issue)
    known = _ISSUE_GAPS.get(issue.message_id)
    if known is not None:
        return Gap(known[0], clip(issue.message), known[1])
    if ".not-checked" in issue.message_id:
        return Gap("other", clip(issue.message), issue.message_id)
    return None


def _binding_gap(issue: Issue) -> Gap:
    element = issue.element_id or issue.location
    binding = _BINDING.match(issue.message)
    if binding is None:
        return Gap("binding", clip(f"the binding of {element}"), clip(issue.message))
    offline = _OFFLINE.search(binding["answer"])
    why = offline["why"] if offline else binding["answer"]
    return Gap("binding", clip(f"codes in {element} bound to {binding['valueset']}"), clip(why))


def gaps_of(issues: Iterable[Issue]) -> tuple[Gap, ...]:
    """Every gap one resource's issues report, once per issue."""
    return tuple(gap for gap in map(gap_of_issue, issues) if gap is not None)
