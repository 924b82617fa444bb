"""Bindings within what the loaded packages hold.

required -> error when the code is not in the ValueSet, extensible -> warning,
preferred/example -> nothing. What cannot be decided locally (external code
systems, filters the local service cannot evaluate) is an information issue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Frame, Walker

CODED_TYPES = frozenset({"code", "Coding", "CodeableConcept", "Quantity", "string", "uri"})
CHECKED_STRENGTHS = frozenset({"required", "extensible"})


def _codings(value: Any, type_code: str) -> list[Mapping[str, Any]]:
    if type_code == "CodeableConcept" and isinstance(value, Mapping):
        codings = value.get("coding")
        return [c for c in codings if isinstance(c, Mapping)] if isinstance(codings, list) else []
    if type_code in ("Coding", "Quantity") and isinstance(value, Mapping):
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
        binding = rule.binding
        if binding is None or binding.strength not in CHECKED_STRENGTHS or not binding.value_set:
            return
        if type_ref.code not in CODED_TYPES or self.terminology is None:
            return
        codings = _codings(value, type_ref.code)
        if not codings:
            return
        verdict = self._any_member(binding.value_set, codings)
        if verdict is not False:
            return
        shown = ", ".join(_show(c) for c in codings)
        message = f"The value provided ({shown}) was not found in the value set {binding.value_set}" + (
            ", and a code is required from this value set" if binding.strength == "required" else ""
        )
        if binding.strength == "required":
            walker.report.error(
                "code-invalid",
                "binding.required.not-in-valueset",
                message,
                loc,
                profile=plan.canonical,
                element_id=rule.id,
            )
            if type_ref.code == "code":
                # A bare code carries no system: when the value set does not hold it, none can be inferred.
                walker.report.error(
                    "code-invalid",
                    "binding.code.system-unknown",
                    f"The System URI could not be determined for the code '{value}' in the ValueSet "
                    f"'{binding.value_set}'",
                    loc,
                    profile=plan.canonical,
                    element_id=rule.id,
                )
        else:
            walker.report.warning(
                "code-invalid",
                "binding.extensible.not-in-valueset",
                message,
                loc,
                profile=plan.canonical,
                element_id=rule.id,
            )


def _show(coding: Mapping[str, Any]) -> str:
    system = coding.get("system")
    code = coding.get("code")
    return f"'{system}#{code}'" if isinstance(system, str) else f"'{code}'"
