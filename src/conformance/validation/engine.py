"""The validator: parse a payload, walk it against its Plans, return an Outcome.

`Validator` is the public face; `Engine` holds what every walk shares (the
definitions, the FHIRPath engine, the check families) and answers the
questions the walk asks about the payload as a whole (reference resolution,
the Bundle it sits in).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance import instance
from conformance.definitions.plan import ElementRule, Plan, TypeRef
from conformance.definitions.profiles import Definitions
from conformance.definitions.typemodel import TypeModel
from conformance.errors import UsageError
from conformance.fhirpath import FhirPathEngine, Hooks
from conformance.fhirversion import FhirVersion
from conformance.instance import Parsed
from conformance.models import FhirModel, payload_of
from conformance.outcome import Issue, Outcome
from conformance.terminology import LocalTerminology
from conformance.validation import measure, primitives
from conformance.validation.bindings import BindingChecks
from conformance.validation.bundles import BundleChecks
from conformance.validation.childtable import ChildTable, ChildTables
from conformance.validation.coverage import Coverage
from conformance.validation.definitional import DefinitionalChecks
from conformance.validation.element_ids import duplicate_ids
from conformance.validation.extensions import ExtensionChecks
from conformance.validation.invariants import InvariantChecks
from conformance.validation.narrative import NarrativeChecks
from conformance.validation.programs import program_for
from conformance.validation.ranges import RangeChecks
from conformance.validation.references import ReferenceChecks, reference_type
from conformance.validation.report import Loc, Reporter
from conformance.validation.slicing import SlicingChecks
from conformance.validation.valuesteps import ValueStepsMemo
from conformance.validation.versionrules import rules_for
from conformance.validation.walker import Frame, Walker

# Distinct (type, text) answers kept by Engine.string_problem: a few MB at most, whatever the payloads.
_STRING_MEMO_LIMIT = 50_000
# Longer texts (narrative, notes) rarely recur; keeping one costs its hash and memory: checked each time.
_STRING_MEMO_LENGTH = 256
_RESTFUL_BASE = re.compile(r"(https?://.+/)[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")

Source = bytes | str | os.PathLike[str] | Mapping[str, Any] | Parsed
# What Walker.children_of worked out: the rule, type and plan asked about, then the child rules, their plan,
# and the rules' table.
ChildrenAnswer = tuple[ElementRule, TypeRef | None, Plan, tuple[list[ElementRule], Plan], ChildTable]


@dataclass(frozen=True)
class Scope:
    """What references inside one resource can resolve to."""

    contained: Mapping[str, Mapping[str, Any]]
    bundle_entries: Mapping[str, Mapping[str, Any]]
    bundle_type: str | None
    parent: Scope | None
    full_url: str | None = None
    by_type_and_id: Mapping[str, Mapping[str, Any]] | None = None

    @property
    def strict(self) -> bool:
        """Documents and messages carry what they reference: resolution is by fullUrl only."""
        return self.bundle_type in ("document", "message")


def _contained_index(resource: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    contained = resource.get("contained")
    index: dict[str, Mapping[str, Any]] = {}
    if isinstance(contained, list):
        for item in contained:
            if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                index.setdefault(item["id"], item)
    return index


def _bundle_entries(bundle: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)]


def _bundle_index(bundle: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    index: dict[str, Mapping[str, Any]] = {}
    for entry in _bundle_entries(bundle):
        if isinstance(entry.get("fullUrl"), str):
            index.setdefault(entry["fullUrl"], entry["resource"])
    return index


def _type_and_id_index(bundle: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    index: dict[str, Mapping[str, Any]] = {}
    for entry in _bundle_entries(bundle):
        resource = entry["resource"]
        if isinstance(resource.get("resourceType"), str) and isinstance(resource.get("id"), str):
            index.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)
    return index


class _LazyTypeAndIdIndex(Mapping[str, Mapping[str, Any]]):
    """A Bundle's entries by `Type/id`, built when a reference first needs it.

    Most Bundles (a bulk collection of Patients, say) hold no relative reference at all, and the index of a
    200,000-entry Bundle is tens of MB.
    """

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self._bundle = bundle
        self._index: dict[str, Mapping[str, Any]] | None = None

    def _built(self) -> dict[str, Mapping[str, Any]]:
        if self._index is None:
            self._index = _type_and_id_index(self._bundle)
        return self._index

    def __getitem__(self, key: str) -> Mapping[str, Any]:
        return self._built()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def _contained_in_entries(bundle: Mapping[str, Any], wanted: str) -> Mapping[str, Any] | None:
    for entry in _bundle_entries(bundle):
        found = _contained_index(entry["resource"]).get(wanted)
        if found is not None:
            return found
    return None


def _entry_full_url(loc: Loc, frame: Frame | None) -> str | None:
    """The fullUrl of the Bundle entry a resource sits in, if it sits in one."""
    if frame is None or loc.name != "resource" or loc.parent is None or loc.parent.index is None:
        return None
    entries = frame.resource.get("entry")
    if frame.resource.get("resourceType") != "Bundle" or not isinstance(entries, list):
        return None
    entry = entries[loc.parent.index] if loc.parent.index < len(entries) else None
    full_url = entry.get("fullUrl") if isinstance(entry, Mapping) else None
    return full_url if isinstance(full_url, str) else None


def _global_profiles(context: Any) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for guide in context.resources("ImplementationGuide"):
        for entry in guide.get("global", ()) or ():
            if (
                isinstance(entry, Mapping)
                and isinstance(entry.get("type"), str)
                and isinstance(entry.get("profile"), str)
            ):
                found.setdefault(entry["type"], []).append(entry["profile"])
    return {key: tuple(value) for key, value in found.items()}


def _fhirpath_engine(version: FhirVersion, engine: Engine) -> FhirPathEngine:
    hooks = Hooks(resolve=engine.resolve_for_fhirpath, member_of=engine.bindings_member_of, conforms_to=None)
    return FhirPathEngine(version, hooks)


@dataclass(frozen=True)
class ValidationOptions:
    """Choices a user may make where the reference validator has a default.

    `unknown_extensions`: "error" (the HL7 validator's default: an extension with no definition is not
    allowed, except placeholder example.org URLs) or "warning" (report it, check nothing of its content).
    `implied_profiles`: also validate an R4 Observation with a vital sign code against the vital signs
    profile the specification requires of it (the HL7 validator's default).
    `assume_valid_rest_references`: also check the type a reference that cannot be resolved names
    (`Practitioner/x` where only Patient is allowed). On by default: the FHIR specification requires a
    reference's target to be of an allowed type, and a literal reference states its type. The HL7
    validator checks it only with -assumeValidRestReferences; set False to follow its default.
    """

    unknown_extensions: str = "error"
    # The vital signs profiles FHIR R4 requires of Observations by code, applied as the HL7 validator does.
    implied_profiles: bool = True
    assume_valid_rest_references: bool = True

    def __post_init__(self) -> None:
        if self.unknown_extensions not in ("error", "warning"):
            raise UsageError(
                f"unknown_extensions must be 'error' or 'warning', not {self.unknown_extensions!r}"
            )


class _WithProfileContents:
    """The context, plus the resources profiles contain, for terminology to resolve `#id` bindings."""

    def __init__(self, context: Any, definitions: Definitions) -> None:
        self.context = context
        self.definitions = definitions
        self.fhir_version = context.fhir_version

    def resolve(self, url: str, version: str | None = None) -> Mapping[str, Any] | None:
        contained = self.definitions.contained.get(url)
        if contained is not None:
            return contained
        found: Mapping[str, Any] | None = self.context.resolve(url, version)
        return found

    def resources(self, resource_type: str) -> Any:
        return self.context.resources(resource_type)


class Engine:
    def __init__(
        self, context: Any, *, terminology: Any = None, options: ValidationOptions | None = None
    ) -> None:
        self.context = context
        self.options = options or ValidationOptions()
        self.version_rules = rules_for(context.fhir_version)
        self.definitions = Definitions(context)
        self.bindings = BindingChecks(
            terminology
            if terminology is not None
            else LocalTerminology(_WithProfileContents(context, self.definitions), context.fhir_version)
        )
        self.invariants = InvariantChecks(_fhirpath_engine(context.fhir_version, self))
        self.slicing = SlicingChecks()
        self.extensions = ExtensionChecks()
        self.references = ReferenceChecks()
        self.ranges = RangeChecks()
        self.bundles = BundleChecks()
        self.narrative = NarrativeChecks()
        self.definitional = DefinitionalChecks()
        self.child_tables = ChildTables(functools.partial(program_for, self))
        self.value_steps = ValueStepsMemo()
        self.coverage = Coverage()
        # Walker.children_of's answers: (rule, type, plan) identities -> those objects and the answer.
        self.children_memo: dict[tuple[int, int, int], ChildrenAnswer] = {}
        # Per thread: `serve` validates in several threads sharing this Engine.
        self._local = threading.local()
        self._globals: dict[str, tuple[str, ...]] | None = None
        self._regexes: dict[str, str | None] = {}
        self.string_problem_memo: dict[tuple[str, str], primitives.Problem | None] = {}
        self._resource_types: dict[str, bool] = {}

    # ---- what the walk asks about the payload

    def primitive_regex(self, type_code: str) -> str | None:
        """The lexical regex a primitive type's definition gives its value."""
        if type_code not in self._regexes:
            type_plan = self.definitions.type_plan(type_code)
            value_rule = type_plan.root.child("value") if type_plan else None
            self._regexes[type_code] = value_rule.regex if value_rule is not None else None
        return self._regexes[type_code]

    def is_resource_type(self, code: str) -> bool:
        """Does the type name a resource (`Patient`), rather than a datatype? Asked for every object."""
        known = self._resource_types.get(code)
        if known is None:
            plan = self.definitions.type_plan(code) if code[:1].isupper() else None
            known = plan is not None and plan.kind == "resource"
            if len(self._resource_types) >= _STRING_MEMO_LIMIT:
                self._resource_types.clear()  # codes can come from payloads (reference types): kept bounded
            self._resource_types[code] = known
        return known

    def string_problem(self, type_code: str, value: str) -> primitives.Problem | None:
        """What is wrong with a string as a value of a primitive type (JSON type, lexical form, regex).

        Depends on the type and the text only, and the same codes, systems and dates recur throughout a
        payload and across payloads: the answers are kept, up to a bound.
        """
        if len(value) > _STRING_MEMO_LENGTH:
            return self.value_problem(type_code, value)
        key = (type_code, value)
        memo = self.string_problem_memo
        # One lookup, not `in` then `[]`: another thread (serve) may clear the memo in between.
        try:
            return memo[key]
        except KeyError:
            pass
        problem = self.value_problem(type_code, value)
        if len(memo) >= _STRING_MEMO_LIMIT:
            memo.clear()
        memo[key] = problem
        return problem

    def value_problem(self, type_code: str, value: Any) -> primitives.Problem | None:
        """What is wrong with a JSON string, number or boolean as a value of a primitive type, by the type's
        own rules (JSON type, lexical form, the type's regex); an element's own regex is not among them."""
        problem = primitives.json_type_problem(type_code, value)
        if problem is None:
            problem = primitives.lexical_problem(type_code, value)
        if problem is None:
            type_regex = self.primitive_regex(type_code)
            problem = primitives.type_regex_problem(type_regex, value, type_code) if type_regex else None
        return problem

    def global_profiles(self, resource_type: str) -> tuple[str, ...]:
        """Profiles that loaded ImplementationGuides declare for every resource of a type."""
        if self._globals is None:
            self._globals = _global_profiles(self.context)
        return self._globals.get(resource_type, ())

    def scope_for(self, resource: Mapping[str, Any], loc: Loc, frame: Frame | None) -> Scope:
        parent: Scope | None = frame.scope if frame is not None else None
        is_bundle = resource.get("resourceType") == "Bundle"
        return Scope(
            contained=_contained_index(resource),
            bundle_entries=_bundle_index(resource) if is_bundle else {},
            bundle_type=resource.get("type") if is_bundle and isinstance(resource.get("type"), str) else None,
            parent=parent,
            full_url=_entry_full_url(loc, frame),
            by_type_and_id=_LazyTypeAndIdIndex(resource) if is_bundle else None,
        )

    def bundle_type(self, frame: Frame) -> str | None:
        scope: Scope | None = frame.scope
        while scope is not None:
            if scope.bundle_type is not None:
                return scope.bundle_type
            scope = scope.parent
        return None

    def resolve_reference(self, reference: Mapping[str, Any], frame: Frame) -> Mapping[str, Any] | None:
        literal = reference.get("reference")
        if not isinstance(literal, str):
            return None
        return self.resolve_literal(literal, frame)

    def resolve_literal(self, literal: str, frame: Frame) -> Mapping[str, Any] | None:
        scope: Scope | None = frame.scope
        if literal.startswith("#"):
            if literal == "#":
                return frame.root  # `#` alone is the container of a contained resource
            while scope is not None:
                found = scope.contained.get(literal[1:])
                if found is not None:
                    return found
                scope = scope.parent
            return None
        literal = literal.split("/_history/", maxsplit=1)[0]
        full_url: str | None = None
        while scope is not None:
            full_url = full_url or scope.full_url
            if scope.by_type_and_id is not None:
                found = self._in_bundle(scope, literal, full_url)
                if found is not None:
                    return found
            scope = scope.parent
        return None

    @staticmethod
    def _in_bundle(scope: Scope, literal: str, full_url: str | None) -> Mapping[str, Any] | None:
        if reference_type(literal) is None or "://" in literal:
            return scope.bundle_entries.get(literal)
        base = _RESTFUL_BASE.fullmatch(full_url) if full_url else None
        if base is not None:
            found = scope.bundle_entries.get(base.group(1) + literal)
            if found is not None or scope.strict:
                return found
        if scope.strict:
            return None
        return (scope.by_type_and_id or {}).get(literal)

    def evaluating_in(self, frame: Frame) -> None:
        """FHIRPath's resolve() needs the resource being walked; it is set before each evaluation."""
        self._local.frame = frame

    @property
    def _current(self) -> Frame | None:
        frame: Frame | None = getattr(self._local, "frame", None)
        return frame

    @property
    def _conforming(self) -> set[tuple[int, str]]:
        """The (value, profile) trial walks under way in this thread (deciding conformance)."""
        under_way: set[tuple[int, str]] | None = getattr(self._local, "conforming", None)
        if under_way is None:
            under_way = self._local.conforming = set()
        return under_way

    def same_id_in_bundle(self, reference: str, frame: Frame) -> Mapping[str, Any] | None:
        """The one Bundle entry whose fullUrl ends with the reference id (`urn:uuid:<id>`), of any type."""
        wanted = reference.split("/_history/", maxsplit=1)[0].rsplit("/", 1)[-1]
        scope: Scope | None = frame.scope
        while scope is not None:
            if scope.by_type_and_id is not None:
                endings = (":" + wanted, "/" + wanted)
                found = [r for url, r in scope.bundle_entries.items() if url.endswith(endings)]
                return found[0] if len(found) == 1 else None
            scope = scope.parent
        return None

    def looks_local(self, reference: str, frame: Frame) -> bool:
        """A relative reference whose server base is the base of this Bundle's own entries."""
        if reference_type(reference) is None or "://" in reference:
            return False
        scope: Scope | None = frame.scope
        while scope is not None:
            if any(_RESTFUL_BASE.fullmatch(full_url) for full_url in scope.bundle_entries):
                return True
            scope = scope.parent
        return False

    def resolve_for_fhirpath(self, literal: str, _scope: Any = None) -> Mapping[str, Any] | None:
        current = self._current
        if current is None:
            return None
        found = self.resolve_literal(literal, current)
        if found is None and literal.startswith("#") and current.resource.get("resourceType") == "Bundle":
            # An expression on a Bundle reaches into its entries: `#id` is local to the entry that holds it.
            found = _contained_in_entries(current.resource, literal[1:])
        return found

    def bindings_member_of(self, value: Any, value_set: str) -> bool | None:
        return self.bindings.member_of(value, value_set)

    @property
    def deciding_conformance(self) -> bool:
        """True inside conforms_to: a trial walk deciding whether a value conforms to a profile."""
        return bool(self._conforming)

    def conforms_to(self, value: Any, url: str, frame: Frame) -> bool:
        plan = self.definitions.plan(url)
        if plan is None or not isinstance(value, Mapping):
            return False
        key = (id(value), url)
        if key in self._conforming:
            return True  # references that lead back here: judged by the check already under way
        self._conforming.add(key)
        try:
            sandbox = Reporter()
            walker = Walker(self, sandbox)
            if plan.kind == "resource":
                root = Loc.root(str(value.get("resourceType", plan.type)))
                walker.resource(value, root, explicit_profiles=[url], frame=frame)
            else:
                walker.element_object(value, plan.root, None, Loc.root(plan.type), plan, frame)
            return not sandbox.has_errors
        finally:
            self._conforming.discard(key)

    def resource_rules(self, walker: Walker, resource: Mapping[str, Any], loc: Loc, frame: Frame) -> None:
        """Rules that belong to a resource as a whole rather than to one element."""
        self.bundles.check(walker, resource, loc, frame)
        self.definitional.check(walker, resource, loc, frame)
        self._questionnaire(walker, resource, loc, frame)
        for element_id, path in duplicate_ids(resource) if walker.ids_may_repeat else ():
            walker.report.error(
                "business-rule",
                "structure.duplicate-id",
                f"Duplicate id value '{element_id}'",
                _loc_at(loc, path),
            )
        if resource.get("resourceType") == "MeasureReport" and self.context.fhir_version is FhirVersion.R4:
            self._measure_report(walker, resource, loc, frame)

    def _measure_report(self, walker: Walker, report: Mapping[str, Any], loc: Loc, frame: Frame) -> None:
        reference = measure.measure_reference(report)
        found = self._find_measure(reference, frame) if reference else None
        for problem in measure.check_report(report, found, reference):
            walker.report.add(
                problem.severity,
                "business-rule",
                problem.message_id,
                problem.message,
                _loc_at(loc, problem.path),
            )

    def _find_measure(self, reference: str, frame: Frame) -> Mapping[str, Any] | None:
        found = (
            self.resolve_literal(reference, frame)
            if reference.startswith("#")
            else self.context.resolve(reference)
        )
        return found if isinstance(found, Mapping) and found.get("resourceType") == "Measure" else None

    def _questionnaire(self, walker: Walker, resource: Mapping[str, Any], loc: Loc, frame: Frame) -> None:
        if resource.get("resourceType") != "QuestionnaireResponse":
            return
        # Imported here: most runs meet no QuestionnaireResponse, and the command starts faster without it.
        from conformance.validation import questionnaire  # noqa: PLC0415

        reference = questionnaire.questionnaire_reference(resource)
        form = self._find_questionnaire(reference, frame) if reference else None
        findings = questionnaire.check_response(
            resource, form, fhir_version=self.context.fhir_version, lookup=_QuestionnaireLookup(self)
        )
        for finding in findings:
            walker.report.add(
                finding.severity,
                finding.code,
                finding.message_id,
                finding.message,
                _loc_at(loc, finding.path),
            )

    def _find_questionnaire(self, reference: str, frame: Frame) -> Mapping[str, Any] | None:
        if reference.startswith("#"):
            return self.resolve_literal(reference, frame)
        found = self.context.resolve(reference)
        return found if isinstance(found, Mapping) else self.resolve_literal(reference, frame)


class _QuestionnaireLookup:
    """What the QuestionnaireResponse checks need from the definitions and terminology."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def resolve(self, url: str) -> Mapping[str, Any] | None:
        found = self.engine.context.resolve(url)
        return found if isinstance(found, Mapping) else None

    def value_set_contains(self, url: str, system: str | None, code: str) -> bool | None:
        coding = {"system": system, "code": code} if system else {"code": code}
        return self.engine.bindings.member_of(coding, url)


def _loc_at(root: Loc, path: Sequence[str | int]) -> Loc:
    loc = root
    for step in path:
        loc = loc.at(step) if isinstance(step, int) else loc.child(step)
    return loc


class Validator:
    """Validates payloads against a Context's definitions. Build once, reuse for many payloads."""

    def __init__(
        self, context: Any, *, terminology: Any = None, options: ValidationOptions | None = None
    ) -> None:
        self.context = context
        self.engine = Engine(context, terminology=terminology, options=options)
        self.type_model = TypeModel(context)

    @property
    def fhir_version(self) -> FhirVersion:
        version: FhirVersion = self.context.fhir_version
        return version

    def validate(
        self, source: Source | FhirModel, *, profiles: Sequence[str] = (), format: str | None = None
    ) -> Outcome:
        source = payload_of(source, self.fhir_version)  # a fhir.resources model becomes its JSON form
        parsed = _parse(source, self, format)
        issues: list[Issue] = list(parsed.issues)
        resource = parsed.resource
        if resource is None:
            return Outcome.of(issues, profiles=profiles, source=_source_name(source))
        reporter = Reporter()
        walker = Walker(self.engine, reporter)
        walker.ids_may_repeat = parsed.ids_may_repeat  # the text may show there is nothing to scan for
        root_loc = Loc.root(str(resource.get("resourceType", "?")))
        walker.resource(resource, root_loc, explicit_profiles=tuple(profiles))
        issues.extend(reporter.positioned(parsed.position))
        return Outcome.of(issues, profiles=profiles, source=_source_name(source))


def _source_name(source: Source) -> str | None:
    if type(source) in (bytes, str, dict):  # most sources: told before the slower abstract PathLike test
        return None
    if isinstance(source, os.PathLike):
        return os.fspath(source)
    return None


def _parse(source: Source, validator: Validator, format: str | None) -> Parsed:
    if format is None:
        return instance.parse(source, model=validator.type_model)
    if format == "json":
        return instance.parse(source, format="json", model=validator.type_model)
    if format == "xml":
        return instance.parse(source, format="xml", model=validator.type_model)
    raise UsageError(f"unknown payload format {format!r} (json or xml)")
