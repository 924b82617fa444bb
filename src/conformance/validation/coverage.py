"""When a later walk of a resource can leave a value to the walk that already checked it cleanly.

A resource is walked against each profile, then against its core definition (as by the HL7 validator). Below
the elements a profile unfolds, the walks read different child rules (`Patient.identifier.system` in the
profile, `Identifier.system` in the core definition) and `Walker._walked_before` cannot tell that they say
the same. This module can, for the common case: when every rule the later walk would apply to a value and
everything below it is implied by a rule the earlier walk applied there, and the earlier walk found nothing
there (not even a repeat of an issue already kept), the later walk cannot find anything either, and skips it.

"Implied" is decided from the definitions alone, once per pair of (rule, type, plan), and conservatively:
anything this module does not know to be implied (a slicing, a Reference target that differs, a narrower
value range, an invariant the earlier rule lacks...) makes the pair not covered, and the later walk goes on.

Extension contexts depend on the names of the element that carries an extension, which differ between the
walks (`Patient.identifier` against `Identifier`): a value under which the earlier walk met an extension is
never skipped, so this module never has to reason about contexts. The same goes for an invariant whose focus
type is an element path (a backbone element's): the two rules must then have the same path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef
from conformance.validation.programs import BACKBONE_ELEMENT as _BACKBONE

if TYPE_CHECKING:
    from conformance.validation.walker import Walker

# (rule, plan) of an element, and (rule, type, plan) of a value, in the earlier walk or the later one.
RuleSide = tuple[ElementRule, Plan]
Side = tuple[ElementRule, TypeRef, Plan]


class Coverage:
    """Answers `covers` per pair of sides, for as long as the definitions live (kept by identity)."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, ...], tuple[ElementRule, Plan, ElementRule, Plan, bool]] = {}

    def covers(self, walker: Walker, earlier: RuleSide, later: RuleSide) -> bool:
        """Does a clean check of an element by the `earlier` rule imply that the `later` finds nothing?"""
        (rule, plan), (base, base_plan) = earlier, later
        key = (id(rule), id(plan), id(base), id(base_plan))
        known = self._known.get(key)
        if (
            known is None
            or known[0] is not rule
            or known[1] is not plan
            or known[2] is not base
            or known[3] is not base_plan
        ):
            known = self._known[key] = (
                rule,
                plan,
                base,
                base_plan,
                _Comparison(walker).rule_covered(earlier, later),
            )
        return known[4]


