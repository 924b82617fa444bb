"""JSON payloads to the FHIR JSON form: the standard library's C parser, with three additions.

- Duplicate keys are errors (the HL7 validator reports them) and the last value is kept.
- Numbers with a fraction or an exponent become `Decimal`, so `1.50` keeps its scale; integers stay `int`.
- Cost is bounded before parsing: nesting deeper than `Limits.max_depth` and more than `Limits.max_nodes`
  values are found on the bytes with C-speed string operations, so hostile input never builds a huge tree
  or hits Python's recursion limit.

Positions are not tracked here; `jsonscan` finds them in the same text when first asked: by reading the text
up to each asked value, then, for payloads that ask for many, through an index of every value. A payload
above a megabyte is kept compressed meanwhile, and its text read back in pieces (`textsource`).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import zlib
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import Any, NamedTuple

from conformance.instance.issues import error, fatal, too_many_nodes, warning
from conformance.instance.jsonscan import (
    LineIndex,
    PathFinder,
    SyntaxProblem,
    scan,
    value_offsets,
    value_starts,
)
from conformance.instance.parsed import IssueList, Limits, Parsed, Path, Position, PositionIndex, location
from conformance.instance.textsource import StreamedText
from conformance.outcome import Issue

_BOM = "\ufeff"
_UTF8_BOM = b"\xef\xbb\xbf"
_DEPTH_STEP = bytes.maketrans(b"{[}]", b"\x01\x01\xff\xff")
_STRUCTURE = b'{}[],"'
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in _STRUCTURE)
_CHUNK = 1 << 16
_SKELETON_CHUNK = 1 << 20
_COMPRESSED_ABOVE = 1 << 20
_BACKSLASH = ord("\\")
_INTERNED_LENGTH = 64
_INTERNED_ABOVE = 1 << 16
"""Texts longer than this (in characters) share one copy of each short string (see `_interned_pairs`)."""
_intern = sys.intern


class _DuplicateKey(Exception):
    """Raised by the strict object hook; the slower path then keeps the last value and locates duplicates."""


class _NonFinite(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Called for every object of every payload: the dict is built by the C constructor.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey
    return obj


def _interned_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Short strings (codes, systems, units, dates, names) repeat across a large payload: one shared copy of
    # each takes about a fifth off the tree of a large Bundle. Interned strings are freed with their last
    # user. A small payload's tree is let go after its walk, so there it would only cost time.
    obj = {
        key: _intern(value) if type(value) is str and len(value) <= _INTERNED_LENGTH else value
        for key, value in pairs
    }
    if len(obj) != len(pairs):
        raise _DuplicateKey
    return obj


def _non_finite(name: str) -> Any:
    raise _NonFinite(name)


def _decoder(pairs: Any, *, strict: bool) -> json.JSONDecoder:
    return json.JSONDecoder(
        object_pairs_hook=pairs, parse_float=Decimal, parse_constant=_non_finite, strict=strict
    )


class _Decoders(NamedTuple):
    """The decoder that refuses duplicate keys, and the one that keeps the last value of each."""

    unique: json.JSONDecoder
    last_wins: json.JSONDecoder


# The decoders hold no per-call state, so one of each serves every thread. The `loose` ones accept raw
# control characters in strings, as the HL7 validator does; they then get a warning.
_LAST_WINS = _decoder(dict, strict=True)
_LOOSE_LAST_WINS = _decoder(dict, strict=False)
_STRICT = _Decoders(_decoder(_unique_pairs, strict=True), _LAST_WINS)
_LOOSE = _Decoders(_decoder(_unique_pairs, strict=False), _LOOSE_LAST_WINS)
_INTERNED_STRICT = _Decoders(_decoder(_interned_pairs, strict=True), _LAST_WINS)
_INTERNED_LOOSE = _Decoders(_decoder(_interned_pairs, strict=False), _LOOSE_LAST_WINS)
_CONTROL_ERROR = "Invalid control character"


class _Refused(Exception):
    """The payload cannot be read; `issue` is the fatal issue that says why."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def read_json(data: bytes | str, limits: Limits) -> Parsed:
    """Parse one JSON payload (UTF-8 bytes, or text) into a `Parsed` whose positions come lazily."""
    raw = data.removeprefix(_UTF8_BOM) if isinstance(data, bytes) else None
    try:
        text = _decoded(data)
        value, duplicated, loose = _checked_load(text, raw, limits)
    except _Refused as refused:
        return Parsed.of(None, "json", (refused.issue,))
    issues = _scanned_issues(text, value, limits, loose=loose) if duplicated or loose else ()
    # The text is decoded again should positions be asked for: holding it beside the caller's bytes would
    # double what a large payload costs while it is validated; a large payload's bytes are kept compressed.
    # The root object's position is known when the text starts with it (a JSON text nearly always does).
    root = _TEXT_START if text[:1] == "{" else None
    ids_may_repeat = _ids_may_repeat(text)
    del text
    kept = _kept_for_positions(data)
    return Parsed.of(
        value,
        "json",
        issues,
        positions=lambda: _positions(kept, value, duplicated=duplicated),
        root_position=root,
        ids_may_repeat=ids_may_repeat,
    )


