"""Extensions: definition by URL, unknown-extension policy, value and cardinality, context of use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef
from conformance.fhirversion import FhirVersion
from conformance.validation.canonical_resources import (
    ABSTRACT_CANONICAL_TYPES,
    CANONICAL_RESOURCE_TYPES,
    abstract_names,
)

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Frame, Walker

EXTENSION_TYPE = TypeRef("Extension")
ANYWHERE = frozenset({"Element", "*"})
RESOURCE_CONTEXTS = frozenset({"Resource", "DomainResource"})


def _holder(loc: Loc | None, frame: Frame) -> list[Any]:
    """The element that carries the extension and the one above it, found inside the current resource."""
    if loc is None:
        return []
    inside = loc.json_path[len(frame.resource_loc.json_path) :]
    chain: list[Any] = [frame.resource]
    for step in inside:
        try:
            chain.append(chain[-1][step])
        except (KeyError, IndexError, TypeError):
            return []
    objects = [node for node in chain if isinstance(node, dict)]
    return objects[::-1][:2]


def _selected_by(walker: Walker, expression: str, holder: Any, frame: Frame) -> bool:
    """A fhirpath context allows the extension on exactly the elements the expression selects."""
    engine = walker.engine.invariants.fhirpath
    if engine is None or holder is None:
        return True  # cannot evaluate: do not guess an error
    try:
        selected = engine.compile(expression).evaluate(
            frame.resource, resource=frame.resource, root_resource=frame.root, focus_type=None
        )
    except Exception:  # an expression we cannot evaluate must not become a false error
        return True
    return any(item is holder for item in selected)


DEFINITION_VALUES = tuple(
    f"ElementDefinition.{name}"
    for name in ("example", "fixed", "pattern", "defaultValue", "minValue", "maxValue")
)


def _inside_definition_value(loc: Loc) -> bool:
    """Values a profile shows or fixes are data about other elements: their extensions keep those contexts."""
    current: Loc | None = loc.parent
    while current is not None:
        path = current.base_path or current.rule_path or ""
        if path.startswith(DEFINITION_VALUES):
            return True
        current = current.parent
    return False


def _is_example_url(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    return host == "example.org" or host.endswith(".example.org")


def _is_resource_loc(loc: Loc) -> bool:
    return loc.rule_path is not None and loc.rule_path == loc.type_code and "." not in loc.rule_path


def _place(loc: Loc) -> tuple[tuple[str | int | None, ...], ...]:
    """Everything a walk below `loc` can read of the locations above it, step by step."""
    steps = []
    current: Loc | None = loc
    while current is not None:
        steps.append(
            (
                current.name,
                current.index,
                current.json_key,
                current.rule_path,
                current.base_path,
                current.type_code,
            )
        )
        current = current.parent
    return tuple(steps)


def _resource_relative_path(loc: Loc) -> str:
    """`Patient.address.line` for an element of a Patient, even inside a Bundle or as a contained resource."""
    names: list[str] = []
    current: Loc | None = loc
    while current is not None:
        if _is_resource_loc(current):
            names.append(current.type_code or current.name)
            break
        names.append(current.name)
        current = current.parent
    return ".".join(reversed(names))


NAMED_KINDS_EXCLUDED = frozenset({"extension", "fhirpath"})


@dataclass(frozen=True)
class _ContextsOfUse:
    """What an extension definition's contexts of use say before any payload is seen."""

    anywhere: bool
    """An `Element` (or `*`) context: the extension is allowed on every element."""
    names: frozenset[str]
    """Every name an element context allows (`Patient`, `Patient.contact`); R5's abstract canonical names
    (`CanonicalResource.url`) spelt out as this version's canonical resource types (`ValueSet.url`)."""

    @classmethod
    def of(cls, definition: Plan, fhir_version: FhirVersion) -> _ContextsOfUse:
        named = [
            str(context.get("expression", ""))
            for context in definition.context
            if context.get("type") not in NAMED_KINDS_EXCLUDED
        ]
        names = {name for name in named if name}  # an empty name is never a candidate
        for name in list(names):
            names |= _concrete_names(name, fhir_version)
        return cls(anywhere=any(name in ANYWHERE for name in named), names=frozenset(names))

    def allow_by_name(self, rule: ElementRule, holder: Loc) -> bool:
        """Do the names the carrying element has without a walk up the location (all but the path from
        the resource, see `ExtensionChecks._candidates`) meet an element context?"""
        names = self.names
        if (
            holder.rule_path in names
            or holder.base_path in names
            or holder.type_code in names
            or rule.path.rsplit(".", 1)[0] in names
        ):
            return True
        return _is_resource_loc(holder) and not names.isdisjoint(RESOURCE_CONTEXTS)


