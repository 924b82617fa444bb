"""The members of a value set as far as they can be known offline, and the set algebra of `compose`.

A value set may mix what can be listed (codes of a local CodeSystem), what is
decided by syntax (every UCUM unit), and what only a terminology server knows
(a SNOMED CT hierarchy). `Members` keeps the three apart, so a membership
test answers yes, no or "cannot tell" and is never wrong: when in doubt the
answer is "cannot tell". Testing a listed code is a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from conformance.terminology.codesystem import DEPRECATED_STATUS, INACTIVE_STATUSES
from conformance.terminology.results import CodeCheck
from conformance.terminology.systems import syntax_problem

YES, NO, MAYBE = CodeCheck.VALID, CodeCheck.INVALID, CodeCheck.UNKNOWN
Key = tuple[str, str]  # (system, code)


@dataclass(frozen=True)
class Concept:
    """One code of an expansion, with what is known about it."""

    system: str
    code: str
    display: str | None = None
    version: str | None = None
    designations: tuple[str, ...] = ()
    status: str | None = None  # None when active; else inactive / retired / deprecated
    abstract: bool = False
    local: bool = False  # defined by a local CodeSystem, so its displays are authoritative
    case_sensitive: bool = True

    @property
    def inactive(self) -> bool:
        return self.status in INACTIVE_STATUSES

    @property
    def deprecated(self) -> bool:
        return self.status == DEPRECATED_STATUS

    @property
    def key(self) -> Key:
        return (self.system, self.code)

    def displays(self) -> tuple[str, ...]:
        """Every display a user may send for this concept."""
        return tuple(dict.fromkeys(d for d in (self.display, *self.designations) if d))

    def with_value_set_displays(self, display: str | None, designations: Iterable[str]) -> Concept:
        extra = tuple(d for d in (display, *designations) if d and d not in self.displays())
        return replace(self, designations=(*self.designations, *extra)) if extra else self


def _and(first: CodeCheck, second: CodeCheck) -> CodeCheck:
    if NO in (first, second):
        return NO
    return YES if first is YES and second is YES else MAYBE


def _richer(first: Concept | None, second: Concept | None) -> Concept | None:
    if first is None or (second is not None and second.local and not first.local):
        return second
    return first


@dataclass(frozen=True)
class GrammarPart:
    """All well-formed codes of a syntax-defined system, less some excluded ones."""

    excluded: frozenset[str] = frozenset()
    uncertain: bool = False  # an exclusion could not be evaluated: members are "cannot tell"


@dataclass
class Members:
    """Built once by the expander, then only read."""

    definite: dict[Key, Concept] = field(default_factory=dict)
    maybe: dict[Key, Concept] = field(default_factory=dict)
    excluded: set[Key] = field(default_factory=set)
    open_systems: set[str] = field(default_factory=set)  # codes beyond those listed may be members
    open_any: bool = False  # any code of any system may be a member
    grammar: dict[str, list[GrammarPart]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _folded: dict[Key, Concept] = field(default_factory=dict, repr=False)
    _by_code: dict[str, Concept] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.reindex()

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def of(cls, concepts: Iterable[Concept]) -> Members:
        return cls(definite={concept.key: concept for concept in concepts})

    @classmethod
    def unknown(cls, system: str | None, note: str) -> Members:
        """Members this process cannot list: of one system, or of any system when `system` is None."""
        if system is None:
            return cls(open_any=True, notes=[note])
        return cls(open_systems={system}, notes=[note])

    @classmethod
    def by_syntax(cls, system: str) -> Members:
        return cls(grammar={system: [GrammarPart()]})

    def reindex(self) -> None:
        # A case-insensitive CodeSystem's codes are also found by their case-folded form.
        self._folded = {
            (c.system, c.code.casefold()): c for c in self.definite.values() if not c.case_sensitive
        }
        self._by_code = {}
        for concept in self.definite.values():
            self._by_code.setdefault(concept.code, concept)

    def add_note(self, note: str) -> Members:
        """A copy with one more note (members may be shared through imports, so never changed in place)."""
        return replace(self, notes=[*self.notes, note])

    # --- questions ---------------------------------------------------------------------------

    @property
    def decidable(self) -> bool:
        """Every membership question has a yes or no answer."""
        uncertain_grammar = any(part.uncertain for parts in self.grammar.values() for part in parts)
        return not (self.maybe or self.open_systems or self.open_any or uncertain_grammar)

    @property
    def enumerated(self) -> bool:
        """The listed concepts are all the members."""
        return self.decidable and not self.grammar

    def systems(self) -> set[str]:
        listed = {system for system, _ in (*self.definite, *self.maybe)}
        return listed | self.open_systems | set(self.grammar)

    def test(self, system: str, code: str) -> tuple[CodeCheck, Concept | None]:
        key = (system, code)
        concept = self.definite.get(key) or self._folded.get((system, code.casefold()))
        if concept is not None:
            return YES, concept
        if key in self.maybe:
            return MAYBE, self.maybe[key]
        if key in self.excluded:
            return NO, None
        return self._beyond_listed(system, code)

    def _beyond_listed(self, system: str, code: str) -> tuple[CodeCheck, Concept | None]:
        if syntax_problem(system, code) is not None:
            return NO, None
        answer = NO
        for part in self.grammar.get(system, ()):
            if code not in part.excluded:
                answer = MAYBE if part.uncertain else YES
                if answer is YES:
                    return YES, Concept(system, code)
        if system in self.open_systems or self.open_any:
            answer = MAYBE
        return answer, None

    def test_code(self, code: str) -> tuple[CodeCheck, Concept | None]:
        """Membership of a code sent without a system (a FHIR `code` element)."""
        found = self._by_code.get(code)
        if found is not None:
            return YES, found
        systems = self.systems()
        if len(systems) == 1:
            return self.test(systems.pop(), code)
        if any(c.code == code for c in self.maybe.values()) or self.open_systems or self.open_any:
            return MAYBE, None
        return (MAYBE if any(self.test(system, code)[0] is not NO for system in self.grammar) else NO), None

    # --- algebra -----------------------------------------------------------------------------

    def union(self, other: Members) -> Members:
        definite = {**other.definite, **self.definite}
        maybe: dict[Key, Concept] = {}
        for key, concept in {**other.maybe, **self.maybe}.items():
            if key in definite:
                continue
            if YES in (self.test(*key)[0], other.test(*key)[0]):
                definite[key] = concept
            else:
                maybe[key] = concept
        grammar = {
            system: [*self.grammar.get(system, ()), *other.grammar.get(system, ())]
            for system in (*self.grammar, *other.grammar)
        }
        return Members(
            definite=definite,
            maybe=maybe,
            excluded={
                key
                for key in self.excluded | other.excluded
                if self.test(*key)[0] is NO and other.test(*key)[0] is NO
            },
            open_systems=self.open_systems | other.open_systems,
            open_any=self.open_any or other.open_any,
            grammar=grammar,
            notes=[*self.notes, *other.notes],
        )

    def minus(self, other: Members) -> Members:
        definite: dict[Key, Concept] = {}
        maybe: dict[Key, Concept] = {}
        for key, concept in self.definite.items():
            answer = other.test(*key)[0]
            if answer is NO:
                definite[key] = concept
            elif answer is MAYBE:
                maybe[key] = concept
        maybe.update((key, c) for key, c in self.maybe.items() if other.test(*key)[0] is not YES)
        return Members(
            definite=definite,
            maybe=maybe,
            excluded=self.excluded | set(other.definite),
            open_systems=set(self.open_systems),
            open_any=self.open_any,
            grammar={
                system: self._grammar_minus(system, parts, other) for system, parts in self.grammar.items()
            },
            notes=[*self.notes, *other.notes],
        )

    @staticmethod
    def _grammar_minus(system: str, parts: list[GrammarPart], other: Members) -> list[GrammarPart]:
        removed = frozenset(code for s, code in other.definite if s == system)
        doubtful = (
            other.open_any
            or system in other.open_systems
            or system in other.grammar
            or any(s == system for s, _ in other.maybe)
        )
        return [GrammarPart(part.excluded | removed, part.uncertain or doubtful) for part in parts]

    def intersect(self, other: Members) -> Members:
        result = Members(excluded=self.excluded | other.excluded, notes=[*self.notes, *other.notes])
        for key in {*self.definite, *self.maybe, *other.definite, *other.maybe}:
            mine, theirs = self.test(*key), other.test(*key)
            answer = _and(mine[0], theirs[0])
            concept = _richer(mine[1], theirs[1])
            if answer is not NO and concept is not None:
                (result.definite if answer is YES else result.maybe)[key] = concept
        for system in self.systems() | other.systems():
            self._intersect_beyond_listed(system, other, result)
        result.open_any = self.open_any and other.open_any
        result.reindex()
        return result

    def _beyond_kind(self, system: str) -> str:
        if self.open_any or system in self.open_systems:
            return "open"
        return "grammar" if system in self.grammar else "none"

    def _intersect_beyond_listed(self, system: str, other: Members, result: Members) -> None:
        mine, theirs = self._beyond_kind(system), other._beyond_kind(system)
        if "none" in (mine, theirs):
            return
        if mine == theirs == "grammar":
            result.grammar[system] = [
                GrammarPart(a.excluded | b.excluded, a.uncertain or b.uncertain)
                for a in self.grammar[system]
                for b in other.grammar[system]
            ]
        elif "grammar" in (mine, theirs):
            parts = self.grammar[system] if mine == "grammar" else other.grammar[system]
            result.grammar[system] = [GrammarPart(part.excluded, uncertain=True) for part in parts]
        else:
            result.open_systems.add(system)

    def without_inactive(self) -> Members:
        kept = {key: c for key, c in self.definite.items() if not c.inactive}
        return replace(self, definite=kept, excluded=self.excluded | (set(self.definite) - set(kept)))
