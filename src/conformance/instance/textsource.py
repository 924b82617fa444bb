"""The text of a JSON payload as the position finder reads it: held whole, or decompressed forward in pieces.

A large payload is kept zlib-compressed while it is validated (`jsonform`). When positions are asked for,
`StreamedText` decodes it forward a piece at a time and holds only a window: the text from where the current
lookup began onwards. Positions asked in text order (as a walk's issues mostly are) then cost one pass over
the text and a megabyte or so of memory, where the whole text (and its bytes, while they are decoded) would
cost twice the payload's size beside its parsed tree. Reading before the window starts the decompression
over, so any order of asking gets the same answers, only slower.

Offsets are in characters of the text without its byte order mark, as `jsonform` decodes it.
"""

from __future__ import annotations

import codecs
import zlib
from array import array

from conformance.instance.parsed import Position

_BOM = "\ufeff"


class _LineMarks:
    """Lines counted once, in spans of `SPAN` characters, as far as offsets have been asked for.

    A position then costs at most a span of counting, in any order, and no list of every line is built.
    """

    SPAN = 4096

    def __init__(self, text: str) -> None:
        self._text = text
        self._newlines = array("q", [0])  # newlines before the start of each span counted
        self._line_starts = array("q", [0])  # where the line holding each span's first character starts

    def position(self, offset: int) -> tuple[Position, int]:
        """The (line, column) at `offset`, and how many characters were counted to find it."""
        span = offset // self.SPAN
        counted = self._count_spans(span)
        span_start = span * self.SPAN
        text = self._text
        newlines = self._newlines[span] + text.count("\n", span_start, offset)
        last_newline = text.rfind("\n", span_start, offset)
        line_start = last_newline + 1 if last_newline >= 0 else self._line_starts[span]
        return (newlines + 1, offset - line_start + 1), counted + offset - span_start

    def _count_spans(self, last: int) -> int:
        text, newlines, line_starts = self._text, self._newlines, self._line_starts
        counted = 0
        while len(newlines) <= last:
            end = len(newlines) * self.SPAN
            start = end - self.SPAN
            newlines.append(newlines[-1] + text.count("\n", start, end))
            last_newline = text.rfind("\n", start, end)
            line_starts.append(last_newline + 1 if last_newline >= 0 else line_starts[-1])
            counted += self.SPAN
        return counted


class WholeText:
    """All of the text, held: every offset can be read at once."""

    ended = True
    base = 0

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines = _LineMarks(text)

    def reach(self, offset: int, ahead: int, keep_from: int) -> int:
        """Nothing to read: the whole text is held."""
        return 0

    def position(self, offset: int) -> tuple[Position, int]:
        return self._lines.position(offset)

    def whole(self) -> str:
        return self.text


class _LineCount:
    """Where counting lines stands at one offset: newlines before it, and where its line starts."""

    __slots__ = ("line_start", "newlines", "offset")

    def __init__(self, offset: int = 0, newlines: int = 0, line_start: int = 0) -> None:
        self.offset = offset
        self.newlines = newlines
        self.line_start = line_start

    def counted_on(self, text: str, text_base: int, offset: int) -> _LineCount:
        """The count at `offset` (at or after this one), from `text` held from `text_base`."""
        start, end = self.offset - text_base, offset - text_base
        last_newline = text.rfind("\n", start, end)
        return _LineCount(
            offset,
            self.newlines + text.count("\n", start, end),
            text_base + last_newline + 1 if last_newline >= 0 else self.line_start,
        )


class StreamedText:
    """The text of zlib-compressed UTF-8 bytes, decoded forward in pieces; `text` holds it from `base` on.

    `ended` is true once `text` runs to the end of the payload. Lines are counted as the window moves, so
    a position costs the characters between it and the last position asked (or the window's start).
    """

    PIECE = 1 << 20
    """Characters decoded at a time (at most); the window holds a piece or two past where a lookup began."""
    _INPUT = 1 << 16
    """Compressed bytes given to the decompressor at a time."""

    def __init__(self, compressed: bytes, size: int) -> None:
        self._compressed = compressed
        self.size = size
        """The length of the bytes before compression: at least the length of the text."""
        self._start()

    def _start(self) -> None:
        self.text = ""
        self.base = 0
        self.ended = False
        self._inflate = zlib.decompressobj()
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._fed = 0
        self._first = True
        self._at_base = _LineCount()
        self._last = _LineCount()

    def reach(self, offset: int, ahead: int, keep_from: int) -> int:
        """Hold the text from `offset` for `ahead` characters (or to the end), letting go of what is before
        `keep_from` (at or before `offset`); returns the characters decoded to get there."""
        decoded = 0
        if offset < self.base:  # before the window: decode from the start again, up to `offset`
            self._start()
            keep_from = offset
        while not self.ended and self.base + len(self.text) < offset + ahead:
            decoded += self._read_piece(keep_from)
        return decoded

    def position(self, offset: int) -> tuple[Position, int]:
        """The (line, column) at `offset`, and how many characters were counted to find it."""
        self.reach(offset, 1, self.base)
        count = self._last if self._last.offset <= offset else self._at_base
        counted = offset - count.offset
        self._last = count.counted_on(self.text, self.base, offset)
        return (self._last.newlines + 1, offset - self._last.line_start + 1), counted

    def whole(self) -> str:
        """All of the text at once (for an index of every value)."""
        data = zlib.decompress(self._compressed)
        text = data.decode("utf-8")
        del data
        return text.removeprefix(_BOM)

    def _read_piece(self, keep_from: int) -> int:
        piece = self._next_piece()
        cut = min(keep_from - self.base, len(self.text))
        if cut >= self.PIECE or (cut > 0 and cut >= len(self.text) // 2):
            self._let_go(cut)
        self.text += piece
        return len(piece)

    def _let_go(self, cut: int) -> None:
        """Drop the first `cut` characters held, counting their lines first."""
        new_base = self.base + cut
        self._at_base = self._at_base.counted_on(self.text, self.base, new_base)
        if self._last.offset < new_base:
            self._last = self._at_base
        self.text = self.text[cut:]
        self.base = new_base

    def _next_piece(self) -> str:
        while True:
            data = self._inflate.unconsumed_tail
            if not data and self._fed < len(self._compressed):
                data = self._compressed[self._fed : self._fed + self._INPUT]
                self._fed += len(data)
            if not data:
                self.ended = True
                return self._decoded(self._inflate.flush(), final=True)
            piece = self._decoded(self._inflate.decompress(data, self.PIECE), final=False)
            if piece:
                return piece

    def _decoded(self, data: bytes, *, final: bool) -> str:
        piece = self._decoder.decode(data, final)
        if self._first and piece:
            self._first = False
            piece = piece.removeprefix(_BOM)
        return piece
