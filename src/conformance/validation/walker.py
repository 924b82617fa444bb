"""The walk: one payload against compiled Plans, element by element.

The walker owns traversal only. What each rule means lives in the family
modules (primitives, fixedpattern, slicing, extensions, invariants,
references, bundles, bindings); the walker calls them at the right node.
Most child rules are visited through their programs (programs.py), which
hand whatever might be reported back to `child`, the interpreter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef
from conformance.fhirversion import FhirVersion
from conformance.validation import datatypes, fixedpattern, primitives
from conformance.validation.childtable import ChildTable
from conformance.validation.extensions import named_by_url
from conformance.validation.implied_profiles import implied_profile
from conformance.validation.programs import BACKBONE_ELEMENT, RESOURCE_ID, Program
from conformance.validation.report import Loc, Reporter

if TYPE_CHECKING:
    from conformance.validation.engine import ChildrenAnswer, Engine
    from conformance.validation.valuesteps import ValueSteps

# The one list of no child rules: tables of child rules are kept per list, so the list must be one object.
NO_CHILDREN: list[ElementRule] = []


def _system_typed(rule: ElementRule) -> bool:
    """R4 types Resource.id as a FHIRPath System.String, which cannot carry extensions; STU3 as `id`."""
    return any(
        str(entry.get("code", "")).startswith("http://hl7.org/fhirpath/System.")
        for entry in rule.raw.get("type", ()) or ()
        if isinstance(entry, Mapping)
    )


_NO_PROFILES: frozenset[str] = frozenset()


def _same_place(first: Loc | None, other: Loc | None) -> bool:
    """Do two locations name the same place in the payload? Up to where the walks share their Loc."""
    while first is not other:
        if first is None or other is None:
            return False
        if first.name != other.name or first.index != other.index or first.json_key != other.json_key:
            return False
        first, other = first.parent, other.parent
    return True


# How a walk of the current resource checked an element of an object (see `Walker._left_to_earlier`): which
# walk; where the object is; with what (rule, plan); and whether it was clean (nothing was offered to the
# report, and no extension was met, from the element down). A plain tuple: one is made per element.
_Checked = tuple[int, Loc, tuple[ElementRule, Plan], bool]


class Item:
    """One occurrence of an element: its value, its `_name` sibling for primitives, where it is.

    A plain class with slots, not a frozen dataclass: one is made for every value of every payload, and a
    frozen dataclass's constructor costs several times more. Treated as immutable all the same, but for
    `extension_checked`: the (report, rule path, rule name) of the extension check its value had, if any
    (see `Walker.complex`), which a retyped copy keeps.
    """

    __slots__ = ("extension_checked", "extra", "json_name", "loc", "type_ref", "value")

    def __init__(self, value: Any, extra: Any, loc: Loc, json_name: str, type_ref: TypeRef | None) -> None:
        self.value = value
        self.extra = extra
        self.loc = loc
        self.json_name = json_name
        self.type_ref = type_ref
        self.extension_checked: tuple[Reporter, str, str] | None = None

    def with_type(self, type_ref: TypeRef | None) -> Item:
        retyped = Item(self.value, self.extra, self.loc, self.json_name, type_ref)
        retyped.extension_checked = self.extension_checked
        return retyped

    def __repr__(self) -> str:
        return f"Item({self.loc.text}: {self.value!r})"


@dataclass(frozen=True)
class Frame:
    """What the walk knows about the resource it is inside."""

    resource: Mapping[str, Any]
    root: Mapping[str, Any]
    resource_loc: Loc
    scope: Any
    # (id of a focus inside the resource, expression, focus type) -> the verdict; None when walked once.
    verdicts: dict[tuple[int, str, str], bool] | None = field(default=None, compare=False, repr=False)
    # The resource's own invariants its walks checked at its root (see InvariantChecks.check_resource);
    # None when walked once.
    root_checks: set[tuple[Any, ...]] | None = field(default=None, compare=False, repr=False)


class Walker:
    def __init__(self, engine: Engine, reporter: Reporter) -> None:
        self.engine = engine
        self.definitions = engine.definitions
        self.report = reporter
        # (id(), location) of each resource walked -> the explicit profile sets it was walked with (the
        # payload is alive for the whole walk, so ids are stable).
        self._walked: dict[tuple[int, str], frozenset[str] | list[frozenset[str]]] = {}
        # The objects the walks of the current resource went through, in which of them and where first
        # (see `_walked_before`); None while a resource is walked once, as nothing is skipped then.
        self._objects: dict[tuple[Any, ...], tuple[int, Loc]] | None = None
        self._walk_number = 0
        self._value_steps = engine.value_steps.known  # read directly: asked for every value
        # The elements the walks of the current resource checked, by object and name: which walk, where,
        # with what (rule, plan), and whether that found nothing (see `_left_to_earlier`). None while a
        # resource is walked once.
        self._values: dict[tuple[Any, ...], _Checked] | None = None
        # The resource walked more than once whose own elements are recorded (see `_resource_child`).
        self._resource_walked: Any = None
        self._last_walk = 0
        self.extensions_met = 0  # extension values met so far: a part that met none is free of contexts
        self.ids_may_repeat = True  # whether the payload may hold duplicate element ids (see Parsed)
        # The Bundle indexes trial walks resolve references with, by id() of the entries (see references.py).
        # Held here, for the walk's life: a compiled Walker cannot be a weak reference's key.
        self.trial_indexes: dict[int, Any] = {}

    # ------------------------------------------------------------------ resources

    def resource(
        self, resource: Any, loc: Loc, *, explicit_profiles: Sequence[str] = (), frame: Frame | None = None
    ) -> None:
        if not isinstance(resource, dict):
            self.report.error("structure", "resource.not-object", "A resource must be a JSON object", loc)
            return
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str):
            self.report.error(
                "structure", "resource.type-missing", "Unable to find resourceType property", loc
            )
            return
        base = self.definitions.type_plan(resource_type)
        if base is None or base.kind != "resource":
            self.report.error(
                "structure", "resource.type-unknown", f"Unknown resource type '{resource_type}'", loc
            )
            return
        loc.rule_path = loc.type_code = resource_type
        if self._already_walked(resource, loc, explicit_profiles, frame):
            return
        profiles = self._profiles_for(resource, base, loc, explicit_profiles)[1:]
        inner = Frame(
            resource=resource,
            root=frame.root if frame is not None and loc.name == "contained" else resource,
            resource_loc=loc,
            scope=self.engine.scope_for(resource, loc, frame),
            # Walked more than once (profiles, then the base): the walks share their invariant verdicts.
            verdicts={} if profiles else None,
            root_checks=set() if profiles else None,
        )
        outer = self._objects, self._walk_number, self._values, self._last_walk, self._resource_walked
        self._objects = {} if profiles else None
        self._values = {} if profiles else None
        self._last_walk = len(profiles)
        self._resource_walked = resource if profiles else None
        try:
            for number, plan in enumerate((*profiles, base)):
                # A profile's snapshot should hold every rule of its base, but a generated or hand-made
                # one may not, and the profile walk does not reach everything the base walk does: the
                # base is always walked. As in the HL7 validator, an issue is repeated only when its
                # definition words it apart (a cardinality error names its profile); an invariant's is
                # the same whichever walk finds it.
                self._walk_number = number
                self._against(resource, plan, loc, inner)
        finally:
            # a nested resource's walks end inside ours
            self._objects, self._walk_number, self._values, self._last_walk, self._resource_walked = outer
        self.engine.resource_rules(self, resource, loc, inner)

    def _already_walked(
        self,
        resource: Mapping[str, Any],
        loc: Loc,
        explicit_profiles: Sequence[str],
        container: Frame | None,
    ) -> bool:
        """A resource nested in another is reached again by the container's base walk: walk it once.

        Every walk of a resource covers its base, its declared and global profiles, so a later walk
        adds something only when it names an explicit profile no earlier walk of it named. A container
        walked once (no profile) reaches each resource in it once: nothing is kept for those (a 200,000
        entry Bundle would keep an entry each). The place is part of the key: one dict a caller put at
        two places is walked at each.
        """
        if container is not None and container.verdicts is None:
            return False
        wanted = frozenset(explicit_profiles) if explicit_profiles else _NO_PROFILES  # one per entry adds up
        key = (id(resource), loc.text)
        walks = self._walked.get(key)
        if walks is None:
            self._walked[key] = wanted  # most resources are walked once: no list for them
            return False
        if isinstance(walks, frozenset):
            walks = self._walked[key] = [walks]
        if any(wanted <= done for done in walks):
            return True
        walks.append(wanted)
        return False

    def _against(self, resource: Mapping[str, Any], plan: Plan, loc: Loc, frame: Frame) -> None:
        self.element_object(resource, plan.root, None, loc, plan, frame, resource_root=True)
        self.engine.invariants.check_resource(self, plan.root, resource, loc, plan, frame)

    def _profiles_for(
        self, resource: Mapping[str, Any], base: Plan, loc: Loc, explicit: Sequence[str]
    ) -> list[Plan]:
        """The base definition, then every profile that applies (as the HL7 validator, both are walked)."""
        plans: list[Plan] = [base]
        wanted = (*explicit, *self.engine.global_profiles(base.type))
        for url, declared in self._profile_urls(resource, wanted):
            plan = self.definitions.plan(url)
            if plan is None:
                self._unresolved_profile(url, declared, loc)
            elif plan.type != base.type:
                self.report.error(
                    "invalid",
                    "profile.wrong-type",
                    f"The profile {url} is for {plan.type}, not {base.type}",
                    loc,
                    profile=url,
                )
            elif all(plan is not known for known in plans):  # by identity: Plans compare every field
                self._other_fhir_version(plan, loc)
                plans.append(plan)
        implied = self._implied_profile(resource, base, loc)
        if implied is not None and all(implied is not known for known in plans):
            plans.append(implied)
        return plans

    def _implied_profile(self, resource: Mapping[str, Any], base: Plan, loc: Loc) -> Plan | None:
        """The vital signs profile FHIR R4 requires of an Observation with a vital sign code."""
        if base.type != "Observation" or self.definitions.fhir_version is not FhirVersion.R4:
            return None
        if not self.engine.options.implied_profiles:
            return None
        implied = implied_profile(resource)
        if implied is None:
            return None
        self.report.info(
            "informational",
            "profile.implied",
            f"Validate Observation against the {implied.name} profile ({implied.url}) which is required by "
            f"the FHIR specification because the {implied.system_name} code {implied.code} was found",
            loc,
            profile=implied.url,
        )
        return self.definitions.plan(implied.url)

    def _other_fhir_version(self, plan: Plan, loc: Loc) -> None:
        """A profile written for another FHIR version is still validated against, as by the HL7 validator."""
        declared = plan.release
        if declared is None or declared is self.definitions.fhir_version:
            return
        self.report.warning(
            "business-rule",
            "profile.other-fhir-version",
            f"The profile {plan.canonical} is for FHIR version {plan.fhir_version}, not "
            f"{self.definitions.fhir_version.label}: it is validated against as it is",
            loc,
            profile=plan.canonical,
        )

    @staticmethod
    def _profile_urls(resource: Mapping[str, Any], explicit: Sequence[str]) -> Iterator[tuple[str, bool]]:
        for url in explicit:
            yield url, False
        meta = resource.get("meta")
        declared = meta.get("profile") if isinstance(meta, dict) else None
        if isinstance(declared, list):
            # A name of its own: a payload's value may be of any type, and a compiled build checks the
            # type of a value given to a variable (the `str` of `url` above).
            for value in declared:
                if isinstance(value, str) and value not in explicit:
                    yield value, True

    def _unresolved_profile(self, url: str, declared: bool, loc: Loc) -> None:
        if declared:
            self.report.warning(
                "not-found",
                "profile.unknown",
                f"Profile reference '{url}' has not been checked because it could not be found",
                loc.child("meta").child("profile"),
            )
        else:
            self.report.error("not-found", "profile.unknown", f"Unknown profile {url}", loc)

    # ------------------------------------------------------------------ complex elements

    def children_of(
        self, rule: ElementRule, type_ref: TypeRef | None, plan: Plan
    ) -> tuple[list[ElementRule], Plan]:
        """The child rules of an element: from the profile when it unfolds them, else from the type."""
        return self._children_answer(rule, type_ref, plan)[3]

    def _children_answer(self, rule: ElementRule, type_ref: TypeRef | None, plan: Plan) -> ChildrenAnswer:
        """Asked for every object of every payload, and fixed by its arguments: worked out once, with the
        table of the child rules (`element_object` reads the memo itself: this is its miss)."""
        memo = self.engine.children_memo
        key = (id(rule), id(type_ref), id(plan))
        known = memo.get(key)
        if known is None or known[0] is not rule or known[1] is not type_ref or known[2] is not plan:
            children = self._children_of(rule, type_ref, plan)
            known = (rule, type_ref, plan, children, self.engine.child_tables.of(children[0]))
            memo[key] = known
        return known

    def _children_of(
        self, rule: ElementRule, type_ref: TypeRef | None, plan: Plan
    ) -> tuple[list[ElementRule], Plan]:
        borrowed = self._profile_element(type_ref or (rule.types[0] if len(rule.types) == 1 else None))
        if borrowed is not None:
            return borrowed
        if rule.children:
            return rule.children, plan
        if rule.content_reference:
            target = plan.element(rule.content_reference.split("#", 1)[-1])
            if target is not None:
                return target.children, plan
        type_plan = self.type_plan(type_ref)
        if type_plan is None:
            return NO_CHILDREN, plan
        return type_plan.root.children, type_plan

    def _profile_element(self, type_ref: TypeRef | None) -> tuple[list[ElementRule], Plan] | None:
        """A type naming one element of another profile (a library of sections, say) takes its children."""
        if type_ref is None or type_ref.profile_element is None or not type_ref.profiles:
            return None
        library = self.definitions.plan(type_ref.profiles[0])
        element = library.element(type_ref.profile_element) if library is not None else None
        if library is None or element is None:
            return None
        return element.children, library

    def type_plan(self, type_ref: TypeRef | None) -> Plan | None:
        if type_ref is None:
            return None
        for profile in type_ref.profiles:
            plan = self.definitions.plan(profile)
            # A profile of another type (a Location profile on a Reference) cannot apply to this value.
            if plan is not None and type_ref.code != "Extension" and plan.type == type_ref.code:
                return plan
        return self.definitions.type_plan(type_ref.code)

    def element_object(
        self,
        obj: Mapping[str, Any],
        rule: ElementRule,
        type_ref: TypeRef | None,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        *,
        children: list[ElementRule] | None = None,
        resource_root: bool = False,
    ) -> None:
        if children is None:
            known = self.engine.children_memo.get((id(rule), id(type_ref), id(plan)))
            if known is None or known[0] is not rule or known[1] is not type_ref or known[2] is not plan:
                known = self._children_answer(rule, type_ref, plan)
            (children, plan), table = known[3], known[4]
        else:
            table = self.engine.child_tables.of(children)
        if self._objects is not None and self._walked_before(obj, children, plan, loc, resource_root):
            return
        visits = table.visits.get(tuple(obj))  # the table's answer for this key set, if kept
        visit, unknown = visits if visits is not None else table.to_visit(obj)
        claimed: set[str] = set()
        if obj is self._resource_walked:
            for child, program in visit:
                self._resource_child(obj, child, loc, plan, frame, table, claimed, program)
        else:
            for _, program in visit:
                program(self, obj, loc, plan, frame, table, claimed)
        if unknown:
            self._unknown_properties(unknown, table, claimed, loc, is_resource=resource_root)

    def _walked_before(
        self, obj: Mapping[str, Any], children: list[ElementRule], plan: Plan, loc: Loc, root: bool
    ) -> bool:
        """Did an earlier walk of this resource go through this object with these same child rules?

        Below the elements a profile unfolds, its walk and the base walk take their child rules from the
        same datatype definitions (a Patient profile that leaves `name` alone walks HumanName's rules, as
        the base walk does): the later walk would find exactly the issues the earlier one reported, and
        the report keeps one of each. So it is skipped. What the walk of an object depends on is in the
        key: the object, its child rules and their definition, and what its place tells its children
        (name, index, the element's path and type, read by extension contexts). Only an earlier walk
        counts: one walk may reach an object twice (a slice, then its entry), and walks both. A caller's
        dict may sit at two places, and the earlier walk may have gone through only one of them (a choice
        type the profile does not allow): the place must be the same too.
        """
        objects = self._objects
        assert objects is not None
        key = (
            id(obj), id(children), id(plan), loc.name, loc.json_key, loc.index,
            loc.rule_path, loc.base_path, loc.type_code, root,
        )  # fmt: skip
        seen = objects.get(key)
        if seen is None:
            if self._walk_number < self._last_walk:  # no walk after the last one reads what it went through
                objects[key] = (self._walk_number, loc)
            return False
        return seen[0] < self._walk_number and _same_place(seen[1], loc)

    def _disallowed_choice_types(
        self,
        obj: Mapping[str, Any],
        rule: ElementRule,
        loc: Loc,
        plan: Plan,
        table: ChildTable,
        claimed: set[str],
    ) -> int:
        """`valueString` where a profile allows only `valueQuantity`: a type error, not unknown."""
        base = rule.base_name
        found = 0
        for key in obj:
            if key in table or key in claimed or not key.startswith(base):
                continue
            if not key[len(base) : len(base) + 1].isupper():
                continue
            suffix = key[len(base) :]
            type_code = suffix if self.definitions.type_plan(suffix) else suffix[:1].lower() + suffix[1:]
            if self.definitions.type_plan(type_code) is None:
                continue
            claimed.add(key)
            found += 1
            allowed = ", ".join(t.code for t in rule.types)
            self.report.error(
                "structure",
                "type.choice.not-allowed",
                f"The profile {plan.canonical} definition allows for the type {allowed} "
                f"but found type {type_code}",
                loc.child(base, json_key=key),
                profile=plan.canonical,
                element_id=rule.id,
            )
        return found

    def _unknown_properties(
        self, keys: Sequence[str], table: ChildTable, claimed: set[str], loc: Loc, *, is_resource: bool
    ) -> None:
        """Keys no child rule names (`to_visit` listed them), less those a choice element claimed."""
        for key in keys:
            if key in claimed or (is_resource and key == "resourceType"):
                continue
            if key.startswith("_") and (key[1:] in claimed or table.names(key[1:])):
                continue
            self.report.error(
                "structure",
                "structure.unknown-property",
                f"Unrecognized property '{key}'",
                loc.child(key),
            )

    # ------------------------------------------------------------------ one child element

    def child(
        self,
        obj: Mapping[str, Any],
        rule: ElementRule,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        table: ChildTable,
        claimed: set[str],
    ) -> None:
        keys = rule.json_keys
        if len(keys) == 1:  # every element but a choice of several types: one JSON name
            json_name, extra_name, type_ref = keys[0]
            items = (
                self._items(obj, json_name, extra_name, rule, type_ref, loc)
                if json_name in obj or extra_name in obj
                else []
            )
        else:
            items = self._choice_items(obj, keys, rule, loc)
        count = len(items)
        if rule.is_choice:
            count += self._disallowed_choice_types(obj, rule, loc, plan, table, claimed)
        if count < rule.min or (rule.max is not None and count > rule.max):
            self.cardinality(rule, items, loc, plan, present=count)
        for item in items:
            self.value(item, rule, plan, frame)
        if rule.slicing is not None or rule.slices:
            self.engine.slicing.check(self, rule, items, loc, plan, frame)

    def _resource_child(
        self,
        obj: Mapping[str, Any],
        rule: ElementRule,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        table: ChildTable,
        claimed: set[str],
        program: Program,
    ) -> None:
        """The rule's program (`child`, through it, for a rule with none), for an element of a resource walked
        more than once: an earlier walk may have done it.

        Only the resource's own elements are recorded: most of what a later walk can leave is there (below
        them, `_walked_before` leaves what the walks share), and recording every element cost more than it
        saved.
        """
        values = self._values
        assert values is not None
        key = (id(obj), rule.name)
        earlier = values.get(key)
        if earlier is not None and self._left_to_earlier(earlier, rule, plan, loc):
            return
        attempts, extensions = self.report.attempts, self.extensions_met
        program(self, obj, loc, plan, frame, table, claimed)
        if earlier is None and self._walk_number < self._last_walk:
            clean = attempts == self.report.attempts and extensions == self.extensions_met
            values[key] = (self._walk_number, loc, (rule, plan), clean)

    def _choice_items(
        self,
        obj: Mapping[str, Any],
        keys: tuple[tuple[str, str, TypeRef | None], ...],
        rule: ElementRule,
        loc: Loc,
    ) -> list[Item]:
        """The values of a choice element under each of its JSON names; only one name may be used."""
        items: list[Item] = []
        present_names: list[str] = []
        for json_name, extra_name, type_ref in keys:
            if json_name in obj or extra_name in obj:
                present_names.append(json_name)
                items.extend(self._items(obj, json_name, extra_name, rule, type_ref, loc))
        if len(present_names) > 1:
            self.report.error(
                "structure",
                "type.choice.multiple",
                f"Only one of {', '.join(present_names)} may be present ({rule.path})",
                loc.child(present_names[1]),
            )
        return items

    def _items(
        self,
        obj: Mapping[str, Any],
        name: str,
        extra_name: str,
        rule: ElementRule,
        type_ref: TypeRef | None,
        loc: Loc,
    ) -> list[Item]:
        value = obj.get(name)
        extra = obj.get(extra_name)
        # a choice's values are located by its base name
        base_loc = Loc(loc, rule.base_name, None, name, rule.path, rule.base_path)
        if isinstance(value, list) or isinstance(extra, list):
            if not rule.repeats:
                self.report.error(
                    "structure",
                    "structure.array-not-allowed",
                    f"The property {name} must be a single value, not an array",
                    base_loc,
                )
            return self._array_items(name, value, extra, base_loc, type_ref)
        if rule.repeats:
            self.report.error(
                "structure",
                "structure.array-expected",
                f"The property {name} must be a JSON Array, not a single value",
                base_loc,
            )
        return [Item(value, extra, base_loc, name, type_ref)]

    def _array_items(
        self, name: str, value: Any, extra: Any, loc: Loc, type_ref: TypeRef | None
    ) -> list[Item]:
        if extra is None and type(value) is list and value:  # the common case, made directly
            return [Item(one, None, loc.at(i), name, type_ref) for i, one in enumerate(value)]
        values = value if isinstance(value, list) else ([] if value is None else [value])
        extras = extra if isinstance(extra, list) else ([] if extra is None else [extra])
        if (value is not None and not values) or (extra is not None and not extras):
            self.report.error(
                "structure",
                "structure.empty-array",
                "Array cannot be empty - the property should not be present if it has no values",
                loc,
            )
        count = max(len(values), len(extras))
        return [
            Item(
                values[i] if i < len(values) else None,
                extras[i] if i < len(extras) else None,
                loc.at(i),
                name,
                type_ref,
            )
            for i in range(count)
        ]

    def cardinality(
        self, rule: ElementRule, items: Sequence[Item], loc: Loc, plan: Plan, *, present: int | None = None
    ) -> None:
        count = len(items) if present is None else present
        if count < rule.min:
            self.report.error(
                "required",
                "cardinality.min",
                f"{rule.id}: minimum required = {rule.min}, but only found {count} (from {plan.canonical})",
                loc,
                profile=plan.canonical,
                element_id=rule.id,
            )
        if rule.max is not None and count > rule.max:
            self.report.error(
                "structure",
                "cardinality.max",
                f"{rule.id}: max allowed = {rule.max}, but found {count} (from {plan.canonical})",
                items[rule.max].loc if rule.max < len(items) else loc,
                profile=plan.canonical,
                element_id=rule.id,
            )

    # ------------------------------------------------------------------ one value

    def value(self, item: Item, rule: ElementRule, plan: Plan, frame: Frame) -> None:
        type_ref = item.type_ref or self._infer_type(rule, item.value)
        if type_ref is None:
            return
        if rule.base_path == "Resource.id":
            type_ref = RESOURCE_ID
        item.loc.type_code = type_ref.code
        if type_ref.is_primitive:
            self.primitive(item, rule, type_ref, plan, frame)
        else:
            self.complex(item, rule, type_ref, plan, frame)

    @staticmethod
    def _infer_type(rule: ElementRule, value: Any) -> TypeRef | None:
        if not rule.types:
            return BACKBONE_ELEMENT if rule.children or rule.content_reference else None
        if isinstance(value, dict) and isinstance(value.get("resourceType"), str):
            for type_ref in rule.types:
                if type_ref.code == value["resourceType"]:
                    return type_ref
        return rule.types[0]

    def primitive(self, item: Item, rule: ElementRule, type_ref: TypeRef, plan: Plan, frame: Frame) -> None:
        value, extra, loc = item.value, item.extra, item.loc
        if value is None and extra is None:
            self.report.error(
                "structure",
                "structure.null",
                f"The JSON array for '{item.json_name}' is invalid at index {loc.index}: "
                "it must have a value or "
                "extensions there"
                if loc.index is not None
                else "Primitive types must have a value or must have child extensions",
                loc,
            )
            return
        if type_ref is RESOURCE_ID and extra is not None and _system_typed(rule):
            self.report.error(
                "structure",
                "structure.resource-id-extension",
                "Extensions are not allowed on Resource.id",
                loc,
            )
        if value is not None:
            self.primitive_value(value, rule, type_ref, loc, plan, frame)
        if extra is not None:
            self._primitive_extras(extra, rule, type_ref, loc, plan, frame)
        if isinstance(value, (dict, list)):
            return
        # The memo read here, not through a call: this is asked of every primitive value.
        steps = self._value_steps.get((id(rule), id(type_ref)))
        if steps is None or steps.rule is not rule or steps.type_ref is not type_ref:
            steps = self.engine.value_steps.of(self, rule, type_ref)
        if steps.primitive_invariants:
            self.engine.invariants.check_primitive(self, rule, type_ref, value, extra, loc, plan, frame)

    def primitive_value(
        self, value: Any, rule: ElementRule, type_ref: TypeRef, loc: Loc, plan: Plan, frame: Frame
    ) -> None:
        if isinstance(value, (dict, list)):  # a tuple: faster than a union, and asked of every value
            self.report.error(
                "structure",
                "type.json-type",
                f"The property {loc.name} must be a primitive value ({type_ref.code}), not "
                f"{'an object' if isinstance(value, dict) else 'an array'}",
                loc,
            )
            return
        if rule.regex is not None:
            problem = primitives.json_type_problem(type_ref.code, value) or primitives.lexical_problem(
                type_ref.code, value
            )
            if problem is None:
                problem = self._regex_problem(rule, type_ref, value)
        elif type(value) is str:
            problem = self.engine.string_problem(type_ref.code, value)
        else:
            problem = self.engine.value_problem(type_ref.code, value)
        if problem is not None:
            self._report_problem(problem, loc)
            return
        self.primitive_rules(value, rule, type_ref, loc, plan, frame)

    def primitive_rules(
        self, value: Any, rule: ElementRule, type_ref: TypeRef, loc: Loc, plan: Plan, frame: Frame
    ) -> None:
        """A lexically right primitive's own rules: length and range, fixed value or pattern, binding."""
        if rule.has_limits:
            self.length_and_range(value, rule, type_ref, loc, plan)
        if rule.fixed is not None or rule.pattern is not None:
            self.fixed_and_pattern(value, rule, loc, plan)
        if rule.binding is not None:  # a primitive is checked by its binding only (Identifier is an object)
            self.engine.bindings.check_value(self, value, rule, type_ref, loc, plan, frame)

    def _regex_problem(self, rule: ElementRule, type_ref: TypeRef, value: Any) -> primitives.Problem | None:
        if rule.regex:
            problem = primitives.regex_problem(rule.regex, value, type_ref.code)
            if problem is not None:
                return problem
        type_regex = self.engine.primitive_regex(type_ref.code)
        return primitives.type_regex_problem(type_regex, value, type_ref.code) if type_regex else None

    def _report_problem(self, problem: primitives.Problem, loc: Loc) -> None:
        if problem.warning:
            self.report.warning(problem.code, problem.message_id, problem.message, loc)
        else:
            self.report.error(problem.code, problem.message_id, problem.message, loc)

    def length_and_range(
        self, value: Any, rule: ElementRule, type_ref: TypeRef, loc: Loc, plan: Plan
    ) -> None:
        if isinstance(value, str) and (rule.max_length is not None or rule.min_length is not None):
            self._length(value, rule, loc, plan)
        if rule.min_value is not None or rule.max_value is not None:
            self.engine.ranges.check(self, value, rule, type_ref, loc, plan)

    def _length(self, value: str, rule: ElementRule, loc: Loc, plan: Plan) -> None:
        if rule.max_length is not None and len(value) > rule.max_length:
            self.report.error(
                "value",
                "type.max-length",
                f"value is longer than permitted maximum length of {rule.max_length}",
                loc,
                profile=plan.canonical,
                element_id=rule.id,
            )
        if rule.min_length is not None and len(value) < rule.min_length:
            self.report.error(
                "value",
                "type.min-length",
                f"Value '{value}' is shorter than the permitted minimum length of {rule.min_length}",
                loc,
                profile=plan.canonical,
                element_id=rule.id,
            )

    def _primitive_extras(
        self, extra: Any, rule: ElementRule, type_ref: TypeRef, loc: Loc, plan: Plan, frame: Frame
    ) -> None:
        extra_loc = Loc(loc.parent, loc.name, loc.index, "_" + loc.json_key, loc.rule_path, loc.base_path)
        extra_loc.type_code = loc.type_code
        if not isinstance(extra, dict):
            self.report.error(
                "structure", "type.json-type", f"The property _{loc.json_key} must be an object", extra_loc
            )
            return
        if not extra:
            self.report.error(
                "structure", "structure.empty-object", "Object must have some content", extra_loc
            )
            return
        children = self.sibling_rules(rule, type_ref)
        if children is not None:
            self.element_object(extra, rule, type_ref, extra_loc, plan, frame, children=children)

    def sibling_rules(self, rule: ElementRule, type_ref: TypeRef) -> list[ElementRule] | None:
        """The child rules a primitive's `_name` sibling is walked with (its id and extensions; not
        `value`), or None when the type is unknown and the sibling is not walked."""
        type_plan = self.definitions.type_plan(type_ref.code)
        if type_plan is None:
            return None
        return self.engine.child_tables.without_value(rule.children or type_plan.root.children)

    def complex(self, item: Item, rule: ElementRule, type_ref: TypeRef, plan: Plan, frame: Frame) -> None:
        value, loc = item.value, item.loc
        if (type(value) is not dict or item.extra is not None) and not self._object_shape(item):
            return
        steps = self._value_steps.get((id(rule), id(type_ref)))  # as in `primitive`
        if steps is None or steps.rule is not rule or steps.type_ref is not type_ref:
            steps = self.engine.value_steps.of(self, rule, type_ref)
        if steps.resource:
            self.resource(value, loc, explicit_profiles=type_ref.profiles, frame=frame)
            return
        if not value:
            self.report.error("structure", "structure.empty-object", "Object must have some content", loc)
            return
        if steps.extension:
            checked = (self.report, rule.path, rule.name)
            if item.extension_checked == checked and named_by_url(value):
                # A slice's check of the value its element's check just made, here, into this report:
                # against the same definition, at the same place, for an element of the same path and
                # name, it could only repeat what that check reported, which the report drops.
                self.extensions_met += 1
                return
            item.extension_checked = checked
        self.object_checks(value, rule, type_ref, loc, plan, frame, steps)

    def object_checks(
        self,
        value: dict[str, Any],
        rule: ElementRule,
        type_ref: TypeRef,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        steps: ValueSteps,
    ) -> None:
        """A non-empty object that is no resource: an extension against its definition, or any other value
        through its children and its own rules."""
        if steps.extension:
            self.extensions_met += 1
            self.engine.extensions.check(self, value, rule, loc, plan, frame)
        else:
            self.object_value(value, rule, type_ref, loc, plan, frame, steps)

    def _left_to_earlier(self, earlier: _Checked, rule: ElementRule, plan: Plan, loc: Loc) -> bool:
        """May this walk leave an element of an object to an earlier walk of the resource, which checked it
        there and found nothing?

        Yes when that walk met no extension there (their contexts read names that differ between the walks)
        and the rule it applied implies every rule this walk would apply, from the element down (decided
        once per pair of definitions: validation/coverage.py). The place must be the same: a caller's dict
        may sit at two places.
        """
        walk, where, side, clean = earlier
        return (
            clean
            and walk < self._walk_number
            and _same_place(where, loc)
            and self.engine.coverage.covers(self, side, (rule, plan))
        )

    def object_value(
        self,
        value: dict[str, Any],
        rule: ElementRule,
        type_ref: TypeRef,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        steps: ValueSteps,
    ) -> None:
        """A complex value that is neither a resource nor an extension: its children, then its own rules."""
        if steps.one_of_profiles:
            self._one_of_profiles(value, rule, type_ref, loc, frame)
        else:
            self.element_object(value, rule, type_ref, loc, plan, frame)
        if steps.fixed_or_pattern:
            self.fixed_and_pattern(value, rule, loc, plan)
        if steps.binding:
            self.engine.bindings.check_value(self, value, rule, type_ref, loc, plan, frame)
        if steps.datatype is not None:
            self._datatype_checks(steps.datatype, value, rule, type_ref, loc, plan, frame)
        if steps.quantity_range:
            self.engine.ranges.check_quantity(self, value, rule, loc, plan)
        if steps.invariants is not None:
            self.engine.invariants.check_with(self, steps.invariants, value, loc, plan, frame)

    def _object_shape(self, item: Item) -> bool:
        """Report what is wrong with a complex value's JSON shape; False when it is no object at all."""
        value, loc = item.value, item.loc
        if not isinstance(value, dict):
            self.report.error(
                "structure",
                "type.json-type",
                f"The property {item.json_name} must be a JSON object, not {primitives._describe(value)}",
                loc,
            )
            return False
        if item.extra is not None:
            self.report.error(
                "structure",
                "structure.unknown-property",
                f"Unrecognized property '_{item.json_name}'",
                Loc(loc.parent, loc.name, loc.index, "_" + item.json_name),
            )
        return True

    def _datatype_checks(
        self,
        code: str,
        value: Mapping[str, Any],
        rule: ElementRule,
        type_ref: TypeRef,
        loc: Loc,
        plan: Plan,
        frame: Frame,
    ) -> None:
        if code == "Reference":
            self.engine.references.check(self, value, rule, type_ref, loc, plan, frame)
        elif code == "Attachment":
            datatypes.check_attachment(self, value, loc)
        elif code == "Narrative":
            self.engine.narrative.check(self, value, rule, loc, plan, frame)

    def _one_of_profiles(
        self, value: Mapping[str, Any], rule: ElementRule, type_ref: TypeRef, loc: Loc, frame: Frame
    ) -> None:
        """A type with several profiles: the value must conform to at least one of them."""
        trials: list[tuple[str, Reporter]] = []
        for url in type_ref.profiles:
            profile = self.definitions.plan(url)
            if profile is None:
                continue
            sandbox = Reporter()
            Walker(self.engine, sandbox).element_object(value, profile.root, None, loc, profile, frame)
            if not sandbox.has_errors:
                self.report.absorb(sandbox)
                return
            trials.append((profile.canonical, sandbox))
        if not trials:
            return
        self.report.error(
            "structure",
            "type.profile.no-match",
            "Unable to find a match for the specified profile among choices: " + ", ".join(type_ref.profiles),
            loc,
            element_id=rule.id,
        )
        for canonical, sandbox in trials:
            for found in sandbox.found:
                issue = found.issue
                self.report.add(
                    issue.severity,
                    issue.code,
                    issue.message_id,
                    f"{issue.message} (validating against {canonical})",
                    loc,
                    profile=issue.profile,
                    element_id=issue.element_id,
                    constraint=issue.constraint,
                )

    # ------------------------------------------------------------------ fixed and pattern

    def fixed_and_pattern(self, value: Any, rule: ElementRule, loc: Loc, plan: Plan) -> None:
        if rule.fixed is not None and not fixedpattern.matches_fixed(rule.fixed[1], value):
            for message in fixedpattern.fixed_differences(rule.fixed[1], value):
                self.report.error(
                    "value", "fixed.mismatch", message, loc, profile=plan.canonical, element_id=rule.id
                )
        if rule.pattern is not None and not fixedpattern.matches_pattern(rule.pattern[1], value):
            self.report.error(
                "value",
                "pattern.mismatch",
                f"The value {fixedpattern.show(value)} does not match the pattern "
                f"{fixedpattern.show(rule.pattern[1])} (from {plan.canonical})",
                loc,
                profile=plan.canonical,
                element_id=rule.id,
            )