def _ids_may_repeat(text: str) -> bool:
    """Can two objects in this JSON text have the same `id`? Not when the key is written at most once.

    A key `id` is the four characters `"id"` unless spelt with a `\\u` escape; counting those characters
    may count a string value too, which only errs towards a scan. Two C-speed passes over the text.
    """
    return text.count('"id"') > 1 or "\\u" in text


_TEXT_START: Position = (1, 1)


@dataclass(frozen=True)
class _Compressed:
    """zlib-compressed payload bytes (JSON text compresses several times over, quickly)."""

    data: bytes
    size: int
    """The length of the bytes before compression."""


def _kept_for_positions(data: bytes | str) -> bytes | str | _Compressed:
    if isinstance(data, bytes) and len(data) > _COMPRESSED_ABOVE:
        return _Compressed(zlib.compress(data, 1), len(data))
    return data


def _text_source(kept: bytes | str | _Compressed, *, duplicated: bool) -> str | StreamedText:
    """What positions are read from.

    A compressed payload is read in pieces, holding only a window of its text; unless a key repeats, when
    paths are looked for back and forth (such payloads are rare and small) and the whole text is decoded.
    """
    if isinstance(kept, _Compressed):
        if not duplicated:
            return StreamedText(kept.data, kept.size)
        return _decoded(zlib.decompress(kept.data))
    return _decoded(kept)


def _checked_load(text: str, raw: bytes | None, limits: Limits) -> tuple[dict[str, Any], bool, bool]:
    if not text or text.isspace():
        raise _Refused(fatal("invalid", "json.syntax", "the payload is empty"))
    _refuse(_structure_problem(text, raw, limits))
    try:
        value, duplicated, loose = _load(text)
    except (ValueError, RecursionError) as exc:
        raise _Refused(_unreadable(text, exc, limits)) from None
    if not isinstance(value, dict):
        raise _Refused(_not_an_object(value))
    _refuse(_nesting_problem(value, text, raw, limits))
    return value, duplicated, loose


def _refuse(issue: Issue | None) -> None:
    if issue is not None:
        raise _Refused(issue)


