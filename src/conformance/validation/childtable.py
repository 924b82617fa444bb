"""Which child rules of an element a JSON object needs visited: decided from the object's keys.

An element type has many optional children and a payload uses few of them (a Patient's definition has
about thirty, an example sets eight). Visiting every child rule to find it absent was most of the walk.
A `ChildTable` is built once per list of child rules and maps each JSON property name (`birthDate`,
`_birthDate`, `valueQuantity`) to the rules it belongs to; a walk then visits only the rules the object
names, plus those that say something when absent: a minimum cardinality of their own or of one of their
slices. The visit keeps the rules' order, so issues come out as from a full visit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from conformance.definitions.plan import ElementRule
from conformance.validation.programs import Program, interpreted

# A rule to visit, with its program (for a rule with none, one that calls `Walker.child`).
Visit = tuple[ElementRule, Program]

_KEYS_KEPT = 256
_KEY_SETS_KEPT = 64


class ChildTable:
    __slots__ = ("_always", "_by_key", "_choice_hits", "_choices", "_names", "_visits", "rules", "visits")

    def __init__(
        self, rules: Sequence[ElementRule], programs: Sequence[Program | None] | None = None
    ) -> None:
        self.rules = rules
        made = programs or [None] * len(rules)
        self._visits: list[Visit] = [
            (rule, program or interpreted(rule)) for rule, program in zip(rules, made, strict=True)
        ]
        by_key: dict[str, list[int]] = {}
        self._names = frozenset(json_name for rule in rules for json_name, _ in rule.json_names())
        for index, rule in enumerate(rules):
            for json_name, _ in rule.json_names():
                for key in (json_name, "_" + json_name):
                    by_key.setdefault(key, []).append(index)
        self._by_key: Mapping[str, tuple[int, ...]] = {key: tuple(found) for key, found in by_key.items()}
        # Absent, an element says something only through a minimum: its own or a slice's (the slicing
        # checks of no values report only the slices required). Every element's `extension` is sliced by
        # url in the base definitions, with no slice required: it is visited only when present.
        self._always = frozenset(
            index
            for index, rule in enumerate(rules)
            if rule.min > 0 or any(slice_rule.min > 0 for slice_rule in rule.slices)
        )
        # A choice element meets keys of types it does not allow (`valueString` where only `valueQuantity`
        # is allowed): its visit reports them, so a key that only looks like one of its names visits it.
        self._choices = tuple((rule.base_name, index) for index, rule in enumerate(rules) if rule.is_choice)
        # The choices an unknown key looks like, per key: the same few keys recur (`resourceType` at every
        # resource's root). Bounded, as the keys come from payloads.
        self._choice_hits: dict[str, tuple[int, ...]] = {}
        # `to_visit`'s answers by the object's keys (in order): the walk reads it first, saving a call.
        self.visits: dict[tuple[Any, ...], tuple[list[Visit], list[Any]]] = {}

    def names(self, name: str) -> bool:
        """Is this the JSON name of a child rule itself (`birthDate`; not its `_birthDate` sibling)?"""
        return name in self._names

    def __contains__(self, key: object) -> bool:
        """Does a child rule name this JSON key (`birthDate`, `_birthDate`)?"""
        return key in self._by_key

    def to_visit(self, obj: Iterable[Any]) -> tuple[list[Visit], list[Any]]:
        """The rules to visit for an object, in the rules' own order, each with its program; and the keys
        no rule names (unknown, unless a choice element claims them as a type it does not allow).

        The answer depends on the object's keys only, and the same few key sets recur (every Coding has
        `system`, `code`, `display`): it is kept per key set, for a bounded number of them. The lists
        returned are shared: read them, never change them.
        """
        keys = tuple(obj)
        known = self.visits.get(keys)
        if known is None:
            known = self._visit(keys)
            if len(self.visits) < _KEY_SETS_KEPT:
                self.visits[keys] = known
        return known

    def _visit(self, keys: Iterable[Any]) -> tuple[list[Visit], list[Any]]:
        visit = set(self._always)
        unknown = []
        by_key = self._by_key
        for key in keys:
            found = by_key.get(key)
            if found is not None:
                visit.update(found)
                continue
            unknown.append(key)
            if self._choices and isinstance(key, str):
                visit.update(self._choices_named(key))
        visits = self._visits
        return [visits[index] for index in sorted(visit)], unknown

    def _choices_named(self, key: str) -> tuple[int, ...]:
        hits = self._choice_hits.get(key)
        if hits is None:
            hits = tuple(
                index
                for base, index in self._choices
                if key.startswith(base) and key[len(base) : len(base) + 1].isupper()
            )
            if len(self._choice_hits) < _KEYS_KEPT:
                self._choice_hits[key] = hits
        return hits


class ChildTables:
    """One ChildTable per list of child rules, for as long as the definitions live.

    Keyed by the list's identity; the list is held with its table, so an identity is never reused while
    its entry exists. Only lists that live as long as their Plans may be given.
    """

    def __init__(self, program: Callable[[ElementRule], Program | None] | None = None) -> None:
        self._program = program  # what makes each rule's program (validation/programs.py); None: no programs
        self._tables: dict[int, ChildTable] = {}
        self._without_value: dict[int, tuple[Sequence[ElementRule], list[ElementRule]]] = {}

    def of(self, rules: Sequence[ElementRule]) -> ChildTable:
        table = self._tables.get(id(rules))
        if table is None or table.rules is not rules:
            programs = [self._program(rule) for rule in rules] if self._program is not None else None
            table = ChildTable(rules, programs)
            self._tables[id(rules)] = table
        return table

    def without_value(self, rules: Sequence[ElementRule]) -> list[ElementRule]:
        """The rules but `value`: what the `_name` sibling of a primitive may hold (id, extension)."""
        held = self._without_value.get(id(rules))
        if held is None or held[0] is not rules:
            held = (rules, [rule for rule in rules if rule.name != "value"])
            self._without_value[id(rules)] = held
        return held[1]
