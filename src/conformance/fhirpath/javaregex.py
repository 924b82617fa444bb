"""Java regular expressions, as FHIR writes them, translated for Python's `re` and `regex` engines.

FHIR's regexes (the `regex` extension on primitive types and elements, FHIRPath `matches()`) are written for
Java's `java.util.regex`, which the HL7 validator runs, and XML Schema. Python gives the shorthand classes
Unicode meanings that Java does not: `\\S` excludes a no-break space in Python but not in Java, `\\d` takes
Arabic-Indic digits, `\\w` takes accented letters, `.` takes `\\r` and `\\u2028`, `$` only looks past a final
`\\n`. The translation writes each Java construct as the explicit set Java defines (java.util.regex.Pattern,
default flags):

| Java | means |
|---|---|
| `\\s` / `\\S` | `[ \\t\\n\\x0B\\f\\r]` / its complement |
| `\\d` / `\\D` | `[0-9]` / its complement |
| `\\w` / `\\W` | `[a-zA-Z_0-9]` / its complement |
| `\\b` / `\\B` | a boundary / no boundary between `\\w` and `\\W` (ASCII, as `\\w`) |
| `\\h` / `\\v` | horizontal / vertical whitespace (explicit Unicode lists) |
| `.` | any character but a line terminator (`\\n \\r \\u0085 \\u2028 \\u2029`); any character with DOTALL |
| `$`, `\\Z` | end of input, or before a final line terminator; `\\z` the very end |
| `\\p{Alpha}`... | the POSIX classes, US-ASCII only |
| `[a[b]]`, `[a&&[b]]` | union and intersection of classes (the `regex` package's VERSION1 sets) |
| `\\Q..\\E`, `\\0oo`, `\\x{h..h}`, `\\cX`, `\\e`, `\\a`, `(?<n>..)`, `\\k<n>` | in Python spelling |

A class that unites a negated shorthand with other members (`[ \\r\\n\\t\\S]`, FHIR's `string`) is written
as one plain class (`[^\\x0B\\f]`), so the core types' regexes still run on the standard library's engine;
only Java's nested classes and intersections need the `regex` package (`Translation.nested_sets`).

Leading inline flags (`(?s)`, `(?U)`...) are honoured for the whole pattern; flags set part-way through a
pattern are passed on as they are. Anchoring (whole-string for `regex` extensions, as XML Schema patterns
and Java's `String.matches`; a search for FHIRPath `matches()`) is the caller's choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# java.util.regex.Pattern, "Predefined character classes" and "POSIX character classes (US-ASCII only)".
JAVA_SPACE = frozenset(" \t\n\x0b\f\r")
JAVA_DIGIT = frozenset("0123456789")
JAVA_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
JAVA_HORIZONTAL_SPACE = frozenset(
    " \t\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
JAVA_VERTICAL_SPACE = frozenset("\n\x0b\f\r\x85\u2028\u2029")
LINE_TERMINATORS = frozenset("\n\r\x85\u2028\u2029")
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_ASCII_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
POSIX_CLASSES: dict[str, frozenset[str]] = {
    "Lower": _ASCII_LOWER,
    "Upper": _ASCII_UPPER,
    "ASCII": frozenset(chr(c) for c in range(0x80)),
    "Alpha": _ASCII_LOWER | _ASCII_UPPER,
    "Digit": JAVA_DIGIT,
    "Alnum": _ASCII_LOWER | _ASCII_UPPER | JAVA_DIGIT,
    "Punct": _PUNCT,
    "Graph": _ASCII_LOWER | _ASCII_UPPER | JAVA_DIGIT | _PUNCT,
    "Print": _ASCII_LOWER | _ASCII_UPPER | JAVA_DIGIT | _PUNCT | {" "},
    "Blank": frozenset(" \t"),
    "Cntrl": frozenset([*(chr(c) for c in range(0x20)), "\x7f"]),
    "XDigit": frozenset("0123456789abcdefABCDEF"),
    "Space": JAVA_SPACE,
}
SHORTHANDS: dict[str, frozenset[str]] = {
    "s": JAVA_SPACE,
    "d": JAVA_DIGIT,
    "w": JAVA_WORD,
    "h": JAVA_HORIZONTAL_SPACE,
    "v": JAVA_VERTICAL_SPACE,
}
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "e": "\x1b", "a": "\x07"}
_WORD = "[a-zA-Z0-9_]"
_BOUNDARY = f"(?:(?<={_WORD})(?!{_WORD})|(?<!{_WORD})(?={_WORD}))"
_NOT_BOUNDARY = f"(?:(?<={_WORD})(?={_WORD})|(?<!{_WORD})(?!{_WORD}))"
_LEADING_FLAGS = re.compile(r"\(\?([a-zA-Z]+)\)")
_PYTHON_FLAGS = "imsx"


class JavaRegexError(ValueError):
    """The pattern is not a valid Java regular expression (as far as the translation reads it)."""


@dataclass(frozen=True)
class Translation:
    flags: str  # leading inline flags, Python spelling ("(?i)"), kept apart so the body can be wrapped
    body: str
    nested_sets: bool  # Java nested classes or intersections: compile with regex.VERSION1

    @property
    def pattern(self) -> str:
        return self.flags + self.body

    @property
    def anchored(self) -> str:
        """The whole input must match (XML Schema patterns, Java's `String.matches`)."""
        return f"{self.flags}(?:{self.body})\\Z"


def translate(pattern: str, *, dotall: bool = False) -> Translation:
    """`pattern` (Java syntax) for Python; `dotall` makes `.` take line terminators (Pattern.DOTALL)."""
    flags, start = _leading_flags(pattern)
    dotall = dotall or "s" in flags
    translator = _Translator(
        pattern, start, dotall=dotall, unicode_classes="U" in flags, multiline="m" in flags
    )
    body = translator.run()
    python_flags = "".join(f for f in flags if f in _PYTHON_FLAGS and f != "s")
    return Translation(f"(?{python_flags})" if python_flags else "", body, translator.nested_sets)


def _leading_flags(pattern: str) -> tuple[str, int]:
    flags = ""
    position = 0
    while match := _LEADING_FLAGS.match(pattern, position):
        flags += match.group(1)
        position = match.end()
    return flags, position


def char_escape(char: str) -> str:
    """One character, written so that it means itself inside or outside a class, in `re` and `regex`."""
    if char.isascii() and char.isalnum():
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _set_text(members: frozenset[str] | set[str]) -> str:
    """Class members as ranges of escaped characters (no brackets)."""
    codes = sorted(ord(c) for c in members)
    parts: list[str] = []
    index = 0
    while index < len(codes):
        end = index
        while end + 1 < len(codes) and codes[end + 1] == codes[end] + 1:
            end += 1
        first, last = chr(codes[index]), chr(codes[end])
        parts.append(char_escape(first) if first == last else f"{char_escape(first)}-{char_escape(last)}")
        index = end + 1
    return "".join(parts)


_EVERYTHING = "\\x00-\\U0010ffff"


def _class_text(members: frozenset[str] | set[str], *, negated: bool) -> str:
    text = _set_text(members)
    if not text:  # an empty class matches nothing; its complement, everything
        return f"[{_EVERYTHING}]" if negated else f"[^{_EVERYTHING}]"
    return f"[^{text}]" if negated else f"[{text}]"


@dataclass
class _ClassParts:
    """What one Java class `[...]` holds: enumerable members, complements of finite sets, anything else."""

    negated: bool = False
    chars: set[str] | None = None
    ranges: list[tuple[str, str]] | None = None
    complements: list[frozenset[str]] | None = None
    raw: list[str] | None = None  # \p{...}, nested classes, intersections: written as they are
    written: list[str] | None = None  # every member in its order, written out (intersections need it)

    def _write(self, text: str) -> None:
        self.written = [*(self.written or []), text]

    def add_char(self, char: str) -> None:
        self.chars = (self.chars or set()) | {char}
        self._write(char_escape(char))

    def add_range(self, low: str, high: str) -> None:
        if low > high:
            raise JavaRegexError(f"illegal character range {low!r}-{high!r}")
        self.ranges = [*(self.ranges or []), (low, high)]
        self._write(f"{char_escape(low)}-{char_escape(high)}")

    def add_complement(self, members: frozenset[str]) -> None:
        self.complements = [*(self.complements or []), members]
        self._write(_class_text(members, negated=True))

    def add_raw(self, text: str) -> None:
        self.raw = [*(self.raw or []), text]
        self._write(text)

    def contains(self, char: str) -> bool:
        return char in (self.chars or ()) or any(low <= char <= high for low, high in self.ranges or ())


class _Translator:
    def __init__(
        self, pattern: str, start: int, *, dotall: bool, unicode_classes: bool, multiline: bool
    ) -> None:
        self.pattern = pattern
        self.position = start
        self.dotall = dotall
        self.unicode_classes = unicode_classes
        self.multiline = multiline
        self.nested_sets = False

    # ---- outside classes

    def run(self) -> str:
        out: list[str] = []
        while self.position < len(self.pattern):
            out.append(self._next())
        return "".join(out)

    def _next(self) -> str:
        char = self.pattern[self.position]
        self.position += 1
        if char == "\\":
            return self._escape()
        if char == "[":
            return self._class()
        if char == ".":
            return "(?s:.)" if self.dotall else _class_text(LINE_TERMINATORS, negated=True)
        if char == "$" and not self.multiline:
            return self._end_before_terminator()
        if char == "(" and self.pattern.startswith("?<", self.position) and self._group_name_follows():
            self.position += 1  # `(?<name>` is Python's `(?P<name>`
            return "(?P"
        return char

    def _group_name_follows(self) -> bool:
        following = self.pattern[self.position + 2 : self.position + 3]
        return following.isalpha()

    def _end_before_terminator(self) -> str:
        terminators = _set_text(LINE_TERMINATORS)
        return f"(?=(?:\\r\\n|[{terminators}])?\\Z)"

    def _escape(self) -> str:
        if self.position >= len(self.pattern):
            raise JavaRegexError("the pattern ends with a lone backslash")
        letter = self.pattern[self.position]
        self.position += 1
        shorthand = self._shorthand(letter)
        if shorthand is not None:
            members, negated = shorthand
            return _class_text(members, negated=negated)
        if letter in "sdwSDW" and self.unicode_classes:
            return "\\" + letter  # (?U): Java's classes follow Unicode, as Python's do
        return self._escape_outside(letter)

    def _escape_outside(self, letter: str) -> str:  # noqa: PLR0911 - one answer per Java escape
        if letter == "b":
            return "\\b" if self.unicode_classes else _BOUNDARY
        if letter == "B":
            return "\\B" if self.unicode_classes else _NOT_BOUNDARY
        if letter == "z":
            return "\\Z"
        if letter == "Z":
            return self._end_before_terminator()
        if letter == "R":
            return f"(?:\\r\\n|[{_set_text(JAVA_VERTICAL_SPACE)}])"
        if letter == "Q":
            return re.escape(self._quoted())
        if letter == "k" and self.pattern.startswith("<", self.position):
            end = self.pattern.find(">", self.position)
            if end < 0:
                raise JavaRegexError("unterminated named back reference")
            name = self.pattern[self.position + 1 : end]
            self.position = end + 1
            return f"(?P={name})"
        if letter in "pP":
            return self._property(letter == "P", in_class=False)
        literal = self._literal(letter)
        return char_escape(literal) if literal is not None else "\\" + letter

    def _shorthand(self, letter: str) -> tuple[frozenset[str], bool] | None:
        if self.unicode_classes and letter in "sdwSDW":
            return None
        members = SHORTHANDS.get(letter.lower())
        if members is None:
            return None
        return members, letter.isupper()

    def _quoted(self) -> str:
        end = self.pattern.find("\\E", self.position)
        end = len(self.pattern) if end < 0 else end
        text = self.pattern[self.position : end]
        self.position = min(len(self.pattern), end + 2)
        return text

    def _literal(self, letter: str) -> str | None:
        """The one character an escape stands for (`\\t`, `\\x41`, `\\u00e9`, `\\0101`, `\\cM`...)."""
        if letter in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[letter]
        if letter == "x":
            return self._hex_escape()
        if letter == "u":
            return chr(self._hex_digits(4))
        if letter == "0":
            return self._octal_escape()
        if letter == "c":
            return self._control_escape()
        return letter if not letter.isalnum() else None  # an escaped metacharacter stands for itself

    def _control_escape(self) -> str:
        if self.position >= len(self.pattern):
            raise JavaRegexError("\\c at the end of the pattern")
        self.position += 1
        return chr(ord(self.pattern[self.position - 1]) ^ 64)

    def _hex_escape(self) -> str:
        if self.pattern.startswith("{", self.position):
            end = self.pattern.find("}", self.position)
            if end < 0:
                raise JavaRegexError("unterminated \\x{...}")
            digits = self.pattern[self.position + 1 : end]
            self.position = end + 1
            try:
                code = int(digits, 16)
                return chr(code)
            except (ValueError, OverflowError):
                raise JavaRegexError(f"bad \\x{{{digits}}}") from None
        return chr(self._hex_digits(2))

    def _hex_digits(self, count: int) -> int:
        digits = self.pattern[self.position : self.position + count]
        if len(digits) != count or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise JavaRegexError(f"bad hexadecimal escape near {digits!r}")
        self.position += count
        return int(digits, 16)

    def _octal_escape(self) -> str:
        digits = ""
        limit = 3 if self.pattern[self.position : self.position + 1] in ("0", "1", "2", "3") else 2
        while len(digits) < limit and self.pattern[self.position : self.position + 1] in tuple("01234567"):
            digits += self.pattern[self.position]
            self.position += 1
        if not digits:
            raise JavaRegexError("\\0 must be followed by an octal digit")
        return chr(int(digits, 8))

    def _property(self, negated: bool, *, in_class: bool) -> str:
        """`\\p{Alpha}` (POSIX, ASCII) as an explicit set; other properties as the `regex` package names
        them (`\\p{L}`, `\\p{IsLatin}` as `\\p{Latin}`, `\\p{InGreek}` as `\\p{Block=Greek}`)."""
        if self.pattern.startswith("{", self.position):
            end = self.pattern.find("}", self.position)
            if end < 0:
                raise JavaRegexError("unterminated \\p{...}")
            name = self.pattern[self.position + 1 : end]
            self.position = end + 1
        else:
            name = self.pattern[self.position : self.position + 1]
            self.position += 1
        posix = POSIX_CLASSES.get(name.removeprefix("Is")) if not self.unicode_classes else None
        if posix is not None:
            return _set_text(posix) if in_class and not negated else _class_text(posix, negated=negated)
        if name.startswith("In"):
            name = "Block=" + name[2:]
        elif name.startswith("Is"):
            name = name[2:]
        return f"\\{'P' if negated else 'p'}{{{name}}}"

    # ---- classes

    def _class(self) -> str:
        parts = self._class_parts()
        return self._class_out(parts)

    def _class_parts(self) -> _ClassParts:
        parts = _ClassParts()
        if self.pattern.startswith("^", self.position):
            parts.negated = True
            self.position += 1
        first = True
        while True:
            if self.position >= len(self.pattern):
                raise JavaRegexError("unterminated character class")
            char = self.pattern[self.position]
            if char == "]" and not first:
                self.position += 1
                return parts
            first = False
            self._class_item(parts)

    def _class_item(self, parts: _ClassParts) -> None:
        char = self.pattern[self.position]
        self.position += 1
        if char == "[":
            nested = self._class_parts()
            parts.add_raw(self._class_out(nested))
            self.nested_sets = True
            return
        if char == "&" and self.pattern.startswith("&", self.position):
            self.position += 1
            parts.add_raw("&&")
            self.nested_sets = True
            return
        single = self._class_single(char, parts)
        if single is None:
            return
        if self.pattern.startswith("-", self.position) and self.pattern[
            self.position + 1 : self.position + 2
        ] not in (
            "]",
            "",
            "[",
        ):
            self.position += 1
            high_char = self.pattern[self.position]
            self.position += 1
            high = self._class_single(high_char, None)
            if high is None:
                raise JavaRegexError("a class range must end with a single character")
            parts.add_range(single, high)
            return
        parts.add_char(single)

    def _class_single(self, char: str, parts: _ClassParts | None) -> str | None:
        """The single character `char` (or the escape it starts) stands for; None when it added a set."""
        if char != "\\":
            return char
        if self.position >= len(self.pattern):
            raise JavaRegexError("the pattern ends with a lone backslash")
        letter = self.pattern[self.position]
        self.position += 1
        if parts is None:
            literal = self._literal(letter)
            if literal is None:
                raise JavaRegexError(f"\\{letter} cannot end a class range")
            return literal
        return self._class_escape(letter, parts)

    def _class_escape(self, letter: str, parts: _ClassParts) -> str | None:
        shorthand = self._shorthand(letter)
        if shorthand is not None:
            members, negated = shorthand
            if negated:
                parts.add_complement(members)
            else:
                for member in members:
                    parts.add_char(member)
            return None
        if letter in "sdwSDW":  # (?U)
            parts.add_raw("\\" + letter)
            return None
        if letter in "pP":
            parts.add_raw(self._property(letter == "P", in_class=True))
            return None
        if letter == "Q":
            for quoted in self._quoted():
                parts.add_char(quoted)
            return None
        literal = self._literal(letter)
        if literal is None:
            raise JavaRegexError(f"\\{letter} is not allowed in a character class")
        return literal

    def _class_out(self, parts: _ClassParts) -> str:
        if parts.complements and not parts.raw:
            return self._union_with_complements(parts)
        if parts.complements:
            self.nested_sets = True
        body = "".join(parts.written or ())
        if not body:
            raise JavaRegexError("empty character class")
        return f"[{'^' if parts.negated else ''}{body}]"

    @staticmethod
    def _union_with_complements(parts: _ClassParts) -> str:
        """P plus not-N1 ... plus not-Nk is everything except what all the Ni share and P lacks."""
        complements = parts.complements or []
        shared = frozenset.intersection(*complements)
        excluded = {c for c in shared if not parts.contains(c)}
        return _class_text(excluded, negated=not parts.negated)