def _decoded(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix(_BOM)
    body = data.removeprefix(_UTF8_BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(
            fatal(
                "invalid",
                "payload.encoding",
                f"the payload is not valid UTF-8 (byte 0x{body[exc.start]:02X} at offset "
                f"{exc.start + len(data) - len(body)}); FHIR JSON must be UTF-8",
                position=_byte_position(body, exc.start),
            )
        ) from None


def _byte_position(data: bytes, offset: int) -> Position:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def _load(text: str) -> tuple[Any, bool, bool]:
    """The value, whether keys were duplicated, and whether raw control characters had to be accepted."""
    large = len(text) > _INTERNED_ABOVE
    try:
        return *_load_with(text, _INTERNED_STRICT if large else _STRICT), False
    except json.JSONDecodeError as exc:
        if not exc.msg.startswith(_CONTROL_ERROR):
            raise
    return *_load_with(text, _INTERNED_LOOSE if large else _LOOSE), True


def _load_with(text: str, decoders: _Decoders) -> tuple[Any, bool]:
    try:
        return decoders.unique.decode(text), False
    except _DuplicateKey:
        return decoders.last_wins.decode(text), True


def _structure_problem(text: str, raw: bytes | None, limits: Limits) -> Issue | None:
    """Values and nesting past the limits, found before any value is built (for huge texts only)."""
    # Every value takes at least one character and one separator, so short texts cannot hold too many.
    if len(text) // 2 < limits.max_nodes:
        return None
    skeleton = _skeleton(raw if raw is not None else text.encode("utf-8", errors="surrogatepass"))
    if skeleton.count(b",") + skeleton.count(b"{") + skeleton.count(b"[") + 1 > limits.max_nodes:
        return too_many_nodes(limits.max_nodes)
    if _skeleton_deeper_than(skeleton, limits.max_depth):
        return _too_deep(text, limits)
    return None


def _skeleton(data: bytes, chunk_size: int = _SKELETON_CHUNK) -> bytes:
    """Only the structural characters outside strings: `{`, `}`, `[`, `]` and `,`.

    Read in chunks, so that the copies made on the way cost a chunk each, not the payload's size again.
    """
    parts: list[bytes] = []
    in_string = False
    for chunk in _chunks_whole_escapes(data, chunk_size):
        # Escaped backslashes go first, so that what remains of `\"` is always an escaped quote.
        unescaped = chunk.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in chunk else chunk
        pieces = unescaped.translate(None, _NOT_STRUCTURE).split(b'"')
        parts.append(b"".join(pieces[1::2] if in_string else pieces[::2]))
        in_string ^= len(pieces) % 2 == 0  # an odd number of quotes in the chunk
    return b"".join(parts)


def _chunks_whole_escapes(data: bytes, size: int) -> Iterator[bytes]:
    """`data` in pieces of about `size` bytes, never cut inside a backslash escape."""
    start = 0
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and data[end - 1] == _BACKSLASH:
            end += 1  # past the run of backslashes and the character the last one escapes
        yield data[start:end]
        start = end


def _skeleton_deeper_than(skeleton: bytes, limit: int) -> bool:
    if b"[" * (limit + 1) in skeleton or b"{" * (limit + 1) in skeleton:
        return True
    steps = skeleton.translate(_DEPTH_STEP, b",")
    level = 0
    for start in range(0, len(steps), _CHUNK):
        levels = list(accumulate(array("b", steps[start : start + _CHUNK]), initial=level))
        if max(levels) > limit:
            return True
        level = levels[-1]
    return False


def _nesting_problem(value: Any, text: str, raw: bytes | None, limits: Limits) -> Issue | None:
    """Nesting deeper than the limit in a parsed value (the C parser itself stops near 1000 levels)."""
    # Counted in C without a copy: every payload pays this, and few have more openers than the limit.
    openers = raw.count(b"{") + raw.count(b"[") if raw is not None else text.count("{") + text.count("[")
    if openers <= limits.max_depth or not _deeper_than(value, limits.max_depth):
        return None
    return _too_deep(text, limits)


def _deeper_than(value: Any, limit: int) -> bool:
    # Level by level: cheaper than a stack of (node, depth) pairs, and still no recursion.
    level = [value]
    depth = 1
    while level:
        if depth > limit:
            return True
        below = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level = below
        depth += 1
    return False


def _too_deep(text: str, limits: Limits) -> Issue:
    result = scan(text, max_depth=limits.max_depth)
    if result.too_deep_at is None and result.problem is not None:
        return _syntax_issue(text, result.problem, result.resource_type)
    at = LineIndex(text).position(result.too_deep_at) if result.too_deep_at is not None else None
    return fatal(
        "too-costly",
        "json.too-deep",
        f"the JSON nests objects and arrays more than {limits.max_depth} levels deep",
        position=at,
    )


def _unreadable(text: str, exc: BaseException, limits: Limits) -> Issue:
    result = scan(text, max_depth=limits.max_depth, lenient=True)
    if result.too_deep_at is not None or isinstance(exc, RecursionError):
        return _too_deep(text, limits)
    if result.problem is not None:
        return _syntax_issue(text, result.problem, result.resource_type)
    if isinstance(exc, json.JSONDecodeError):
        return fatal("invalid", "json.syntax", f"invalid JSON: {exc.msg}", position=(exc.lineno, exc.colno))
    long_number = re.search(f"[0-9]{{{sys.get_int_max_str_digits() + 1},}}", text)
    return fatal(
        "too-costly",
        "json.number-too-large",
        f"a number has too many digits to be read ({exc})",
        position=LineIndex(text).position(long_number.start()) if long_number else None,
    )


def _syntax_issue(text: str, problem: SyntaxProblem, resource_type: str | None) -> Issue:
    # The location is the object or array being read, once anything is known of it.
    known = resource_type is not None or problem.path
    return fatal(
        "invalid",
        "json.syntax",
        f"invalid JSON: {problem.reason}",
        position=LineIndex(text).position(problem.offset),
        location=location(resource_type or "Resource", problem.path) if known else "",
    )


def _not_an_object(value: Any) -> Issue:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return fatal(
        "structure",
        "json.not-object",
        f"a FHIR resource in JSON is an object, but this payload is {kinds.get(type(value), 'a number')}",
        position=(1, 1),
    )


def _scanned_issues(text: str, value: dict[str, Any], limits: Limits, *, loose: bool) -> tuple[Issue, ...]:
    """Issues only a scan can place: duplicate keys, and raw control characters in strings."""
    result = scan(text, max_depth=limits.max_depth, lenient=loose)
    lines = LineIndex(text)
    root = value.get("resourceType")
    root_name = root if isinstance(root, str) else "Resource"
    issues = IssueList(limits.max_issues)
    for offset, path in result.control_characters:
        issues.add(
            warning(
                "invalid",
                "json.control-character",
                f"a string holds the raw control character U+{ord(text[offset]):04X}; "
                "JSON requires control characters in strings to be escaped",
                position=lines.position(offset),
                location=location(root_name, path),
            )
        )
    for duplicate in result.duplicates:
        issues.add(
            error(
                "invalid",
                "json.duplicate-key",
                f"the property '{duplicate.key}' appears more than once in the same object; "
                "the last value is used",
                position=lines.position(duplicate.offset),
                location=location(root_name, (*duplicate.object_path, duplicate.key)),
            )
        )
    return issues.freeze()


class _OffsetPositions(Mapping[Path, Position]):
    """Value start offsets, turned into (line, column) one at a time as they are asked for."""

    def __init__(self, text: str, offsets: dict[Path, int]) -> None:
        self._lines = LineIndex(text)
        self._offsets = offsets

    def __getitem__(self, path: Path) -> Position:
        return self._lines.position(self._offsets[path])

    def __iter__(self) -> Iterator[Path]:
        return iter(self._offsets)

    def __len__(self) -> int:
        return len(self._offsets)


class _IndexedPositions:
    """Positions by path through the parsed value and a `ValueStarts` (payloads without repeated keys)."""

    def __init__(self, text: str, root: dict[str, Any]) -> None:
        self._lines = LineIndex(text)
        self._starts = value_starts(text)
        self._root = root

    def get(self, path: Path) -> Position | None:
        offset = self._starts.offset(self._root, path)
        return None if offset is None else self._lines.position(offset)


def _index(text: str, root: dict[str, Any], *, duplicated: bool) -> PositionIndex:
    # A repeated key leaves the text with more values than the parsed object: only a path index (the last
    # value of a repeated key wins, as in the parsed value) places those; such payloads are rare and small.
    if duplicated:
        return _OffsetPositions(text, value_offsets(text))
    return _IndexedPositions(text, root)


_NAVIGATION_BUDGET = 16
"""How many times its own length the text may be read by `PathFinder` (in its cost units) before the index
is built instead.

Building the index costs 16 to 35 of those units a character (measured: 50-110 ns a character, against about
3 ns a character for the C decoder). Paths asked in text order (as issues mostly are) cost one pass over the
text and rarely build the index; asked out of order, a payload with many issues pays at most about twice
what the index alone would."""


class _NavigatedPositions:
    """Positions found by reading the text up to each asked value, until that has cost about what indexing
    every value would; the index answers from then on (a large Bundle with an issue in every entry)."""

    def __init__(
        self,
        text: str | StreamedText,
        root: dict[str, Any],
        *,
        duplicated: bool,
        budget: int = _NAVIGATION_BUDGET,
    ) -> None:
        self._finder: PathFinder | None = PathFinder(text, repeated_keys=duplicated)
        self._index: PositionIndex | None = None
        self._root = root
        self._duplicated = duplicated
        self._budget = budget * (len(text) if isinstance(text, str) else text.size)
        # The finder moves through the text (and a streamed text's window with it): one lookup at a time.
        self._lock = threading.Lock()

    def get(self, path: Path) -> Position | None:
        # Without repeated keys the parsed value holds every path the text has: no reading for the others.
        if not self._duplicated and not _has_path(self._root, path):
            return None
        with self._lock:
            finder = self._finder
            if finder is None:
                return self._index.get(path) if self._index is not None else None
            offset = finder.offset(path)
            position = None if offset is None else finder.position(offset)
            if finder.cost > self._budget:
                self._index = _index(finder.text, self._root, duplicated=self._duplicated)
                self._finder = None
            return position


def _has_path(root: dict[str, Any], path: Path) -> bool:
    """Whether `path` leads to a value in the parsed `root` (the test `ValueStarts.offset` makes)."""
    value: Any = root
    for step in path:
        if isinstance(step, int):
            if type(value) is not list or not 0 <= step < len(value):
                return False
        elif type(value) is not dict or step not in value:
            return False
        value = value[step]
    return True


def _positions(kept: bytes | str | _Compressed, root: dict[str, Any], *, duplicated: bool) -> PositionIndex:
    return _NavigatedPositions(_text_source(kept, duplicated=duplicated), root, duplicated=duplicated)
