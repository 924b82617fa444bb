"""Syntax of UCUM unit expressions (case-sensitive form), checked offline.

The grammar, from the UCUM specification:

    main-term   := "/" term | term
    term        := component (("." | "/") component)*
    component   := annotatable annotation* | annotation | factor annotation*
                 | "(" term ")" exponent? annotation*
    annotatable := simple-unit exponent?
    simple-unit := atom | prefix metric-atom
    exponent    := ("+" | "-")? digits
    annotation  := "{" printable ASCII except curly braces "}"

Two leniencies, so that no unit a reference implementation accepts is called
invalid here: a parenthesised term and a factor may carry annotations, and a
parenthesised term an exponent. Only the syntax and the symbols are checked;
units are not converted or compared.
"""

from __future__ import annotations

import re

from conformance.terminology.ucum_atoms import METRIC_ATOMS, NON_METRIC_ATOMS, PREFIXES

MAX_DEPTH = 32  # nesting of parentheses; a hostile unit must not exhaust the stack
_PREFIXES_LONGEST_FIRST = tuple(sorted(PREFIXES, key=len, reverse=True))
_EXPONENT_AT_END = re.compile(r"([+-]?[0-9]+)$")
_STOP = frozenset("./(){}")


class _Invalid(Exception):
    """Internal: why parsing stopped (never leaves this module)."""


def ucum_problem(expression: str) -> str | None:
    """None when `expression` is a valid UCUM unit expression; otherwise what is wrong with it."""
    if not expression:
        return "a UCUM unit cannot be empty"
    if not expression.isascii() or not expression.isprintable():
        return "a UCUM unit may contain only printable ASCII characters"
    if " " in expression:
        return "a UCUM unit may not contain spaces"
    try:
        _Parser(expression).main_term()
    except _Invalid as problem:
        return str(problem)
    return None


def is_valid_ucum(expression: str) -> bool:
    return ucum_problem(expression) is None


def is_unit_symbol(symbol: str) -> bool:
    """A UCUM atom, or a prefix followed by an atom that takes prefixes."""
    if symbol in METRIC_ATOMS or symbol in NON_METRIC_ATOMS:
        return True
    return any(
        symbol.startswith(prefix) and symbol[len(prefix) :] in METRIC_ATOMS
        for prefix in _PREFIXES_LONGEST_FIRST
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def fail(self, what: str) -> _Invalid:
        return _Invalid(f"{what} at position {self.pos + 1}")

    def main_term(self) -> None:
        if self.peek() == "/":
            self.pos += 1
        self.term()
        if self.pos != len(self.text):
            raise self.fail(f"unexpected '{self.peek()}'")

    def term(self) -> None:
        self.component()
        while self.peek() in (".", "/"):
            self.pos += 1
            self.component()

    def component(self) -> None:
        char = self.peek()
        if char == "(":
            self.parenthesised()
        elif char == "{":
            self.annotation()
        elif char and char not in _STOP:
            self.annotatable()
        else:
            raise self.fail("a unit is expected" if char else "the unit ends where a unit is expected")
        while self.peek() == "{":
            self.annotation()

    def parenthesised(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail("parentheses nested too deeply")
        self.pos += 1
        self.term()
        if self.peek() != ")":
            raise self.fail("')' is expected")
        self.pos += 1
        self.depth -= 1
        match = re.match(r"[+-]?[0-9]+", self.text[self.pos :])
        if match:
            self.pos += match.end()

    def annotation(self) -> None:
        end = self.text.find("}", self.pos + 1)
        if end < 0:
            raise self.fail("'{' is not closed")
        if "{" in self.text[self.pos + 1 : end]:
            raise self.fail("annotations cannot be nested")
        self.pos = end + 1

    def annotatable(self) -> None:
        start = self.pos
        run = self.symbol_run()
        symbol, exponent = self.split_exponent(run)
        if not symbol:
            if exponent.isdigit():
                return  # a factor, such as the "1" in "1/min"
            raise _Invalid(f"'{run}' at position {start + 1} is neither a factor nor a unit")
        if not is_unit_symbol(symbol):
            raise _Invalid(f"'{symbol}' at position {start + 1} is not a UCUM unit")

    def symbol_run(self) -> str:
        """Characters up to the next operator; square brackets are part of a symbol, whatever they hold."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _STOP:
            if self.text[self.pos] == "[":
                close = self.text.find("]", self.pos)
                if close < 0:
                    raise self.fail("'[' is not closed")
                self.pos = close
            self.pos += 1
        return self.text[start : self.pos]

    @staticmethod
    def split_exponent(run: str) -> tuple[str, str]:
        after_brackets = run.rfind("]") + 1
        match = _EXPONENT_AT_END.search(run, after_brackets)
        if match is None:
            return run, ""
        return run[: match.start()], match.group(1)
