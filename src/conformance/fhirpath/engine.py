"""FhirPathEngine: compile FHIRPath once, evaluate it on FHIR JSON many times.

An expression with a fast path is parsed only when the general evaluation is first needed (the
fast path declined): a run whose invariants all have fast paths never loads fhirpathpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from conformance.fhirpath import _fhirpathpy, _syntax
from conformance.fhirpath._functions import ENVIRONMENT_KEY, FUNCTIONS, SIGNATURES, Environment, to_text
from conformance.fhirpath._model import TypeModel, model_for
from conformance.fhirpath._navigation import Primitive, from_node, to_node
from conformance.fhirpath._regex import DEFAULT_TIMEOUT_SECONDS
from conformance.fhirpath.corrections import correct, depends_on_key
from conformance.fhirpath.errors import FhirPathError
from conformance.fhirpath.fastpath import (
    FastPath,
    FocusFacts,
    ObjectVerdict,
    fast_path_for,
    object_verdict_for,
)
from conformance.fhirpath.hooks import Hooks, ResolveScope
from conformance.fhirversion import FhirVersion

_CODE_SYSTEMS = {
    "ucum": "http://unitsofmeasure.org",
    "sct": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
}
_PER_EVALUATION = frozenset({"resource", "rootResource", "context"})
_CLOCK_FUNCTIONS = frozenset({"now", "today", "timeOfDay"})
_VALUESET_PREFIX = "vs-"
_EXTENSION_PREFIX = "ext-"


def is_known_constant(name: str) -> bool:
    return (
        name in _CODE_SYSTEMS
        or name in _PER_EVALUATION
        or name.startswith((_VALUESET_PREFIX, _EXTENSION_PREFIX))
    )


class _Variables(dict[str, Any]):
    """%variables: the fixed ones, the per-evaluation ones, and %`vs-x` / %`ext-x` names."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (dict.__contains__(self, name) or is_known_constant(name))

    def __missing__(self, name: str) -> Any:
        if name.startswith(_VALUESET_PREFIX):
            return f"http://hl7.org/fhir/ValueSet/{name[len(_VALUESET_PREFIX) :]}"
        if name.startswith(_EXTENSION_PREFIX):
            return f"http://hl7.org/fhir/StructureDefinition/{name[len(_EXTENSION_PREFIX) :]}"
        raise KeyError(name)


class FhirPathEngine:
    """Compiles FHIRPath expressions for one FHIR version; compiled expressions are cached by text."""

    def __init__(
        self,
        fhir_version: FhirVersion,
        hooks: Hooks | None = None,
        *,
        regex_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        fast_paths: bool = True,
    ) -> None:
        self.fhir_version = fhir_version
        self.hooks = hooks or Hooks()
        self.regex_timeout = regex_timeout
        self.fast_paths = fast_paths
        self._model = model_for(fhir_version)
        self._compiled: dict[tuple[str, str | None], CompiledExpression] = {}

    def compile(self, text: str, *, key: str | None = None) -> CompiledExpression:
        """The compiled form of `text`; `key` (the constraint key) selects key-specific corrections.

        Raises FhirPathError when the text is not FHIRPath or uses a function or
        variable this engine does not support.
        """
        cache_key = (text, key if depends_on_key(text) else None)
        compiled = self._compiled.get(cache_key)
        if compiled is None:
            compiled = self._compile(text, key)
            self._compiled[cache_key] = compiled
        return compiled

    def _compile(self, text: str, key: str | None) -> CompiledExpression:
        correction = correct(text, self.fhir_version, key)
        effective = correction.corrected if correction else text
        fast_path = fast_path_for(effective) if self.fast_paths else None
        compiled = CompiledExpression(
            text=text,
            effective_text=effective,
            correction_reason=correction.reason if correction else None,
            engine=self,
            fast_path=fast_path,
            object_verdict=object_verdict_for(effective, self._model) if fast_path is not None else None,
        )
        if fast_path is None:
            _ = compiled.parsed  # now: an expression that is not FHIRPath is refused when compiled
        return compiled

    @property
    def model(self) -> TypeModel:
        return self._model


