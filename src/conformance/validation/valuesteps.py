"""What a value of one element needs beyond the walk of its children: decided once per (rule, type).

A complex value may be a resource, an extension, a choice of several profiles; it may have a fixed value
or a pattern, a binding the terminology checks, a datatype's own checks (Reference, Attachment,
Narrative), a quantity range; a primitive may have invariants of its own. Each follows from the element's
rule and type alone, and most values need few of them: asking each family in turn, per value, for it to
return at once was a good share of the walk. The walk keeps these answers per rule and type (by identity,
as the definitions live as long as the engine) and calls only what a value needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.definitions.plan import ElementRule, TypeRef

if TYPE_CHECKING:
    from conformance.validation.invariants import ElementInvariants
    from conformance.validation.walker import Walker

RESOURCE_TYPE_CODES = frozenset({"Resource", "DomainResource"})
# Datatypes with checks of their own beyond their elements' rules.
DATATYPES_CHECKED = frozenset({"Reference", "Attachment", "Narrative"})


class ValueSteps:
    """The checks one (rule, type) calls for. Made once; read for every value of that element."""

    __slots__ = (
        "binding",
        "datatype",
        "extension",
        "fixed_or_pattern",
        "invariants",
        "one_of_profiles",
        "primitive_invariants",
        "quantity_range",
        "resource",
        "rule",
        "type_ref",
    )

    invariants: ElementInvariants | None

    def __init__(self, walker: Walker, rule: ElementRule, type_ref: TypeRef) -> None:
        engine = walker.engine
        code = type_ref.code
        self.rule = rule
        self.type_ref = type_ref
        self.resource = code in RESOURCE_TYPE_CODES or engine.is_resource_type(code)
        self.extension = code == "Extension"
        self.one_of_profiles = len(type_ref.profiles) > 1 and not rule.children
        self.fixed_or_pattern = rule.fixed is not None or rule.pattern is not None
        self.binding = engine.bindings.applies(rule, type_ref)
        self.datatype = code if code in DATATYPES_CHECKED else None
        self.quantity_range = rule.min_value is not None or rule.max_value is not None
        # A complex value's own and its type's invariants (a primitive's are `check_primitive`'s).
        self.invariants = (
            None if type_ref.is_primitive else engine.invariants.element_invariants(walker, rule, type_ref)
        )
        self.primitive_invariants = type_ref.is_primitive and bool(
            engine.invariants.primitive_invariants(walker, rule, type_ref)
        )


class ValueStepsMemo:
    """ValueSteps per (rule, type), by identity; kept with the rule and type they were made for."""

    def __init__(self) -> None:
        self.known: dict[tuple[int, int], ValueSteps] = {}

    def of(self, walker: Walker, rule: ElementRule, type_ref: TypeRef) -> ValueSteps:
        key = (id(rule), id(type_ref))
        steps = self.known.get(key)
        if steps is None or steps.rule is not rule or steps.type_ref is not type_ref:
            steps = self.known[key] = ValueSteps(walker, rule, type_ref)
        return steps
