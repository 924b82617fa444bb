"""Invariants: every ElementDefinition constraint, evaluated with FHIRPath.

Each expression is compiled once. An expression the engine cannot evaluate
gives an information issue saying it was not checked: never a crash, never a
silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from conformance.definitions.plan import Constraint, ElementRule, Plan, TypeRef
from conformance.fhirpath import Primitive
from conformance.outcome import Severity

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Frame, Walker

_NARRATIVE_LINK = re.compile(r"""(?:href|src)\s*=\s*["']#([^"']*)["']""")
GENERIC_TYPES = frozenset({"BackboneElement", "Element"})
# ele-1: every element has a value or children; the structure checks already report its breach.
ELEMENT_INVARIANT = "ele-1"


class _Prepared(NamedTuple):
    """One constraint ready to check: its compiled expression, or why it cannot be compiled; and the
    expression as evaluated (a key's correction may change the published text)."""

    constraint: Constraint
    compiled: Any
    broken: str | None
    text: str
    object_verdict: Callable[[dict[str, Any], str | None], bool | None] | None = None

    @property
    def report_key(self) -> tuple[str, str, str, bool]:
        """What decides its verdict on a given focus, and its issue as the report dedupes it: the
        expression as evaluated, the key, the severity, whether it is a best practice."""
        constraint = self.constraint
        return (self.text, constraint.key, constraint.severity, constraint.best_practice)


# What the checks of one element need that depends only on its rule and type: computed once. Kept with
# the rule and type they were made for: the key is their identities (a TypeRef hashes every field).
ElementInvariants = tuple[ElementRule, TypeRef | None, tuple[_Prepared, ...], str]
_PrimitiveInvariants = tuple[ElementRule, TypeRef, tuple[_Prepared, ...]]


class InvariantChecks:
    def __init__(self, fhirpath: Any) -> None:
        self.fhirpath = fhirpath
        self._broken: dict[str, str] = {}
        # Keyed by the rule object itself (rules compare by identity and live as long as the definitions,
        # as this object does) and the type: the merged, compiled constraints and the focus type.
        self._elements: dict[tuple[int, int], ElementInvariants] = {}
        self._primitives: dict[tuple[int, int], _PrimitiveInvariants] = {}

    def check(
        self,
        walker: Walker,
        rule: ElementRule,
        type_ref: TypeRef | None,
        focus: Any,
        loc: Loc,
        plan: Plan,
        frame: Frame,
    ) -> None:
        self.check_with(walker, self.element_invariants(walker, rule, type_ref), focus, loc, plan, frame)

    def check_resource(
        self, walker: Walker, rule: ElementRule, resource: Any, loc: Loc, plan: Plan, frame: Frame
    ) -> None:
        """A resource's own invariants (at its root), in one of its walks.

        A profile's snapshot repeats its base's constraints, so the walks of a resource (each profile, then
        the base) mostly check the same ones at its root. One an earlier walk checked there with the same
        expression and focus type gives the same verdict (which depends on the object, the expression,
        the focus type and the resource only); with the same key and severity its issue, if any, is one
        the report already holds and drops. It is left out.
        """
        found = self.element_invariants(walker, rule, None)
        done = frame.root_checks
        if done is None:  # the resource is walked once
            self.check_with(walker, found, resource, loc, plan, frame)
            return
        focus_type = found[3]
        left = []
        for one in found[2]:
            signature = (one.report_key, focus_type)
            if signature not in done:
                done.add(signature)
                left.append(one)
        if left:
            self.check_with(walker, (found[0], found[1], tuple(left), focus_type), resource, loc, plan, frame)

    def element_invariants(
        self, walker: Walker, rule: ElementRule, type_ref: TypeRef | None
    ) -> ElementInvariants:
        """The merged, compiled constraints of an element of this type (kept by rule and type)."""
        key = (id(rule), id(type_ref))
        found = self._elements.get(key)
        if found is None or found[0] is not rule or found[1] is not type_ref:
            constraints = self._prepare(_element_constraints(walker, rule, type_ref))
            found = self._elements[key] = (rule, type_ref, constraints, _focus_type(rule, type_ref))
        return found

    def check_with(
        self, walker: Walker, found: ElementInvariants, focus: Any, loc: Loc, plan: Plan, frame: Frame
    ) -> None:
        """`check`, given what `element_invariants` answered (a caller that keeps it saves the lookup)."""
        rule, focus_type = found[0], found[3]
        is_object = type(focus) is dict
        for one in found[2]:
            quick = one.object_verdict
            if quick is not None and is_object and quick(focus, focus_type):
                continue  # holds (ele-1 on an object with content: nearly every object of every payload)
            self._one(walker, one, focus, focus_type, loc, plan, rule, frame)

    def primitive_invariants(
        self, walker: Walker, rule: ElementRule, type_ref: TypeRef
    ) -> tuple[_Prepared, ...]:
        """The compiled constraints `check_primitive` evaluates on a primitive of this element and type."""
        key = (id(rule), id(type_ref))
        found = self._primitives.get(key)
        if found is None or found[0] is not rule or found[1] is not type_ref:
            constraints = self._prepare(_primitive_constraints(walker, rule, type_ref))
            found = self._primitives[key] = (rule, type_ref, constraints)
        return found[2]

    def check_primitive(
        self,
        walker: Walker,
        rule: ElementRule,
        type_ref: TypeRef,
        value: Any,
        extra: Any,
        loc: Loc,
        plan: Plan,
        frame: Frame,
    ) -> None:
        """The invariants of a primitive element (txt-1 and txt-2 on Narrative.div, a profile's own...).

        ele-1 is left out: a primitive with neither a value nor extensions already has its structure
        error, and one with either satisfies it.
        """
        prepared = self.primitive_invariants(walker, rule, type_ref)
        if not prepared:
            return
        focus = Primitive(value, extra) if isinstance(extra, dict) else value
        for one in prepared:
            self._one(walker, one, focus, type_ref.code, loc, plan, rule, frame)

    def _prepare(self, constraints: tuple[Constraint, ...]) -> tuple[_Prepared, ...]:
        return tuple(self._compile(constraint) for constraint in constraints if constraint.expression)

    def _compile(self, constraint: Constraint) -> _Prepared:
        expression = constraint.expression or ""
        if self.fhirpath is None:
            return _Prepared(constraint, None, "no FHIRPath engine is available", expression)
        try:
            compiled = self.fhirpath.compile(expression, key=constraint.key)
        except Exception as exc:  # an engine gap must never crash validation
            return _Prepared(constraint, None, _first_line(exc), expression)
        return _Prepared(
            constraint,
            compiled,
            None,
            getattr(compiled, "effective_text", expression),
            getattr(compiled, "object_verdict", None),
        )

    def _one(
        self,
        walker: Walker,
        prepared: _Prepared,
        focus: Any,
        focus_type: str,
        loc: Loc,
        plan: Plan,
        rule: ElementRule,
        frame: Frame,
    ) -> None:
        constraint = prepared.constraint
        is_object = type(focus) is dict
        if constraint.key == ELEMENT_INVARIANT and _reported_as_empty_array(focus):
            return
        if constraint.key == "dom-3" and isinstance(focus, dict):
            verdict: bool | None = contained_are_referenced(focus)
        elif is_object and frame.verdicts is not None:
            verdict = self._shared_verdict(walker, prepared, focus, focus_type, loc, frame, frame.verdicts)
        else:
            verdict = self._evaluate(walker, prepared, focus, focus_type, loc, frame)
        if verdict is None or verdict:
            return
        severity = Severity.ERROR if constraint.severity == "error" else Severity.WARNING
        if constraint.best_practice:
            severity = Severity.WARNING
        walker.report.add(
            severity,
            "invariant",
            "invariant.failed",
            f"Constraint failed: {constraint.key}: '{constraint.human}'",
            loc,
            profile=plan.canonical,
            element_id=rule.id,
            constraint=constraint.key,
            dedupe=("invariant", constraint.key),
        )

    def _shared_verdict(
        self,
        walker: Walker,
        prepared: _Prepared,
        focus: dict[str, Any],
        focus_type: str,
        loc: Loc,
        frame: Frame,
        verdicts: dict[tuple[int, str, str], bool],
    ) -> bool | None:
        """The verdict on an object, evaluated once for all the walks of its resource (profiles, base).

        A verdict depends on the focus, the expression, the focus type and the resource it sits in (the
        frame): the same in each walk. Only objects are keyed (by identity: the payload outlives the walk);
        primitive values are not, as equal values at different places share an identity.
        """
        key = (id(focus), prepared.text, focus_type)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = self._evaluate(walker, prepared, focus, focus_type, loc, frame)
            if verdict is not None:
                verdicts[key] = verdict
        return verdict

    def _evaluate(
        self, walker: Walker, prepared: _Prepared, focus: Any, focus_type: str, loc: Loc, frame: Frame
    ) -> bool | None:
        constraint = prepared.constraint
        expression = constraint.expression or ""
        reason = prepared.broken
        if reason is None and self._broken:  # an expression found broken while evaluating (rare)
            reason = self._broken.get(expression)
        if reason is None:
            try:
                walker.engine.evaluating_in(frame)
                return bool(prepared.compiled.holds(focus, frame.resource, frame.root, focus_type))
            except Exception as exc:  # an engine gap must never crash validation
                reason = _first_line(exc)
                if "compile" in reason.lower() or "not supported" in reason.lower():
                    self._broken[expression] = reason
        walker.report.info(
            "informational",
            "invariant.not-checked",
            f"Constraint {constraint.key} was not checked: {reason}",
            loc,
            constraint=constraint.key,
            dedupe=("not-checked", constraint.key),
        )
        return None


def _element_constraints(
    walker: Walker, rule: ElementRule, type_ref: TypeRef | None
) -> tuple[Constraint, ...]:
    constraints = list(rule.constraints)
    keys = {c.key for c in constraints}
    # The type's own invariants (cpt-2 on a ContactPoint) hold wherever the type is used, also when a
    # profile unfolds the element's children: the element's snapshot does not repeat them.
    type_plan = walker.type_plan(type_ref) if type_ref is not None else None
    if type_plan is not None:
        constraints.extend(c for c in type_plan.root.constraints if c.key not in keys)
    return tuple(constraints)


def _primitive_constraints(walker: Walker, rule: ElementRule, type_ref: TypeRef) -> tuple[Constraint, ...]:
    constraints = [c for c in rule.constraints if c.key != ELEMENT_INVARIANT]
    type_plan = walker.type_plan(type_ref)
    if type_plan is not None:
        keys = {c.key for c in constraints}
        constraints.extend(
            c for c in type_plan.root.constraints if c.key != ELEMENT_INVARIANT and c.key not in keys
        )
    return tuple(constraints)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _focus_type(rule: ElementRule, type_ref: TypeRef | None) -> str:
    if type_ref is None or type_ref.code in GENERIC_TYPES:
        return rule.path
    return type_ref.code


def _reported_as_empty_array(focus: Any) -> bool:
    """An element left empty by an empty JSON array already has its structure error: ele-1 would repeat it."""
    return isinstance(focus, dict) and any(v == [] for v in focus.values())


def contained_are_referenced(resource: dict[str, Any]) -> bool:
    """dom-3 as the reference validator checks it: each contained resource is pointed at by `#id`.

    The pointer may be any reference, canonical or uri in the container or in another contained
    resource, or a link in the narrative (`href`/`src`); a contained resource may instead point back
    at its container with `#`.
    """
    contained = resource.get("contained")
    if not isinstance(contained, list) or not contained:
        return True
    pointers = _local_pointers(resource)
    for item in contained:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        if "#" + item["id"] not in pointers and "#" not in _local_pointers(item):
            return False
    return True


def _local_pointers(node: Any) -> set[str]:
    found: set[str] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
        elif isinstance(current, str) and "#" in current:
            if current.startswith("#"):
                found.add(current)
            elif current.lstrip().startswith("<"):
                found.update("#" + match for match in _NARRATIVE_LINK.findall(current))
    return found
