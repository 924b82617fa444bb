"""Bindings within what the loaded packages hold.

required -> error when the code is not in the ValueSet, extensible -> warning,
preferred/example -> nothing. What cannot be decided locally (external code
systems, filters the local service cannot evaluate) is an information issue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef
from conformance.outcome import Severity
from conformance.validation.implied_profiles import binding_strength

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Frame, Walker

CODED_TYPES = frozenset({"code", "Coding", "CodeableConcept", "Quantity", "string", "uri"})
CHECKED_STRENGTHS = frozenset({"required", "extensible"})
# Findings that only follow from membership, which the binding strength turns into its own issue.
REPORTED_BY_STRENGTH = frozenset({"terminology.system-undetermined"})


def _is_object(value: Any) -> bool:
    # A JSON object is a dict: told by its exact type before the slower abstract Mapping test.
    return type(value) is dict or isinstance(value, Mapping)


def _codings(value: Any, type_code: str) -> list[Mapping[str, Any]]:
    if type_code == "CodeableConcept" and _is_object(value):
        codings = value.get("coding")
        return [c for c in codings if _is_object(c)] if isinstance(codings, list) else []
    if type_code in ("Coding", "Quantity") and _is_object(value):
        return [value] if "code" in value else []
    if isinstance(value, str):
        return [{"code": value}]
    return []


class BindingChecks:
    def __init__(self, terminology: Any) -> None:
        self.terminology = terminology

    def member_of(self, value: Any, value_set: str) -> bool | None:
        """For slicing on bindings: True/False when the membership is known, None when not."""
        if self.terminology is None:
            return None
        for type_code in ("CodeableConcept", "Coding", "code"):
            codings = _codings(value, type_code)
            if codings:
                return self._any_member(value_set, codings)
        return None

    def _any_member(self, value_set: str, codings: Sequence[Mapping[str, Any]]) -> bool | None:
        verdicts = [self._status(value_set, coding) for coding in codings]
        if "valid" in verdicts:
            return True
        if verdicts and all(v == "invalid" for v in verdicts):
            return False
        return None

    def _status(self, value_set: str, coding: Mapping[str, Any]) -> str:
        code = coding.get("code")
        if not isinstance(code, str):
            return "unknown"
        try:
            result = self.terminology.validate_code(
                value_set,
                system=coding.get("system") if isinstance(coding.get("system"), str) else None,
                code=code,
                display=None,
            )
        except Exception:  # a terminology gap must not crash validation
            return "unknown"
        return str(getattr(result, "status", "unknown"))

    def applies(self, rule: ElementRule, type_ref: TypeRef) -> bool:
        """Can `check_value` find anything in a value of this element and type? (Most cannot.)"""
        return type_ref.code == "Identifier" or self.checks_binding(rule, type_ref)

    def checks_binding(self, rule: ElementRule, type_ref: TypeRef) -> bool:
        """Does `check_value` hold a value of this element and type to the element's binding? (An
        Identifier's own checks do not depend on the element.)"""
        binding = rule.binding
        if binding is None or binding.strength not in CHECKED_STRENGTHS or not binding.value_set:
            return False
        return type_ref.code in CODED_TYPES and self.terminology is not None

    def check_value(
        self,
        walker: Walker,
        value: Any,
        rule: ElementRule,
        type_ref: TypeRef,
        loc: Loc,
        plan: Plan,
        frame: Frame,
    ) -> None:
        if type_ref.code == "Identifier" and _is_object(value):
            self._identifier(walker, value, loc)
        binding = rule.binding
        if binding is None or not binding.value_set or not self.checks_binding(rule, type_ref):
            return
        codings = _codings(value, type_ref.code)
        if not codings:
            return
        result = self._result(binding.value_set, codings, type_ref.code)
        if result is None:
            return
        findings = getattr(result, "issues", ()) or ()
        status = str(result.status)
        if not findings and status not in ("unknown", "invalid"):
            return  # a member with nothing more to say: the most common answer, which reports nothing
        where = _Where(walker, loc, plan, rule)
        self._findings(findings, where)
        if status == "unknown":
            walker.report.info(
                "informational",
                "binding.not-checked",
                f"The binding to {binding.value_set} was not checked: {result.message}",
                loc,
                profile=plan.canonical,
                element_id=rule.id,
            )
        elif status == "invalid":
            strength = binding_strength(plan, rule.path, binding.value_set, binding.strength)
            self._not_in_value_set(strength, binding.value_set, codings, value, type_ref, where)

    def _result(self, value_set: str, codings: Sequence[Mapping[str, Any]], type_code: str) -> Any:
        try:
            if type_code == "CodeableConcept":
                return self.terminology.check_codeable_concept(value_set, codings)
            coding = codings[0]
            return self.terminology.validate_code(
                value_set,
                system=_text(coding.get("system")),
                code=str(coding.get("code")),
                display=_text(coding.get("display")),
            )
        except Exception:  # a terminology gap must never crash validation
            return None

    @staticmethod
    def _findings(findings: Sequence[Any], where: _Where) -> None:
        """What the code systems say beside membership: wrong displays, inactive codes, bad check digits."""
        for finding in findings:
            if finding.message_id in REPORTED_BY_STRENGTH:
                continue
            where.walker.report.add(
                finding.severity,
                finding.issue_type,
                finding.message_id,
                finding.message,
                where.loc,
                profile=where.plan.canonical,
                element_id=where.rule.id,
            )

    @staticmethod
    def _not_in_value_set(
        strength: str,
        value_set: str,
        codings: Sequence[Mapping[str, Any]],
        value: Any,
        type_ref: TypeRef,
        where: _Where,
    ) -> None:
        shown = ", ".join(_show(c) for c in codings)
        message = f"The value provided ({shown}) was not found in the value set {value_set}" + (
            ", and a code is required from this value set" if strength == "required" else ""
        )
        report = where.walker.report
        extra = {"profile": where.plan.canonical, "element_id": where.rule.id}
        if strength != "required":
            report.warning("code-invalid", "binding.extensible.not-in-valueset", message, where.loc, **extra)
            return
        report.error("code-invalid", "binding.required.not-in-valueset", message, where.loc, **extra)
        if type_ref.code == "code":
            # A bare code carries no system: when the value set does not hold it, none can be inferred.
            report.error(
                "code-invalid",
                "binding.code.system-unknown",
                f"The System URI could not be determined for the code '{value}' in the ValueSet "
                f"'{value_set}'",
                where.loc,
                **extra,
            )

    def _identifier(self, walker: Walker, value: Mapping[str, Any], loc: Loc) -> None:
        """Identifier rules that need no server: NHS number check digit, SNOMED CT id form..."""
        system, text = _text(value.get("system")), _text(value.get("value"))
        checker = getattr(self.terminology, "check_identifier", None)
        if system is None or text is None or checker is None:
            return
        result = checker(system, text)
        if result is None or str(result.status) != "invalid":
            return
        severity = result.severity_hint or Severity.ERROR
        walker.report.add(severity, "value", result.message_id, result.message, loc.child("value"))


class _Where:
    """Where a binding is checked. Not a dataclass: mypyc builds a dataclass's annotations when its module
    is imported, and `Walker` and `Loc` (imported for type checking only) do not exist yet then."""

    __slots__ = ("loc", "plan", "rule", "walker")

    def __init__(self, walker: Walker, loc: Loc, plan: Plan, rule: ElementRule) -> None:
        self.walker = walker
        self.loc = loc
        self.plan = plan
        self.rule = rule


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _show(coding: Mapping[str, Any]) -> str:
    system = coding.get("system")
    code = coding.get("code")
    return f"'{system}#{code}'" if isinstance(system, str) else f"'{code}'"
