"""The terminology service the validator asks about codes, and its local (offline) implementation.

`LocalTerminology` answers from the loaded packages only. Whatever needs a
terminology server (SNOMED CT, LOINC, dm+d membership...) is answered
"unknown" (not checked), never with a false error; the checks that need no
server (UCUM, mime type and language tag syntax, SNOMED CT and NHS number
check digits, UK identifier formats) are made here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from conformance.fhirversion import FhirVersion
from conformance.outcome import Severity
from conformance.terminology import results as r
from conformance.terminology.codesystem import CodeSystemIndex
from conformance.terminology.expansion import Expander, Expansion, concept_of, label
from conformance.terminology.identifiers import IdentifierRules, default_rules
from conformance.terminology.members import Concept
from conformance.terminology.results import CodeCheck, CodeResult, Finding, qualified
from conformance.terminology.source import ResourceSource, split_canonical
from conformance.terminology.systems import KNOWN_EXTERNAL_SYSTEMS, SYNTAX_SYSTEMS, sctid_syntax_problem


class TerminologyService(Protocol):
    """What the validator needs to know about codes; a remote server client can implement it too."""

    def expand(self, valueset_url: str) -> Expansion | None: ...

    def validate_code(
        self,
        valueset_url: str,
        *,
        system: str | None,
        code: str,
        display: str | None = None,
        version: str | None = None,
    ) -> CodeResult: ...

    def validate_coding_in_codesystem(
        self, system: str, code: str, display: str | None, version: str | None = None
    ) -> CodeResult: ...

    def check_codeable_concept(
        self, valueset_url: str, codings: Sequence[Mapping[str, Any]]
    ) -> CodeResult: ...

    def check_identifier(self, system: str, value: str) -> CodeResult | None: ...


_WHITESPACE = re.compile(r"\s+")
_LOCAL = "checked locally"
# Distinct validate_code questions answered from memory: a few MB at most, whatever the payloads.
_ANSWERS_KEPT = 20_000


def _normalised(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip().casefold()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class LocalTerminology:
    """Terminology answered from the definitions of a `ResourceSource` (a Context), offline.

    Expansions and CodeSystem indexes are built on first use and cached for
    the life of this object; testing a code against an expanded value set is
    a dictionary lookup.
    """

    def __init__(
        self,
        source: ResourceSource,
        fhir_version: FhirVersion,
        *,
        display_mismatch_is_warning: bool = False,
        identifier_rules: IdentifierRules | None = None,
    ) -> None:
        self.source = source
        self.fhir_version = fhir_version
        self.display_mismatch_is_warning = display_mismatch_is_warning
        self._identifier_rules = identifier_rules
        self._expander = Expander(source)
        self._named_systems: frozenset[str] | None = None
        self._answers: dict[tuple[str, str | None, str, str | None, str | None], CodeResult] = {}

    # --- value sets ----------------------------------------------------------------------------

    def expand(self, valueset_url: str) -> Expansion | None:
        """The expansion of a value set; None when it is not found or none of its codes can be listed here."""
        expansion = self._expander.expansion(valueset_url)
        if expansion is None or (not expansion.complete and not expansion.contains):
            return None
        return expansion

    def expansion_of(self, valueset_url: str) -> Expansion | None:
        """Like `expand`, but also for value sets that can only be tested (by syntax, or partly)."""
        return self._expander.expansion(valueset_url)

    def validate_code(
        self,
        valueset_url: str,
        *,
        system: str | None,
        code: str,
        display: str | None = None,
        version: str | None = None,
    ) -> CodeResult:
        """Is `system#code` in the value set? With the code's own findings (display, status, unknown code).

        The answer depends on the arguments and the loaded packages only, and payloads repeat the same
        codings: answers are kept (results are immutable), up to a bound.
        """
        key = (valueset_url, system, code, display, version)
        known = self._answers.get(key)
        if known is None:
            known = self._validate_code(valueset_url, system, code, display, version)
            if len(self._answers) >= _ANSWERS_KEPT:
                self._answers.clear()
            self._answers[key] = known
        return known

    def _validate_code(
        self, valueset_url: str, system: str | None, code: str, display: str | None, version: str | None
    ) -> CodeResult:
        if not code:
            return r.invalid(r.NO_CODE, "No code was provided", issue_type="required")
        expansion = self._expander.expansion(valueset_url)
        if expansion is None:
            return self._valueset_not_found(valueset_url, system, code, display, version)
        answer, concept = (
            expansion.members.test(system, code) if system else expansion.members.test_code(code)
        )
        found_system = concept.system if concept else system
        if answer is CodeCheck.VALID and concept is not None:
            return self._in_valueset(expansion, concept, code, display)
        own = self._coding_findings(found_system, code, display, version) if found_system else ()
        if answer is CodeCheck.INVALID:
            return self._not_in_valueset(expansion, system, code).with_issues(*own)
        return self._undecided(expansion, found_system, code).with_issues(*own)

    def _valueset_not_found(
        self, valueset_url: str, system: str | None, code: str, display: str | None, version: str | None
    ) -> CodeResult:
        url, wanted = split_canonical(valueset_url)
        result = r.unknown(
            r.VALUESET_NOT_FOUND,
            f"The value set {label(url, wanted)} could not be found, "
            f"so {qualified(system, code)} was not checked against it",
            hint=Severity.WARNING,
            issue_type="not-found",
        )
        return (
            result.with_issues(*self._coding_findings(system, code, display, version)) if system else result
        )

    def _in_valueset(
        self, expansion: Expansion, concept: Concept, code: str, display: str | None
    ) -> CodeResult:
        result = r.valid(
            r.IN_VALUESET,
            f"The code {qualified(concept.system, concept.code)} is in the value set {expansion.label} "
            f"({_LOCAL})",
            system=concept.system,
            display=concept.display,
        )
        return result.with_issues(*self._concept_findings(concept, code, display))

    def _not_in_valueset(self, expansion: Expansion, system: str | None, code: str) -> CodeResult:
        result = r.invalid(
            r.NOT_IN_VALUESET,
            f"The code {qualified(system, code)} is not in the value set {expansion.label} ({_LOCAL})",
        )
        if system is not None:
            return result
        return result.with_issues(
            Finding(
                Severity.ERROR,
                "not-found",
                r.SYSTEM_UNDETERMINED,
                f"The system could not be determined for the code '{code}' "
                f"in the value set {expansion.label}",
            )
        )

    def _undecided(self, expansion: Expansion, system: str | None, code: str) -> CodeResult:
        reasons = "; ".join(expansion.notes) or "its definition cannot be fully evaluated here"
        return r.unknown(
            r.NOT_CHECKED_EXTERNAL if system and self._is_external(system) else r.NOT_CHECKED_VALUESET,
            f"Whether {qualified(system, code)} is in the value set {expansion.label} "
            f"cannot be told offline: {reasons}",
            issue_type="not-supported",
        )

    def check_codeable_concept(self, valueset_url: str, codings: Sequence[Mapping[str, Any]]) -> CodeResult:
        """Is any coding in the value set? One is enough; every coding's own findings are kept."""
        # `type(...) is dict` first: codings are JSON objects, and the abstract Mapping test costs more.
        coded = [
            coding
            for coding in codings
            if (type(coding) is dict or isinstance(coding, Mapping)) and _text(coding.get("code"))
        ]
        if not coded:
            return r.invalid(
                r.NO_CODE,
                f"No code was provided, and a code from the value set {valueset_url} is expected",
                issue_type="required",
            )
        results = [self._coding_in_valueset(valueset_url, coding) for coding in coded]
        findings = tuple(dict.fromkeys(finding for result in results for finding in result.issues))
        chosen = _first(results, CodeCheck.VALID) or _first(results, CodeCheck.UNKNOWN)
        if chosen is not None:
            # Usually one coding with nothing to add: its own answer stands (no copy made per value).
            return chosen if chosen.issues == findings else replace(chosen, issues=findings)
        expansion = self._expander.expansion(valueset_url)
        where = expansion.label if expansion else valueset_url
        shown = ", ".join(qualified(_text(c.get("system")), str(c["code"])) for c in coded)
        return r.invalid(
            r.NONE_IN_VALUESET,
            f"None of the codings provided ({shown}) are in the value set {where} ({_LOCAL})",
        ).with_issues(*findings)

    def _coding_in_valueset(self, valueset_url: str, coding: Mapping[str, Any]) -> CodeResult:
        system, code = _text(coding.get("system")), str(coding["code"])
        if system is None:
            # Unlike a bare `code` element, a Coding without a system has no meaning to look up.
            return r.invalid(r.NOT_IN_VALUESET, f"The coding {qualified(None, code)} has no system")
        return self.validate_code(
            valueset_url,
            system=system,
            code=code,
            display=_text(coding.get("display")),
            version=_text(coding.get("version")),
        )

    # --- code systems --------------------------------------------------------------------------

    def validate_coding_in_codesystem(
        self, system: str, code: str, display: str | None, version: str | None = None
    ) -> CodeResult:
        """Does the code exist in its system (with the right display, and active)? As far as is known here."""
        if not code:
            return r.invalid(
                r.NO_CODE, f"No code was provided for the system {system}", issue_type="required"
            )
        syntax = SYNTAX_SYSTEMS.get(system)
        if syntax is not None:
            problem = syntax.problem(code)
            if problem is not None:
                return r.invalid(syntax.message_id, f"{problem} ({system}, {_LOCAL})", hint=Severity.ERROR)
            return r.valid(
                r.SYNTAX_VALID, f"'{code}' is a well-formed {syntax.label} ({_LOCAL})", system=system
            )
        sctid = sctid_syntax_problem(system, code)
        if sctid is not None:
            return r.invalid(sctid.message_id, f"{sctid.message} ({system}, {_LOCAL})", hint=Severity.ERROR)
        lookup = self._expander.codesystem(system, version)
        version_findings = self._version_findings(lookup.note)
        if lookup.index is None:
            return self._no_codesystem(system, code)
        return self._in_codesystem(lookup.index, code, display).with_issues(*version_findings)

    def _in_codesystem(self, cs: CodeSystemIndex, code: str, display: str | None) -> CodeResult:
        where = label(cs.url, cs.version, cs.title)
        definition = cs.find(code)
        if definition is not None:
            concept = concept_of(cs, definition)
            result = r.valid(
                r.CODE_VALID,
                f"The code {qualified(cs.url, definition.code)} is defined in the CodeSystem {where} "
                f"({_LOCAL})",
                system=cs.url,
                display=definition.display,
            )
            return result.with_issues(*self._concept_findings(concept, code, display))
        if cs.is_complete:
            return r.invalid(
                r.UNKNOWN_CODE,
                f"Unknown code {qualified(cs.url, code)} in the CodeSystem {where} ({_LOCAL})",
                hint=Severity.ERROR,
            )
        if cs.content == "fragment":
            return r.unknown(
                r.UNKNOWN_CODE_IN_FRAGMENT,
                f"The code {qualified(cs.url, code)} is not in the CodeSystem {where}, "
                "which is only a fragment "
                "of the code system, so the code may still be valid",
                hint=Severity.WARNING,
                issue_type="code-invalid",
            )
        return r.unknown(
            r.NOT_CHECKED_CONTENT,
            f"The code {qualified(cs.url, code)} was not checked: the CodeSystem {where} is published with "
            f"content '{cs.content}', so it does not list every code",
        )

    def _no_codesystem(self, system: str, code: str) -> CodeResult:
        if self._is_known_external(system):
            return r.unknown(
                r.NOT_CHECKED_EXTERNAL,
                f"The code {qualified(system, code)} was not checked: "
                f"{system} is an external code system that needs "
                "a terminology server",
            )
        return r.unknown(
            r.CODESYSTEM_NOT_FOUND,
            f"A definition for CodeSystem '{system}' could not be found, "
            f"so the code '{code}' cannot be validated",
            hint=Severity.WARNING,
            issue_type="not-found",
        )

    @staticmethod
    def _version_findings(note: str | None) -> tuple[Finding, ...]:
        if note is None:
            return ()
        return (Finding(Severity.WARNING, "not-found", r.CODESYSTEM_VERSION_NOT_FOUND, note),)

    def _is_external(self, system: str) -> bool:
        """The system's codes are not all defined here (SNOMED CT, LOINC, dm+d, a fragment...)."""
        index = self._expander.codesystem(system).index
        return index is None or not index.is_complete

    def _is_known_external(self, system: str) -> bool:
        if system in KNOWN_EXTERNAL_SYSTEMS:
            return True
        if self._named_systems is None:
            self._named_systems = frozenset(_naming_system_uris(self.source.resources("NamingSystem")))
        return system in self._named_systems

    def _coding_findings(
        self, system: str | None, code: str, display: str | None, version: str | None
    ) -> tuple[Finding, ...]:
        """What the code's own system says about it, as findings to report next to a membership answer."""
        if system is None:
            return ()
        result = self.validate_coding_in_codesystem(system, code, display, version)
        if result.valid or (result.unknown and result.severity_hint is None):
            return result.issues
        severity = result.severity_hint or Severity.ERROR
        return (Finding(severity, result.issue_type, result.message_id, result.message), *result.issues)

    def _concept_findings(self, concept: Concept, code: str, display: str | None) -> tuple[Finding, ...]:
        return (
            *self._case_findings(concept, code),
            *self._display_findings(concept, display),
            *_status_findings(concept),
        )

    @staticmethod
    def _case_findings(concept: Concept, code: str) -> tuple[Finding, ...]:
        if concept.code == code:
            return ()
        message = (
            f"The code '{code}' differs from the correct code '{concept.code}' by case; the code system "
            f"{concept.system} is case-insensitive, but the correct case should be used"
        )
        return (Finding(Severity.INFORMATION, "business-rule", r.CODE_CASE, message),)

    def _display_findings(self, concept: Concept, display: str | None) -> tuple[Finding, ...]:
        valid_displays = concept.displays()
        if display is None or not concept.local or not valid_displays:
            return ()
        if any(display.casefold() == candidate.casefold() for candidate in valid_displays):
            return ()
        whitespace_only = any(_normalised(display) == _normalised(candidate) for candidate in valid_displays)
        shown = " or ".join(f"'{candidate}'" for candidate in valid_displays)
        severity = Severity.WARNING if self.display_mismatch_is_warning else Severity.ERROR
        message = (
            f"Wrong display '{display}' for {qualified(concept.system, concept.code)}: "
            f"valid display is {shown}"
            + (" (only the whitespace differs)" if whitespace_only else "")
            + f" ({_LOCAL})"
        )
        message_id = r.DISPLAY_WHITESPACE if whitespace_only else r.DISPLAY_MISMATCH
        return (Finding(severity, "invalid", message_id, message),)

    # --- identifiers ---------------------------------------------------------------------------

    def check_identifier(self, system: str, value: str) -> CodeResult | None:
        """The UK identifier rule for `system` applied to `value`; None when no rule covers the system."""
        if self._identifier_rules is None:
            self._identifier_rules = default_rules()
        return self._identifier_rules.check(system, value)


def _status_findings(concept: Concept) -> tuple[Finding, ...]:
    if concept.inactive:
        message = (
            f"The concept '{concept.code}' has a status of {concept.status} and its use should be reviewed"
        )
        return (Finding(Severity.WARNING, "business-rule", r.INACTIVE, message),)
    if concept.deprecated:
        message = f"The concept '{concept.code}' is deprecated and its use should be reviewed"
        return (Finding(Severity.WARNING, "business-rule", r.DEPRECATED, message),)
    return ()


def _first(results: Iterable[CodeResult], status: CodeCheck) -> CodeResult | None:
    return next((result for result in results if result.status is status), None)


def _naming_system_uris(naming_systems: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for naming_system in naming_systems:
        if naming_system.get("kind") != "codesystem":
            continue
        for unique_id in naming_system.get("uniqueId") or ():
            if isinstance(unique_id, Mapping) and unique_id.get("type") == "uri":
                value = unique_id.get("value")
                if isinstance(value, str):
                    yield value