def _concrete_names(name: str, fhir_version: FhirVersion) -> set[str]:
    """The names whose `abstract_names` hold `name`: `CanonicalResource.url` is `ValueSet.url`, ..."""
    root, dot, rest = name.partition(".")
    if root not in ABSTRACT_CANONICAL_TYPES:
        return set()
    return {kind + dot + rest for kind in CANONICAL_RESOURCE_TYPES.get(fhir_version, frozenset())}


def named_by_url(value: Mapping[str, Any]) -> bool:
    """Does the extension name a definition of its own by an absolute url (rather than miss its url, or
    name a slice of its parent's definition as a sub-extension)? The case `ExtensionChecks.check` checks
    against the definition."""
    url = value.get("url")
    return isinstance(url, str) and ":" in url


class ExtensionChecks:
    def __init__(self) -> None:
        # id(definition) -> (definition, its contexts of use): the definition is held, so the id stays its.
        self._contexts: dict[int, tuple[Plan, _ContextsOfUse]] = {}

    def _contexts_of(self, definition: Plan, fhir_version: FhirVersion) -> _ContextsOfUse:
        known = self._contexts.get(id(definition))
        if known is None or known[0] is not definition:
            contexts = _ContextsOfUse.of(definition, fhir_version)
            known = self._contexts[id(definition)] = (definition, contexts)
        return known[1]

    def check(
        self, walker: Walker, value: dict[str, Any], rule: ElementRule, loc: Loc, plan: Plan, frame: Frame
    ) -> None:
        url = value.get("url")
        if not isinstance(url, str) or not url:
            walker.report.error(
                "structure",
                "extension.url-missing",
                "Extension.url is required in order to identify, use and validate the extension",
                loc,
            )
            self._as_plain_extension(walker, value, loc, frame)
            return
        if ":" not in url:
            # A sub-extension of a complex extension: its url names a slice of the parent's definition,
            # which the slicing of the parent already matched; here only its own element rules apply.
            as_extension = rule.types[0] if rule.types else EXTENSION_TYPE
            walker.element_object(value, rule, as_extension, loc, plan, frame)
            walker.engine.invariants.check(walker, rule, as_extension, value, loc, plan, frame)
            return
        definition = walker.definitions.plan(url)
        if definition is None:
            self._unknown(walker, url, rule, loc)
            self._as_plain_extension(walker, value, loc, frame)
            return
        self._check_context(walker, definition, url, rule, loc, frame)
        self._check_context_invariants(walker, definition, url, loc, frame)
        # The base walk and each profile walk meet the same extension: its definition's rules give the
        # same issues at the same place each time, so they are checked once per report and place (a caller
        # may put one dict at two places).
        if walker.report.first_time(("extension", id(value), id(definition), loc.text)):
            walker.element_object(value, definition.root, None, loc, definition, frame)
            walker.engine.invariants.check(walker, definition.root, None, value, loc, definition, frame)

    @staticmethod
    def _as_plain_extension(walker: Walker, value: dict[str, Any], loc: Loc, frame: Frame) -> None:
        """Without a usable definition, the extension is still held to the base Extension rules."""
        generic = walker.definitions.type_plan("Extension")
        if generic is None:
            return
        # The profile walks and the base walk all meet the extension. That walk reads nothing but the value
        # and the place (its steps and what the walk learnt at each: the inputs of nested extensions'
        # context checks), so its issues would only repeat: done once per report, value and place.
        if walker.report.first_time(("plain-extension", id(value), _place(loc))):
            walker.element_object(value, generic.root, None, loc, generic, frame)
            walker.engine.invariants.check(walker, generic.root, None, value, loc, generic, frame)

    @staticmethod
    def _unknown(walker: Walker, url: str, rule: ElementRule, loc: Loc) -> None:
        if _is_example_url(url):
            return  # example.org URLs are placeholders by convention: there is nothing to resolve
        is_modifier = rule.name == "modifierExtension"
        # Said here, where it matters, rather than on every run: the package that defines it is missing.
        note = walker.engine.context.missing_definition_note(url)
        why = f"; {note}" if note else ""
        if is_modifier or walker.engine.options.unknown_extensions == "error":
            walker.report.error(
                "structure",
                "extension.unknown-not-allowed",
                f"The extension {url} could not be found so is not allowed here{why}",
                loc,
            )
        else:
            walker.report.warning(
                "structure",
                "extension.unknown",
                f"Unknown extension {url}: it could not be found in the loaded packages, "
                f"so its content is not checked{why}",
                loc,
            )

    def _check_context(
        self, walker: Walker, definition: Plan, url: str, rule: ElementRule, loc: Loc, frame: Frame
    ) -> None:
        if not definition.context:
            return
        # Met at every element that carries the extension, in every walk: the contexts that need only the
        # definition and the element's own names answer first. Every context test is free of side
        # effects, so the order in which they are tried does not change the verdict.
        fhir_version = walker.definitions.fhir_version
        contexts = self._contexts_of(definition, fhir_version)
        if contexts.anywhere or (loc.parent is not None and contexts.allow_by_name(rule, loc.parent)):
            return
        if _inside_definition_value(loc):
            return
        candidates = self._candidates(rule, loc, fhir_version)
        holder = _holder(loc.parent, frame)
        for context in definition.context:
            if self._allows(walker, context, candidates, holder, frame):
                return
        allowed = ", ".join(str(c.get("expression")) for c in definition.context)
        walker.report.error(
            "structure",
            "extension.context",
            f"The extension {url} is not allowed to be used at this point "
            f"(this element is [{', '.join(sorted(candidates))}]; allowed = {allowed})",
            loc,
            profile=definition.canonical,
            dedupe=("context", url),
        )

    @staticmethod
    def _check_context_invariants(walker: Walker, definition: Plan, url: str, loc: Loc, frame: Frame) -> None:
        if not definition.context_invariants:
            return  # the common case, told before the holder is looked up
        holder = _holder(loc.parent, frame)
        engine = walker.engine.invariants.fhirpath
        if not holder or engine is None:
            return
        focus_type = loc.parent.type_code if loc.parent is not None else None
        for expression in definition.context_invariants:
            try:
                satisfied = engine.compile(expression).is_satisfied(
                    holder[0], resource=frame.resource, root_resource=frame.root, focus_type=focus_type
                )
            except Exception as exc:  # an expression we cannot evaluate is reported, not guessed
                walker.report.info(
                    "informational",
                    "extension.context-invariant.not-checked",
                    f"The context invariant '{expression}' of {url} was not checked: {exc}",
                    loc,
                )
                continue
            if not satisfied:
                walker.report.error(
                    "structure",
                    "extension.context-invariant",
                    f"The extension {url} is not allowed to be used at this point "
                    f"(based on context invariant '{expression}')",
                    loc,
                    profile=definition.canonical,
                )

    @staticmethod
    def _candidates(rule: ElementRule, loc: Loc, fhir_version: FhirVersion) -> set[str]:
        """The names the element carrying the extension goes by: instance path, definition path, type."""
        holder = loc.parent
        if holder is None:
            return set()
        candidates = {_resource_relative_path(holder), holder.rule_path, holder.base_path, holder.type_code}
        if _is_resource_loc(holder):
            candidates |= RESOURCE_CONTEXTS
        rule_parent = rule.path.rsplit(".", 1)[0]
        candidates.add(rule_parent)
        # R5's CanonicalResource (a context in the extensions pack) stands for this version's canonical types
        found = {c for c in candidates if c}
        for name in list(found):
            found |= abstract_names(name, fhir_version)
        return found

    @staticmethod
    def _allows(walker: Walker, context: Any, candidates: set[str], holder: Any, frame: Frame) -> bool:
        kind = context.get("type")
        expression = str(context.get("expression", ""))
        if kind == "extension":
            # On the extension itself or on its value: both are "in" that extension.
            return any(isinstance(node, dict) and node.get("url") == expression for node in holder)
        if kind == "fhirpath":
            return _selected_by(walker, expression, holder[0] if holder else None, frame)
        if expression in ANYWHERE:
            return True
        return expression in candidates
