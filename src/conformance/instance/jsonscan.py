"""Position-tracking scans of JSON text, for the payloads that need them.

The fast parse (`jsonform`) builds values without positions. Two scans read the same text again, token by
token and iteratively (no recursion, whatever the nesting):

- `value_offsets` / `value_starts`, when a payload asks for many positions: where each value starts, in text
  known to be valid;
- `scan`, when the fast parse failed or found something to report: the first syntax error with a reason a
  person can act on, the point where nesting passes the limit, repeated keys and raw control characters.

`PathFinder` answers the first few position questions without either: it reads only the text before the
asked value, with the standard library's C decoder skipping the values it passes. It reads the whole text,
or (a large payload, kept compressed) a window of it decoded forward in pieces (`textsource`).
"""

from __future__ import annotations

import bisect
import json
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

from conformance.instance.parsed import Path, Position
from conformance.instance.textsource import StreamedText, WholeText

_TOKEN_PATTERN = r"""[ \t\n\r]*(?:
        (?P<string>"[^"\\{controls}]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{{4}})[^"\\{controls}]*)*")
      | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![0-9A-Za-z_.+-])
      | (?P<literal>(?:true|false|null)(?![0-9A-Za-z_]))
      | (?P<punct>[{{}}\[\],:])
    )"""