class _Comparison:
    """One question of `Coverage`, with the pairs assumed covered while their own answer is worked out.

    Types nest (an Identifier's assigner is a Reference, whose identifier is an Identifier): a pair met again
    while it is being compared is assumed covered, which is sound for a relation of this kind (the largest
    one consistent with every rule). Only the outermost answer is kept.
    """

    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self.engine = walker.engine
        self._assumed: set[tuple[int, ...]] = set()  # keys of 6 ids (values) and of 4 (child rule lists)

    def value_covered(self, earlier: Side, later: Side) -> bool:
        if all(a is b for a, b in zip(earlier, later, strict=True)):
            return True
        key = (*map(id, earlier), *map(id, later))
        if key in self._assumed:
            return True
        self._assumed.add(key)
        (rule, type_ref, plan), (base, base_type, base_plan) = earlier, later
        return (
            type_ref.code == base_type.code
            and self._value_rules_covered(rule, type_ref, base, base_type)
            and self._invariants_covered(rule, type_ref, base, base_type)
            and self._children_covered(
                self.walker.children_of(rule, type_ref, plan),
                self.walker.children_of(base, base_type, base_plan),
            )
        )

    def _value_rules_covered(
        self, rule: ElementRule, type_ref: TypeRef, base: ElementRule, base_type: TypeRef
    ) -> bool:
        """What `Walker.complex` checks of the value itself, beyond its children and invariants."""
        steps = self.engine.value_steps.of(self.walker, base, base_type)
        if steps.resource or steps.extension or steps.one_of_profiles:
            return False  # walked on their own terms (a resource, an extension's definition)
        if len(type_ref.profiles) > 1 and not rule.children:
            return False  # the earlier walk tried each profile in a scratch report: nothing to go by
        if steps.datatype == "Reference" and base_type.target_profiles not in ((), type_ref.target_profiles):
            return False
        if steps.datatype == "Narrative" and base.raw.get("extension") != rule.raw.get("extension"):
            return False
        return self._own_rules_covered(rule, base, base_type)

    def _own_rules_covered(self, rule: ElementRule, base: ElementRule, base_type: TypeRef) -> bool:
        """Fixed value, pattern, binding, range: the later rule has none, or the very same as the earlier."""
        if not (_same_or_absent(base.fixed, rule.fixed) and _same_or_absent(base.pattern, rule.pattern)):
            return False
        if self.engine.bindings.checks_binding(base, base_type) and rule.binding != base.binding:
            return False
        return (base.min_value is None and base.max_value is None) or (
            rule.min_value == base.min_value and rule.max_value == base.max_value
        )

    def _invariants_covered(
        self, rule: ElementRule, type_ref: TypeRef, base: ElementRule, base_type: TypeRef
    ) -> bool:
        """The later rule's invariants among the earlier's, evaluated on the same focus type."""
        earlier = self.engine.invariants.element_invariants(self.walker, rule, type_ref)
        later = self.engine.invariants.element_invariants(self.walker, base, base_type)
        return later[3] == earlier[3] and _texts(later[2]) <= _texts(earlier[2])

    def _children_covered(
        self, earlier: tuple[list[ElementRule], Plan], later: tuple[list[ElementRule], Plan]
    ) -> bool:
        """Each child rule of the later walk has one of the same name in the earlier walk that implies it."""
        (rules, plan), (bases, base_plan) = earlier, later
        if rules is bases and plan is base_plan:
            return True
        key = (
            id(rules),
            id(plan),
            id(bases),
            id(base_plan),
        )  # a primitive's `_name` sibling holds an `id`...
        if key in self._assumed:
            return True
        self._assumed.add(key)
        by_name = {rule.name: rule for rule in rules}
        if len(by_name) != len(rules) or set(by_name) != {base.name for base in bases}:
            return False
        return all(self.rule_covered((by_name[base.name], plan), (base, base_plan)) for base in bases)

    def rule_covered(self, earlier: RuleSide, later: RuleSide) -> bool:
        (rule, plan), (base, base_plan) = earlier, later
        if rule is base and plan is base_plan:
            return True
        base_types = {type_ref.code: type_ref for type_ref in base.types}
        if base_types.keys() == {"Extension"}:
            # Never given a value below a value left to an earlier walk: that walk met no extension there,
            # and it visits every key the later walk would (the names are the same, an unknown key is an
            # issue). With no value, only a minimum speaks: the rule's own, or a slice's (the core
            # definitions slice `extension` by url, with no slices).
            return rule.name == base.name and rule.min >= base.min and not base.slices
        if not _structure_covered(rule, base):
            return False
        return all(
            self._type_covered((rule, type_ref, plan), (base, base_types.get(type_ref.code), base_plan))
            for type_ref in rule.types or (_BACKBONE,)
        )

    def _type_covered(self, earlier: Side, later: tuple[ElementRule, TypeRef | None, Plan]) -> bool:
        base, base_type, base_plan = later
        if base_type is None:
            if base.types:
                return False  # a type the later rule does not have (kept out by `_structure_covered`)
            base_type = _BACKBONE
        if earlier[1].is_primitive:
            return self._primitive_covered(earlier, (base, base_type, base_plan))
        return self.value_covered(earlier, (base, base_type, base_plan))

    def _primitive_covered(self, earlier: Side, later: Side) -> bool:
        """What `Walker.primitive` checks: the value's own rules, its invariants, its `_name` sibling."""
        (rule, type_ref, plan), (base, base_type, base_plan) = earlier, later
        if type_ref.code != base_type.code or not _primitive_rules_covered(rule, base):
            return False
        if not self._own_rules_covered(rule, base, base_type):
            return False
        if not self._primitive_invariants_covered(earlier, later):
            return False
        siblings = self.walker.sibling_rules(rule, type_ref)
        base_siblings = self.walker.sibling_rules(base, base_type)
        if siblings is None or base_siblings is None:
            return siblings is base_siblings  # the same type: neither is walked
        return self._children_covered((siblings, plan), (base_siblings, base_plan))

    def _primitive_invariants_covered(self, earlier: Side, later: Side) -> bool:
        invariants = self.engine.invariants
        return _texts(invariants.primitive_invariants(self.walker, later[0], later[1])) <= _texts(
            invariants.primitive_invariants(self.walker, earlier[0], earlier[1])
        )


def _structure_covered(rule: ElementRule, base: ElementRule) -> bool:
    """Cardinality, JSON shape and names: what `Walker.child` checks of an element's values."""
    if rule.name != base.name or rule.repeats != base.repeats or rule.base_path != base.base_path:
        return False
    if base.slicing is not None or base.slices or rule.content_reference != base.content_reference:
        return False
    if rule.min < base.min or (base.max is not None and (rule.max is None or rule.max > base.max)):
        return False
    codes = [type_ref.code for type_ref in rule.types]
    base_codes = [type_ref.code for type_ref in base.types]
    if not rule.is_choice and codes != base_codes:
        return False  # a value's type is inferred from the rule's list: the lists must be the same
    if not set(codes) <= set(base_codes):
        return False
    return bool(rule.types) or rule.path == base.path  # a backbone's invariants are focused on its path


def _primitive_rules_covered(rule: ElementRule, base: ElementRule) -> bool:
    if base.regex is not None and base.regex != rule.regex:
        return False
    if base.max_length is not None and (rule.max_length is None or rule.max_length > base.max_length):
        return False
    if base.min_length is not None and (rule.min_length is None or rule.min_length < base.min_length):
        return False
    if base.base_path == "Resource.id":
        return base.raw.get("type") == rule.raw.get("type")  # whether it may carry extensions
    return True


def _same_or_absent(base: Any, rule: Any) -> bool:
    return base is None or base == rule


def _texts(prepared: tuple[Any, ...]) -> set[tuple[str, str]]:
    return {(one.constraint.key, one.text) for one in prepared}
