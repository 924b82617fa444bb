"""Local answers first; a terminology server (or a recording of one) only for what they cannot tell.

The loaded packages decide everything they define, offline and fast. Only a
question the local service answers "unknown" (SNOMED CT, LOINC, dm+d, a value
set the packages lack) goes to the second service, so a run asks the server
as little as possible and never lets it overrule the standard's own
definitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from conformance.terminology import results as r
from conformance.terminology.answers import CodeQuestion, TerminologySource, describe
from conformance.terminology.expansion import Expansion
from conformance.terminology.replies import ConceptDetails
from conformance.terminology.results import CodeResult, Finding
from conformance.terminology.service import TerminologyService

# Local findings that only say "cannot tell here": dropped once the server has decided.
UNDECIDED_FINDINGS = frozenset(
    {
        r.UNKNOWN_CODE_IN_FRAGMENT,
        r.CODESYSTEM_NOT_FOUND,
        r.NOT_CHECKED_EXTERNAL,
        r.NOT_CHECKED_CONTENT,
        r.NOT_CHECKED_VALUESET,
    }
)


def combine(local: CodeResult, remote: CodeResult) -> CodeResult:
    """The second service's answer to a question the local one could not decide, with the local findings.

    When the second service could not decide either, the local severity hint
    stands (a value set missing from the packages is still worth a warning).
    """
    if remote.unknown:
        hint = remote.severity_hint or local.severity_hint
        return replace(remote, severity_hint=hint, issues=_merged(local.issues, remote.issues))
    decided = tuple(finding for finding in local.issues if finding.message_id not in UNDECIDED_FINDINGS)
    return replace(remote, issues=_merged(decided, remote.issues))


def _merged(first: Sequence[Finding], second: Sequence[Finding]) -> tuple[Finding, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def ask_each(service: TerminologyService, questions: Sequence[CodeQuestion]) -> tuple[CodeResult, ...]:
    """Many membership questions: in batches when the service can, else one by one."""
    batch = getattr(service, "validate_codes", None)
    if callable(batch):
        answers = batch(questions)
        if isinstance(answers, tuple):
            return answers
    return tuple(
        service.validate_code(q.valueset, system=q.system, code=q.code, display=q.display, version=q.version)
        for q in questions
    )


class CompositeTerminology:
    """A `TerminologyService` made of a local one and a second one (a server, a recording, a recorder)."""

    def __init__(self, local: TerminologyService, remote: TerminologyService) -> None:
        self.local = local
        self.remote = remote

    def __repr__(self) -> str:
        return f"CompositeTerminology({self.local!r}, {self.remote!r})"

    def validate_code(
        self,
        valueset_url: str,
        *,
        system: str | None,
        code: str,
        display: str | None = None,
        version: str | None = None,
    ) -> CodeResult:
        local = self.local.validate_code(
            valueset_url, system=system, code=code, display=display, version=version
        )
        if not local.unknown:
            return local
        remote = self.remote.validate_code(
            valueset_url, system=system, code=code, display=display, version=version
        )
        return combine(local, remote)

    def validate_coding_in_codesystem(
        self, system: str, code: str, display: str | None, version: str | None = None
    ) -> CodeResult:
        local = self.local.validate_coding_in_codesystem(system, code, display, version)
        if not local.unknown:
            return local
        return combine(local, self.remote.validate_coding_in_codesystem(system, code, display, version))

    def check_codeable_concept(self, valueset_url: str, codings: Sequence[Mapping[str, Any]]) -> CodeResult:
        local = self.local.check_codeable_concept(valueset_url, codings)
        if not local.unknown:
            return local
        return combine(local, self.remote.check_codeable_concept(valueset_url, codings))

    def expand(self, valueset_url: str) -> Expansion | None:
        local = self.local.expand(valueset_url)
        if local is not None and local.complete:
            return local
        return self.remote.expand(valueset_url) or local

    def check_identifier(self, system: str, value: str) -> CodeResult | None:
        return self.local.check_identifier(system, value)

    def lookup(self, system: str, code: str, version: str | None = None) -> ConceptDetails | None:
        lookup = getattr(self.remote, "lookup", None)
        found = lookup(system, code, version) if callable(lookup) else None
        return found if isinstance(found, ConceptDetails) else None

    def validate_codes(self, questions: Sequence[CodeQuestion]) -> tuple[CodeResult, ...]:
        """Many membership questions: the local answers, and one batch to the second service for the rest."""
        local = [
            self.local.validate_code(
                q.valueset, system=q.system, code=q.code, display=q.display, version=q.version
            )
            for q in questions
        ]
        undecided = [index for index, answer in enumerate(local) if answer.unknown]
        remote = ask_each(self.remote, [questions[index] for index in undecided])
        for index, answer in zip(undecided, remote, strict=True):
            local[index] = combine(local[index], answer)
        return tuple(local)

    def describe(self) -> TerminologySource:
        second = describe(self.remote)
        return replace(second, kind=f"local+{second.kind}") if second.kind != "local" else second

    def close(self) -> None:
        for service in (self.remote, self.local):
            closer = getattr(service, "close", None)
            if callable(closer):
                closer()