_STRICT_TOKEN = re.compile(_TOKEN_PATTERN.format(controls="\\x00-\\x1f"), re.VERBOSE)
# Raw control characters inside strings break RFC 8259, but the HL7 validator reads them; so can we.
_LENIENT_TOKEN = re.compile(_TOKEN_PATTERN.format(controls=""), re.VERBOSE)
_CONTROL = re.compile(r"[\x00-\x1f]")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_WORD = re.compile(r"[A-Za-z_$][0-9A-Za-z_$]*")
_NON_FINITE = {"NaN", "Infinity"}
_VALID_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]|[^\s{}\[\],:"]+', re.DOTALL)


class _Expect(Enum):
    VALUE = auto()
    VALUE_OR_CLOSE = auto()
    KEY = auto()
    KEY_OR_CLOSE = auto()
    COLON = auto()
    COMMA_OR_CLOSE = auto()
    END = auto()


@dataclass
class _Container:
    is_object: bool
    path: Path
    count: int = 0
    key: str = ""
    keys: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Duplicate:
    object_path: Path
    key: str
    offset: int


@dataclass(frozen=True)
class SyntaxProblem:
    offset: int
    reason: str
    path: Path


@dataclass
class ScanResult:
    duplicates: list[Duplicate] = field(default_factory=list)
    problem: SyntaxProblem | None = None
    too_deep_at: int | None = None
    control_characters: list[tuple[int, Path]] = field(default_factory=list)
    """Where raw control characters sit inside strings, and the path of the value or key (lenient scans)."""
    resource_type: str | None = None


class LineIndex:
    """Character offsets to 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self._newlines = [match.start() for match in re.finditer("\n", text)]

    def position(self, offset: int) -> Position:
        line = bisect.bisect_left(self._newlines, offset)
        line_start = self._newlines[line - 1] + 1 if line else 0
        return line + 1, offset - line_start + 1


# From an object's `{` or the end of a member's value: the next key (when it has no escape) and its colon.
_PLAIN_MEMBER = r'[ \t\n\r]*[{,][ \t\n\r]*"([^"\\]*)"[ \t\n\r]*:[ \t\n\r]*'
_MEMBER = r'[ \t\n\r]*[{,][ \t\n\r]*(?=")'
_COLON = r"[ \t\n\r]*:[ \t\n\r]*"
_NEXT_ELEMENT = r"[ \t\n\r]*,[ \t\n\r]*"
_WHITESPACE_RUN = r"[ \t\n\r]*"
# Raw control characters in strings were accepted (with a warning) when the text was read: accept them here.
_DECODER = json.JSONDecoder(strict=False)
# The C scanner behind `raw_decode`, called directly: it runs once per value passed over. (Not in typeshed.)
_scan_value: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_AHEAD = 1 << 12
"""Characters held past a value or token before it is read; more when it turns out longer."""
_UNSET = -1
_NUMBER_GOES_ON = frozenset(".eE+-0123456789")


class _Token:
    """One of the finder's patterns: matched with `re` on the whole text, or with `regex`'s partial matching
    on a window of it (which says when a match could go on past the end of what is held)."""

    def __init__(self, pattern: str) -> None:
        self.whole = re.compile(pattern)
        self._pattern = pattern
        self._partial: Any = None

    def partial(self) -> Any:
        if self._partial is None:
            import regex  # noqa: PLC0415 -- only a payload read in pieces needs it

            self._partial = regex.compile(self._pattern)
        return self._partial


_PLAIN_MEMBER_TOKEN = _Token(_PLAIN_MEMBER)
_MEMBER_TOKEN = _Token(_MEMBER)
_COLON_TOKEN = _Token(_COLON)
_NEXT_ELEMENT_TOKEN = _Token(_NEXT_ELEMENT)
_WHITESPACE_TOKEN = _Token(_WHITESPACE_RUN)


class PathFinder:
    """Where the value at a path starts, found by reading the text from its start, in text known to be valid:
    each key is decoded and each sibling value passed over by the standard library's C decoder, so a lookup
    costs the text before the value at C speed, not a token-by-token scan of all of it.

    Paths asked in text order (as issues mostly are) cost one pass over the text in all: an array's elements
    are counted on from the last one reached (or a mark passed on the way), and lines once.

    The text is a `str`, or a `StreamedText` that holds a window of it: each lookup reads forward from where
    it begins, so what is before that may be let go; reading before the window decodes from the start again.

    `cost` adds up, in characters the C decoder passes over (a few nanoseconds each), what the lookups have
    cost: the characters read, and the Python work around each value passed and each path asked; the caller
    compares it with what an index of every value would cost and builds that instead past a point.

    With `repeated_keys` (some object repeats a key) a path reaches the last value in the text that has it,
    as `value_offsets` does: the occurrences of a key are tried from the last back to the first.
    """

    STEP_COST = 128
    """Passing one value costs about this many characters' worth beyond its length (the calls around it)."""
    LOOKUP_COST = 512
    """Asking for one path costs about this many characters' worth before any is read."""
    LINE_COST_DIVISOR = 4
    """Counting newlines reads text about this many times faster than passing values over does."""
    _REMEMBERED = 4096
    """How many containers' starts (by path) and arrays' `_ElementMarks` are kept."""

    def __init__(self, text: str | StreamedText, *, repeated_keys: bool = False) -> None:
        self._source: WholeText | StreamedText = WholeText(text) if isinstance(text, str) else text
        self.cost = 0
        self._repeated_keys = repeated_keys
        self._keep_from = _UNSET  # where the current lookup began reading: what is before may be let go
        root = self._past(_WHITESPACE_TOKEN, 0)
        # Each container's start and its opening character, so that reaching into it reads no text before.
        self._containers: dict[Path, tuple[int, str]] = {(): (root, self._char(root))}
        self._arrays: dict[int, _ElementMarks] = {}  # by the offset of the array's `[`

    @property
    def text(self) -> str:
        """The whole text (decoded at once, when it is read in pieces)."""
        return self._source.whole()

    def position(self, offset: int) -> Position:
        """`LineIndex(text).position(offset)`, from the lines counted so far."""
        position, counted = self._source.position(offset)
        self.cost += counted // self.LINE_COST_DIVISOR
        return position

    def offset(self, path: Path) -> int | None:
        """The offset of the value at `path`, or None when the text has no value there."""
        self.cost += self.LOOKUP_COST
        if self._repeated_keys:
            return self._last_offset(path)
        depth, start, opener = self._nearest_known(path)
        self._keep_from = _UNSET
        for step in path[depth:]:
            found = self._child(start, opener, step)
            if found is None:
                return None
            depth += 1
            start, opener = found, self._char(found)
            if opener in "{[" and len(self._containers) < self._REMEMBERED:
                self._containers[path[:depth]] = (start, opener)
        return start

    def _nearest_known(self, path: Path) -> tuple[int, int, str]:
        for depth in range(len(path), 0, -1):
            known = self._containers.get(path[:depth])
            if known is not None:
                return depth, *known
        return 0, *self._containers[()]

    def _child(self, start: int, opener: str, step: str | int) -> int | None:
        if opener == "{" and isinstance(step, str):
            return next(self._occurrences(start, step), None)
        if opener == "[" and isinstance(step, int) and step >= 0:
            return self._element(start, step)
        return None

    def _last_offset(self, path: Path) -> int | None:
        # Depth first, the later occurrence of a key first: the first value found is the last in the text.
        # A stack, not recursion, whatever the length of the path. It reads back and forth: nothing is let go.
        self._keep_from = 0
        pending = [(0, self._containers[()][0])]
        while pending:
            depth, start = pending.pop()
            if depth == len(path):
                return start
            step = path[depth]
            opener = self._char(start)
            if opener == "{" and isinstance(step, str):
                pending.extend((depth + 1, value) for value in self._occurrences(start, step))
            elif (element := self._child(start, opener, step)) is not None:
                pending.append((depth + 1, element))
        return None

    def _occurrences(self, start: int, key: str) -> Iterator[int]:
        """Where the values of `key` start in the object at `start`, in text order."""
        at = start  # the `{`, then the end of each member's value
        while True:
            member, base = self._match(_PLAIN_MEMBER_TOKEN, at)
            if member is not None:
                name, value = member.group(1), base + member.end()
            else:  # the object closes, or the key has an escape
                opening, base = self._match(_MEMBER_TOKEN, at)
                if opening is None:
                    return
                name, name_end = self._scan(base + opening.end())
                value = self._past(_COLON_TOKEN, name_end)
            if name == key:
                yield value
            at = self._pass(value)

    def _element(self, start: int, index: int) -> int | None:
        marks = self._arrays.get(start)
        if marks is None:
            first = self._past(_WHITESPACE_TOKEN, start + 1)
            if self._char(first) == "]":
                return None
            marks = _ElementMarks(first)
            if len(self._arrays) < self._REMEMBERED:
                self._arrays[start] = marks
        reached, at = marks.nearest(index)
        while reached < index:
            comma, base = self._match(_NEXT_ELEMENT_TOKEN, self._pass(at))
            if comma is None:
                return None
            at = base + comma.end()
            reached += 1
            marks.passed(reached, at)
        marks.last = (index, at)
        return at

    def _pass(self, start: int) -> int:
        """The end of the value at `start`."""
        end = self._scan(start)[1]
        self.cost += end - start + self.STEP_COST
        return end

    # Reading the text: all of it held, or a window of it that may have to be read further (`_held`).

    def _held(self, offset: int, ahead: int) -> tuple[str, int]:
        """The text held, and where `offset` is in it, with `ahead` characters after it where there are."""
        if self._keep_from == _UNSET or offset < self._keep_from:
            self._keep_from = offset  # a lookup reads forward from its first read
        source = self._source
        self.cost += source.reach(offset, ahead, self._keep_from)
        return source.text, offset - source.base

    def _char(self, offset: int) -> str:
        text, at = self._held(offset, 1)
        return text[at : at + 1]

    def _match(self, token: _Token, offset: int) -> tuple[Any, int]:
        """`token` matched at `offset`, and the offset its match's positions count from."""
        ahead = _AHEAD
        while True:
            text, at = self._held(offset, ahead)
            if self._source.ended:
                return token.whole.match(text, at), self._source.base
            # A match that reaches the end of what is held might go on (or only then succeed): read more.
            found = token.partial().match(text, at, partial=True)
            if found is None or (not found.partial and found.end() < len(text)):
                return found, self._source.base
            ahead = 2 * (len(text) - at) + 1

    def _scan(self, offset: int) -> tuple[Any, int]:
        """The value at `offset` and where it ends, read by the C decoder."""
        ahead = _AHEAD
        while True:
            text, at = self._held(offset, ahead)
            ended, base = self._source.ended, self._source.base
            try:
                value, end = _scan_value(text, at)
            except (StopIteration, ValueError):
                if ended:
                    raise
                end = len(text)  # cut off by the end of what is held
            # Anything cut off by the end of what is held fails, but a number may look complete before its
            # fraction or exponent (`1.` reads as 1): read more then too.
            if ended or (end < len(text) and text[end] not in _NUMBER_GOES_ON):
                return value, base + end
            ahead = 2 * (len(text) - at) + 1

    def _past(self, token: _Token, start: int) -> int:
        """The end of `token` matched at `start` (tokens that match there in valid JSON)."""
        match, base = self._match(token, start)
        return base + match.end() if match is not None else start


def _string(token: str) -> str:
    """A JSON string token's text; raw control characters in it are read, as the lenient scan allows them."""
    text: str = _DECODER.decode(token)
    return text


class _ElementMarks:
    """Where some elements of one array start: every `EVERY`th one passed, and the last one reached.

    Elements asked in order are counted on from the last one reached; out of order, from the mark before.
    """

    EVERY = 16

    def __init__(self, first: int) -> None:
        self.every = array("q", [first])
        self.last = (0, first)

    def nearest(self, index: int) -> tuple[int, int]:
        """The known element at or before `index` nearest to it: its index and offset."""
        mark = min(index // self.EVERY, len(self.every) - 1)
        if mark * self.EVERY < self.last[0] <= index:
            return self.last
        return mark * self.EVERY, self.every[mark]

    def passed(self, index: int, offset: int) -> None:
        # Walks start at a known element, so the marks before `index` are all known already.
        if index % self.EVERY == 0 and index // self.EVERY == len(self.every):
            self.every.append(offset)


def value_offsets(text: str) -> dict[Path, int]:
    """Where each value starts, by JSON path, in text already known to be valid JSON.

    The fast path for positions: no error checking, so a few comparisons per token.
    """
    offsets: dict[Path, int] = {}
    paths: list[Path] = []  # of the open containers
    slots: list[str | int] = []  # the current key or index in each
    objects: list[bool] = []
    expect_key = False
    for match in _VALID_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == ":":
            continue
        if first == ",":
            if objects[-1]:
                expect_key = True
            else:
                slots[-1] = int(slots[-1]) + 1
            continue
        if first in "}]":
            paths.pop()
            slots.pop()
            objects.pop()
            expect_key = False  # after an empty object
            continue
        if expect_key:
            slots[-1] = token[1:-1] if "\\" not in token else _string(token)
            expect_key = False
            continue
        path = (*paths[-1], slots[-1]) if paths else ()
        offsets[path] = match.start()
        if first in "{[":
            paths.append(path)
            slots.append(0)
            objects.append(first == "{")
            expect_key = first == "{"
    return offsets


class ValueStarts:
    """Where each value starts, in document order, in two flat arrays: a few bytes a value, not a dict
    entry and a path tuple each (which cost a large Bundle more than its tree).

    A path is found by walking the parsed value beside the arrays: a key's place among its object's keys
    (the parsed object keeps the text's order when no key is repeated) and an index give the child's
    ordinal, and `sizes` (values in each subtree) skips the siblings before it.
    """

    _HOPS = 16
    """Children reached by skipping siblings; past this, a container's child table is built once."""

    def __init__(self, starts: array[int], sizes: array[int]) -> None:
        self.starts = starts
        self.sizes = sizes
        self._children: dict[int, array[int]] = {}
        self._key_ordinals: dict[int, dict[str, int]] = {}

    def offset(self, root: Any, path: Path) -> int | None:
        """The offset of the value at `path` in the parsed `root`, or None when there is no such value."""
        if not self.starts:
            return None
        node, value = 0, root
        for step in path:
            ordinal = self._ordinal(node, value, step)
            if ordinal is None:
                return None
            node = self._child(node, ordinal)
            value = value[step]
        return self.starts[node]

    def _ordinal(self, node: int, value: Any, step: str | int) -> int | None:
        if isinstance(step, int):
            return step if type(value) is list and 0 <= step < len(value) else None
        if type(value) is not dict or step not in value:
            return None
        if len(value) <= self._HOPS:
            return next(ordinal for ordinal, key in enumerate(value) if key == step)
        ordinals = self._key_ordinals.get(node)
        if ordinals is None:
            ordinals = self._key_ordinals[node] = {key: ordinal for ordinal, key in enumerate(value)}
        return ordinals[step]

    def _child(self, node: int, ordinal: int) -> int:
        if ordinal < self._HOPS:
            child = node + 1
            for _ in range(ordinal):
                child += self.sizes[child]
            return child
        table = self._children.get(node)
        if table is None:
            table = self._children[node] = self._child_table(node)
        return table[ordinal]

    def _child_table(self, node: int) -> array[int]:
        table = array("q")
        child, end = node + 1, node + self.sizes[node]
        while child < end:
            table.append(child)
            child += self.sizes[child]
        return table


def value_starts(text: str) -> ValueStarts:
    """`value_offsets` as a `ValueStarts`: the same offsets, found by path through the parsed value."""
    starts = array("q")
    sizes = array("q")
    open_containers: list[int] = []
    in_object: list[bool] = []
    expect_key = False
    for match in _VALID_TOKEN.finditer(text):
        first = match.group()[0]
        if first == ":":
            continue
        if first == ",":
            expect_key = in_object[-1]
            continue
        if first in "}]":
            start = open_containers.pop()
            in_object.pop()
            sizes[start] = len(starts) - start
            expect_key = False
            continue
        if expect_key:
            expect_key = False  # a key: its value is the next token
            continue
        if first in "{[":
            open_containers.append(len(starts))
            in_object.append(first == "{")
            expect_key = first == "{"
        starts.append(match.start())
        sizes.append(1)
    return ValueStarts(starts, sizes)


def scan(text: str, *, max_depth: int, lenient: bool = False) -> ScanResult:
    """Scan `text` once; stops at the first syntax error or at nesting deeper than `max_depth`.

    `lenient` accepts raw control characters inside strings, and notes where they are.
    """
    return _Scanner(text, max_depth, lenient).run()


class _Scanner:
    def __init__(self, text: str, max_depth: int, lenient: bool) -> None:
        self.text = text
        self.max_depth = max_depth
        self.lenient = lenient
        self.token = _LENIENT_TOKEN if lenient else _STRICT_TOKEN
        self.result = ScanResult()
        self.stack: list[_Container] = []
        self.expect = _Expect.VALUE

    def run(self) -> ScanResult:
        position = 0
        while self.result.problem is None and self.result.too_deep_at is None:
            match = self.token.match(self.text, position)
            if match is None:
                self._no_token(_WHITESPACE.match(self.text, position).end())  # type: ignore[union-attr]
                break
            kind = match.lastgroup or ""
            self._token(kind, match.group(kind), match.start(kind))
            position = match.end()
        return self.result

    def _token(self, kind: str, token: str, offset: int) -> None:
        expect = self.expect
        if expect in (_Expect.KEY, _Expect.KEY_OR_CLOSE) and kind == "string":
            self._key(token, offset)
        elif expect is _Expect.COLON and token == ":":
            self.expect = _Expect.VALUE
        elif expect is _Expect.COMMA_OR_CLOSE and token == ",":
            self._comma()
        elif token in ("}", "]") and self._may_close(token):
            self._close()
        elif token in ("{", "[") or (expect in (_Expect.VALUE, _Expect.VALUE_OR_CLOSE) and kind != "punct"):
            self._value(kind, token, offset)
        else:
            self._fail(offset, self._unexpected(token, offset))

    def _may_close(self, token: str) -> bool:
        if not self.stack:
            return False
        top = self.stack[-1]
        if top.is_object:
            return token == "}" and self.expect in (_Expect.KEY_OR_CLOSE, _Expect.COMMA_OR_CLOSE)
        return token == "]" and self.expect in (_Expect.VALUE_OR_CLOSE, _Expect.COMMA_OR_CLOSE)

    def _value(self, kind: str, token: str, offset: int) -> None:
        if self.expect not in (_Expect.VALUE, _Expect.VALUE_OR_CLOSE):
            self._fail(offset, self._unexpected(token, offset))
            return
        path = self._value_path()
        if token in ("{", "["):
            self._open(token == "{", path, offset)
            return
        if kind == "string":
            self._note_controls(token, offset, path)
            if path == ("resourceType",):
                self.result.resource_type = _string(token)
        self._after_value()

    def _open(self, is_object: bool, path: Path, offset: int) -> None:
        if len(self.stack) >= self.max_depth:
            self.result.too_deep_at = offset
            return
        self.stack.append(_Container(is_object, path))
        self.expect = _Expect.KEY_OR_CLOSE if is_object else _Expect.VALUE_OR_CLOSE

    def _close(self) -> None:
        self.stack.pop()
        self._after_value()

    def _after_value(self) -> None:
        self.expect = _Expect.COMMA_OR_CLOSE if self.stack else _Expect.END

    def _comma(self) -> None:
        top = self.stack[-1]
        if top.is_object:
            self.expect = _Expect.KEY
        else:
            top.count += 1
            self.expect = _Expect.VALUE

    def _key(self, token: str, offset: int) -> None:
        top = self.stack[-1]
        key = token[1:-1] if "\\" not in token else _string(token)
        if key in top.keys:
            self.result.duplicates.append(Duplicate(top.path, key, offset))
        top.keys.add(key)
        top.key = key
        self._note_controls(token, offset, (*top.path, key))
        self.expect = _Expect.COLON

    def _note_controls(self, token: str, offset: int, path: Path) -> None:
        if self.lenient:
            control = _CONTROL.search(token)
            if control is not None:
                self.result.control_characters.append((offset + control.start(), path))

    def _value_path(self) -> Path:
        if not self.stack:
            return ()
        top = self.stack[-1]
        return (*top.path, top.key if top.is_object else top.count)

    def _no_token(self, offset: int) -> None:
        if offset >= len(self.text):
            if self.expect is not _Expect.END:
                self._fail(offset, "the text ends before the JSON is complete")
            return
        self._fail(offset, self._unexpected(self.text[offset], offset))

    def _fail(self, offset: int, reason: str) -> None:
        path = self.stack[-1].path if self.stack else ()
        self.result.problem = SyntaxProblem(offset, reason, path)

    def _unexpected(self, token: str, offset: int) -> str:
        return _explain(self.text, offset, self.expect, self.stack[-1].is_object if self.stack else None)


@dataclass(frozen=True)
class _Spot:
    """Where a scan stopped, with what it expected there."""

    text: str
    offset: int
    expect: _Expect
    in_object: bool | None

    @property
    def char(self) -> str:
        return self.text[self.offset]

    @property
    def word(self) -> str | None:
        match = _WORD.match(self.text, self.offset)
        return match.group() if match else None

    @property
    def found(self) -> str:
        char = self.char
        return f"'{char}'" if char.isprintable() and not char.isspace() else f"character U+{ord(char):04X}"


def _comment(spot: _Spot) -> str | None:
    return "comments are not allowed in JSON" if spot.text.startswith(("//", "/*"), spot.offset) else None


def _single_quote(spot: _Spot) -> str | None:
    if spot.char != "'":
        return None
    return "strings and property names must be in double quotes, not single quotes"


def _trailing_comma(spot: _Spot) -> str | None:
    if spot.char not in "}]" or not _after_comma(spot.text, spot.offset):
        return None
    return f"a trailing comma before '{spot.char}' is not allowed in JSON"


def _after_end(spot: _Spot) -> str | None:
    if spot.expect is not _Expect.END:
        return None
    return f"unexpected {spot.found} after the end of the JSON value"


def _unquoted_name(spot: _Spot) -> str | None:
    if spot.word is None or spot.expect not in (_Expect.KEY, _Expect.KEY_OR_CLOSE):
        return None
    return f"the property name '{spot.word}' must be in double quotes"


def _non_finite_number(spot: _Spot) -> str | None:
    if spot.word not in _NON_FINITE and not spot.text.startswith("-Infinity", spot.offset):
        return None
    return "NaN and Infinity are not JSON numbers"


def _missing_comma(spot: _Spot) -> str | None:
    if spot.expect is not _Expect.COMMA_OR_CLOSE:
        return None
    closer = "}" if spot.in_object else "]"
    return f"expected ',' or '{closer}' but found {spot.found} (a comma may be missing)"


def _bad_string(spot: _Spot) -> str | None:
    if spot.char != '"' or spot.expect in (_Expect.COLON, _Expect.COMMA_OR_CLOSE):
        return None
    return "invalid string: unterminated, an invalid escape, or an unescaped control character"


def _missing_colon(spot: _Spot) -> str | None:
    if spot.expect is not _Expect.COLON:
        return None
    return f"expected ':' after the property name but found {spot.found}"


def _bare_word(spot: _Spot) -> str | None:
    if spot.word is None:
        return None
    return f"'{spot.word}' is not a JSON value (strings must be in double quotes)"


def _bad_number(spot: _Spot) -> str | None:
    if spot.char not in "+-.0123456789":
        return None
    return "invalid number: JSON numbers have no leading '+', leading zeros, hexadecimal or bare '.'"


# The mistakes people make most, most specific first.
_EXPLANATIONS = (
    _comment,
    _single_quote,
    _trailing_comma,
    _after_end,
    _unquoted_name,
    _non_finite_number,
    _missing_comma,
    _bad_string,
    _missing_colon,
    _bare_word,
    _bad_number,
)


def _explain(text: str, offset: int, expect: _Expect, in_object: bool | None) -> str:
    """Why the text at `offset` is not JSON, in the terms of the mistakes people actually make."""
    spot = _Spot(text, offset, expect, in_object)
    for explanation in _EXPLANATIONS:
        reason = explanation(spot)
        if reason is not None:
            return reason
    return f"expected a JSON value but found {spot.found}"


def _after_comma(text: str, offset: int) -> bool:
    # A bounded look back: this only words a message, and must stay cheap on hostile whitespace runs.
    return text[max(0, offset - 4096) : offset].rstrip(" \t\r\n").endswith(",")