@dataclass(frozen=True, eq=False)
class CompiledExpression:
    """One expression, ready to evaluate. Immutable; safe to share between validations."""

    text: str
    effective_text: str
    correction_reason: str | None
    engine: FhirPathEngine = field(repr=False)
    fast_path: FastPath | None = field(default=None, repr=False)
    # The verdict on a plain JSON object from the object alone (None: evaluate); see fastpath.
    object_verdict: ObjectVerdict | None = field(default=None, repr=False)

    @property
    def is_fast(self) -> bool:
        return self.fast_path is not None

    @cached_property
    def parsed(self) -> _syntax.ParsedExpression:
        """The checked and rewritten syntax tree (parsed on first use for expressions with a fast path,
        whose texts are known to be valid)."""
        return _syntax.parse(self.effective_text, SIGNATURES, is_known_constant)

    @property
    def tree(self) -> Mapping[str, Any]:
        return self.parsed.tree

    @property
    def uses_clock(self) -> bool:
        return bool(self.parsed.functions & _CLOCK_FUNCTIONS)

    def evaluate(
        self,
        focus: Any,
        *,
        resource: Mapping[str, Any] | None = None,
        root_resource: Mapping[str, Any] | None = None,
        focus_type: str | None = None,
        scope: Any = None,
    ) -> list[Any]:
        """The result collection as plain values (JSON values, Primitive, bool, str, Decimal...).

        `focus` is the element (dict, primitive value or Primitive, or a resource);
        `focus_type` its FHIR type or element path (`Identifier`, `Patient.contact`);
        `resource`/`root_resource` are %resource/%rootResource (default: the focus when
        it is a resource). `scope` is handed to the resolve hook. Raises FhirPathError
        when evaluation fails.
        """
        facts = _facts(focus, resource, root_resource, focus_type)
        if self.fast_path is not None:
            result = self._try_fast_path(self.fast_path, facts)
            if result is not None:
                return result
        return self._evaluate_general(facts, scope)

    def _try_fast_path(self, fast_path: FastPath, facts: FocusFacts) -> list[Any] | None:
        try:
            return fast_path(facts, self.engine.model)
        except FhirPathError:
            raise
        except Exception:  # input no fast path foresaw (a non-text key...): the general evaluation decides
            return None

    def evaluate_general(
        self,
        focus: Any,
        *,
        resource: Mapping[str, Any] | None = None,
        root_resource: Mapping[str, Any] | None = None,
        focus_type: str | None = None,
        scope: Any = None,
    ) -> list[Any]:
        """Like evaluate(), always through fhirpathpy (the reference the fast paths are tested against)."""
        return self._evaluate_general(_facts(focus, resource, root_resource, focus_type), scope)

    def is_satisfied(
        self,
        focus: Any,
        *,
        resource: Mapping[str, Any] | None = None,
        root_resource: Mapping[str, Any] | None = None,
        focus_type: str | None = None,
        scope: Any = None,
    ) -> bool:
        """Does the invariant hold? As the HL7 validator decides (see docs/fhirpath.md):

        a single boolean is the answer; an empty result is a failure; any other
        non-empty result is a pass.
        """
        result = self.evaluate(
            focus, resource=resource, root_resource=root_resource, focus_type=focus_type, scope=scope
        )
        return result_is_true(result)

    def holds(
        self,
        focus: Any,
        resource: Mapping[str, Any] | None,
        root_resource: Mapping[str, Any] | None,
        focus_type: str | None,
    ) -> bool:
        """`is_satisfied` in one step, for the validator's hot loop: the fast path's answer read directly."""
        facts = _facts(focus, resource, root_resource, focus_type)
        fast_path = self.fast_path
        if fast_path is not None:
            try:
                result = fast_path(facts, self.engine._model)  # the attribute: a property call costs here
            except FhirPathError:
                raise
            except Exception:  # as in _try_fast_path: the general evaluation decides
                result = None
            if result is not None:
                if len(result) == 1 and type(result[0]) is bool:
                    return result[0]
                return result_is_true(result)
        return result_is_true(self._evaluate_general(facts, None))

    def _evaluate_general(self, facts: FocusFacts, scope: Any) -> list[Any]:
        tree = self.tree
        node = _fhirpathpy.make_node(facts.value, facts.focus_type, facts.element)
        variables = _Variables(_CODE_SYSTEMS)
        variables["resource"] = _resource_node(facts.resource)
        variables["rootResource"] = _resource_node(facts.root_resource)
        variables["context"] = [node]
        environment = Environment(
            model=self.engine.model,
            hooks=self.engine.hooks,
            scope=ResolveScope(facts.resource, facts.root_resource, scope),
            regex_timeout=self.engine.regex_timeout,
        )
        ctx = {
            "dataRoot": [node],
            "vars": variables,
            "model": self.engine.model.raw,
            "userInvocationTable": FUNCTIONS,
            ENVIRONMENT_KEY: environment,
        }
        if self.uses_clock:
            _fhirpathpy.reset_clock()
        try:
            result = _fhirpathpy.evaluate_tree(ctx, [node], tree)
        except FhirPathError:
            raise
        except RecursionError:
            raise FhirPathError(f"evaluating {self._short_text()} nested too deeply") from None
        except Exception as exc:  # fhirpathpy signals type errors with bare Exceptions
            raise FhirPathError(f"evaluating {self._short_text()} failed: {_one_line(exc)}") from None
        return [_public_value(item) for item in result]

    def _short_text(self) -> str:
        text = self.effective_text
        return repr(text if len(text) <= 60 else text[:57] + "...")


def result_is_true(result: list[Any]) -> bool:
    """The HL7 validator's reading of an invariant result (see CompiledExpression.is_satisfied)."""
    if len(result) == 1 and isinstance(result[0], bool):
        return result[0]
    return bool(result)


def _facts(
    focus: Any,
    resource: Mapping[str, Any] | None,
    root_resource: Mapping[str, Any] | None,
    focus_type: str | None,
) -> FocusFacts:
    focus_class = type(focus)
    if focus_class is Primitive:
        value, element = focus.value, focus.element
    else:
        value, element = focus, None
        if (
            resource is None
            and (focus_class is dict or isinstance(focus, Mapping))
            and "resourceType" in focus
        ):
            resource = focus
    return FocusFacts(
        value=value,
        element=element,
        focus_type=focus_type,
        resource=resource,
        root_resource=root_resource if root_resource is not None else resource,
    )


def _resource_node(resource: Mapping[str, Any] | None) -> Any:
    return None if resource is None else to_node(resource)


def _public_value(item: Any) -> Any:
    if isinstance(item, _fhirpathpy.FP_Type):
        return to_text(item)
    return from_node(item)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
