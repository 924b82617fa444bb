"""Child programs: the visit of one child rule, specialised once for what the rule allows.

`Walker.child` interprets a child rule on every object it visits: it reads the rule's JSON names, makes an
`Item` and a `Loc` for each value, asks `value` for the type, which hands over to `primitive` or `complex`,
which look up the value steps. Most visits are of a rule with one JSON name (or a choice of types) and no
slices, holding a primitive that is lexically right or an object: those decisions follow from the rule
alone. A program makes them once, when the rule's table of children is built (per engine), and at run time
goes straight to the checks left.

A program never reports an issue itself. It first makes the checks that cannot report anything (the JSON
shape, the count, a primitive's lexical form, from the engine's memo for strings); when any of them fails,
it hands the whole element to `Walker.child`, which reports in its own order. When they all pass, it calls
the checks that follow them in `child`'s own order (length, fixed value or pattern, binding, invariants;
or the object's walk, or the extension check). So a report cannot tell a program from the interpreter:
tests/test_validation_programs.py compares the two on every UK Core example and thousands of variants.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from conformance.definitions.plan import ElementRule, Plan, TypeRef
from conformance.validation.report import Loc

if TYPE_CHECKING:
    from conformance.validation.childtable import ChildTable
    from conformance.validation.engine import Engine
    from conformance.validation.valuesteps import ValueSteps
    from conformance.validation.walker import Frame, Walker

# The visit of one child rule (the program's own) on one object: `Walker.child`'s arguments but the rule,
# the walker first.
Program = Callable[["Walker", Any, Loc, Plan, "Frame", "ChildTable", set[str]], None]

RESOURCE_ID = TypeRef("id")
# One object: answers are kept per type reference's identity (children_of), so none may be made per value.
BACKBONE_ELEMENT = TypeRef("BackboneElement")
_MISSING = object()
_SCALARS = frozenset({bool, int, float, Decimal})


def program_for(engine: Engine, rule: ElementRule) -> Program | None:
    """The program for a child rule, or None where only the interpreter will do (slices, several types
    under one JSON name told apart per value, a regex of the element's own, a count one value cannot meet)."""
    keys = rule.json_keys
    if rule.slices:
        return None  # slicing without slices checks nothing (every datatype's `extension`, sliced by url)
    if not rule.repeats and (rule.min > 1 or rule.max == 0):
        return None  # one value cannot meet the count: the interpreter reports it
    if len(keys) == 1 and not rule.is_choice:
        json_name, extra_name, named = keys[0]
        type_ref = _fixed_type(rule, named)
        return None if type_ref is None else _typed_program(engine, rule, type_ref, json_name, extra_name)
    if not rule.is_choice:
        return None
    choices = []
    for json_name, extra_name, type_ref in keys:
        program = _typed_program(engine, rule, type_ref, json_name, extra_name) if type_ref else None
        if program is None:
            return None
        choices.append((json_name, extra_name, program))
    return _choice_program(rule, choices)


def interpreted(rule: ElementRule) -> Program:
    """The visit of a rule no program is made for: `Walker.child`, the interpreter."""

    def run(
        walker: Walker,
        obj: Any,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        table: ChildTable,
        claimed: set[str],
    ) -> None:
        walker.child(obj, rule, loc, plan, frame, table, claimed)

    return run


def _typed_program(
    engine: Engine, rule: ElementRule, type_ref: TypeRef, json_name: str, extra_name: str
) -> Program | None:
    if type_ref.is_primitive:
        if rule.regex is not None:
            return None
        return _primitive_program(engine, rule, type_ref, json_name, extra_name)
    return _object_program(rule, type_ref, json_name, extra_name)


def _fixed_type(rule: ElementRule, named: TypeRef | None) -> TypeRef | None:
    """The type every value of the rule has (`Walker.value` decides it the same way), if it is fixed."""
    if named is None:
        if rule.types or not (rule.children or rule.content_reference):
            return None  # several types, told apart per value; or none at all
        named = BACKBONE_ELEMENT
    return RESOURCE_ID if rule.base_path == "Resource.id" else named


class _Steps:
    """The engine's value steps of one (rule, type), looked up on first use (they need a walker); read as
    `steps.steps or steps.of(walker)`, an attribute rather than a call once known."""

    __slots__ = ("rule", "steps", "type_ref")

    def __init__(self, rule: ElementRule, type_ref: TypeRef) -> None:
        self.rule, self.type_ref = rule, type_ref
        self.steps: ValueSteps | None = None

    def of(self, walker: Walker) -> ValueSteps:
        steps = self.steps
        if steps is None:
            steps = self.steps = walker.engine.value_steps.of(walker, self.rule, self.type_ref)
        return steps


def _values_loc(loc: Loc, rule: ElementRule, json_name: str) -> Loc:
    """Where the values of a rule sit in an object, as `Walker._items` places them."""
    return Loc(loc, rule.base_name, None, json_name, rule.path, rule.base_path)


def _count_fits(rule: ElementRule, values: Any) -> bool:
    """Is this a non-empty JSON array of as many values as the rule allows?"""
    if type(values) is not list or not values:
        return False
    return rule.min <= len(values) and (rule.max is None or len(values) <= rule.max)


def _lexical_test(engine: Engine, code: str) -> Callable[[Any], bool]:
    """Is a value a JSON primitive of the type's lexical form? A string's answer is in the engine's memo."""
    memo = engine.string_problem_memo  # read directly: asked for every string of every payload

    def lexically_right(value: Any) -> bool:
        if type(value) is str:
            problem = memo.get((code, value), _MISSING)
            if problem is _MISSING:
                problem = engine.string_problem(code, value)
            return problem is None
        # a number or a boolean, as the JSON reader gives them; anything else is the interpreter's to report
        return type(value) in _SCALARS and engine.value_problem(code, value) is None

    return lexically_right


def _primitive_checks(
    engine: Engine, rule: ElementRule, type_ref: TypeRef, steps: _Steps
) -> Callable[[Walker, Any, Loc, Plan, Frame], None]:
    """What `primitive_value` and `primitive` check after the lexical form, in their order."""
    code = type_ref.code

    def follow(walker: Walker, value: Any, loc: Loc, plan: Plan, frame: Frame) -> None:
        loc.type_code = code
        walker.primitive_rules(value, rule, type_ref, loc, plan, frame)
        if (steps.steps or steps.of(walker)).primitive_invariants:
            engine.invariants.check_primitive(walker, rule, type_ref, value, None, loc, plan, frame)

    return follow


def _primitive_program(
    engine: Engine, rule: ElementRule, type_ref: TypeRef, json_name: str, extra_name: str
) -> Program:
    steps = _Steps(rule, type_ref)
    lexically_right = _lexical_test(engine, type_ref.code)
    follow = _primitive_checks(engine, rule, type_ref, steps)
    # Does a value need more than its lexical form? (Invariants are the engine's: asked at run time.)
    follows = rule.has_limits or rule.binding is not None or (rule.fixed or rule.pattern) is not None

    def single(
        walker: Walker,
        obj: Any,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        table: ChildTable,
        claimed: set[str],
    ) -> None:
        value = obj.get(json_name)
        if extra_name in obj or not lexically_right(value):
            walker.child(obj, rule, loc, plan, frame, table, claimed)
        elif follows or (steps.steps or steps.of(walker)).primitive_invariants:
            follow(walker, value, _values_loc(loc, rule, json_name), plan, frame)

    def repeated(
        walker: Walker,
        obj: Any,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        table: ChildTable,
        claimed: set[str],
    ) -> None:
        values = obj.get(json_name)
        if extra_name in obj or not _count_fits(rule, values) or not all(map(lexically_right, values)):
            walker.child(obj, rule, loc, plan, frame, table, claimed)
        elif follows or (steps.steps or steps.of(walker)).primitive_invariants:
            values_loc = _values_loc(loc, rule, json_name)
            for index, value in enumerate(values):
                follow(walker, value, values_loc.at(index), plan, frame)

    return repeated if rule.repeats else single


def _object_program(rule: ElementRule, type_ref: TypeRef, json_name: str, extra_name: str) -> Program:
    code = type_ref.code
    steps = _Steps(rule, type_ref)

    def walk(walker: Walker, value: dict[str, Any], loc: Loc, plan: Plan, frame: Frame) -> None:
        loc.type_code = code
        walker.object_checks(value, rule, type_ref, loc, plan, frame, steps.steps or steps.of(walker))

    def single(
        walker: Walker,
        obj: Any,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        table: ChildTable,
        claimed: set[str],
    ) -> None:
        value = obj.get(json_name)
        if (
            type(value) is not dict
            or not value
            or extra_name in obj
            or (steps.steps or steps.of(walker)).resource
        ):
            walker.child(obj, rule, loc, plan, frame, table, claimed)
        else:
            walk(walker, value, _values_loc(loc, rule, json_name), plan, frame)

    def repeated(
        walker: Walker,
        obj: Any,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        table: ChildTable,
        claimed: set[str],
    ) -> None:
        values = obj.get(json_name)
        if (
            extra_name in obj
            or not _count_fits(rule, values)
            or not all(type(value) is dict and value for value in values)
            or (steps.steps or steps.of(walker)).resource
        ):
            walker.child(obj, rule, loc, plan, frame, table, claimed)
            return
        values_loc = _values_loc(loc, rule, json_name)
        for index, value in enumerate(values):
            walk(walker, value, values_loc.at(index), plan, frame)

    return repeated if rule.repeats else single


def _choice_program(rule: ElementRule, choices: list[tuple[str, str, Program]]) -> Program:
    """A choice of types (`value[x]`): the program of the one type the object uses.

    The interpreter takes over when the object uses none, or several, or has a key that may name a type
    the rule does not allow (`valueString` where only `valueQuantity` is): each of those is reported.
    """
    by_key = {key: program for json_name, extra_name, program in choices for key in (json_name, extra_name)}
    base = rule.base_name
    after = len(base)

    def run(
        walker: Walker,
        obj: Any,
        loc: Loc,
        plan: Plan,
        frame: Frame,
        table: ChildTable,
        claimed: set[str],
    ) -> None:
        chosen: Program | None = None
        for key in obj:
            program = by_key.get(key)
            if program is None:
                if (
                    type(key) is str
                    and key.startswith(base)
                    and key[after : after + 1].isupper()
                    and key not in table
                ):
                    chosen = None  # maybe a type the rule does not allow
                    break
                continue
            if chosen is not None and program is not chosen:
                chosen = None  # several types at once
                break
            chosen = program
        if chosen is None:
            walker.child(obj, rule, loc, plan, frame, table, claimed)
        else:
            chosen(walker, obj, loc, plan, frame, table, claimed)

    return run
