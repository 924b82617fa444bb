"""What a run validates: payload files, the files inside folders, and the lines of NDJSON files.

Folders are searched recursively (hidden files and folders skipped, symbolic links to folders not
followed) for `.json` and `.xml` payloads and `.ndjson` / `.jsonl` files, in sorted order so runs are
reproducible. An NDJSON file holds one resource a line; blank lines are skipped, and each payload keeps
its line number so issues can be placed in the file. Files are read lazily, one payload at a time, so a
large export is never held in memory whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from conformance.errors import InputError
from conformance.instance import Limits

PAYLOAD_SUFFIXES = frozenset({".json", ".xml"})
NDJSON_SUFFIXES = frozenset({".ndjson", ".jsonl"})
_DEFAULT_LIMIT = Limits().max_bytes


@dataclass(frozen=True)
class Input:
    """A file to read payloads from."""

    path: Path
    named: bool
    """Named on the command line, rather than found inside a folder."""

    @property
    def is_ndjson(self) -> bool:
        return self.path.suffix.lower() in NDJSON_SUFFIXES


@dataclass(frozen=True)
class Payload:
    """One resource to validate: a whole file (`data` None: read it when validating) or one NDJSON line."""

    path: Path
    named: bool
    data: bytes | None = None
    line: int | None = None

    @property
    def source(self) -> str:
        return str(self.path)


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _files_under(folder: Path) -> Iterator[Path]:
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not _is_hidden(name))
        for name in sorted(files):
            suffix = Path(name).suffix.lower()
            if not _is_hidden(name) and (suffix in PAYLOAD_SUFFIXES or suffix in NDJSON_SUFFIXES):
                yield Path(root) / name


def discover(paths: Sequence[Path]) -> tuple[Input, ...]:
    """The files to read, in order; a path that is neither a file nor a folder is an `InputError`."""
    found: list[Input] = []
    for path in paths:
        if path.is_file():
            found.append(Input(path, named=True))
        elif path.is_dir():
            inside = [Input(file, named=False) for file in _files_under(path)]
            if not inside:
                raise InputError(f"no payload files (.json, .xml, .ndjson) found in folder {path}")
            found.extend(inside)
        else:
            raise InputError(f"payload file not found: {path}")
    return tuple(found)


def _lines(path: Path, limit: int) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their 1-based numbers; a line longer than `limit` is cut (and later refused)."""
    try:
        with path.open("rb") as stream:
            number = 0
            while True:
                line = stream.readline(limit + 1)
                if not line:
                    return
                number += 1
                if len(line) > limit and not line.endswith(b"\n"):
                    _skip_rest_of_line(stream)
                if line.strip():
                    yield number, line.rstrip(b"\r\n")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from exc


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while True:
        chunk = stream.readline(1 << 20)
        if not chunk or chunk.endswith(b"\n"):
            return


def payloads_of(item: Input, *, limit: int = _DEFAULT_LIMIT) -> Iterator[Payload]:
    if not item.is_ndjson:
        yield Payload(item.path, item.named)
        return
    for number, data in _lines(item.path, limit):
        yield Payload(item.path, item.named, data=data, line=number)


def payloads(inputs: Iterable[Input], *, limit: int = _DEFAULT_LIMIT) -> Iterator[Payload]:
    """Every payload of `inputs`, in order, read lazily."""
    for item in inputs:
        yield from payloads_of(item, limit=limit)


def count_payloads(inputs: Iterable[Input]) -> int:
    """How many payloads `payloads(inputs)` yields (NDJSON files are scanned for non-blank lines)."""
    return sum(_count(item) for item in inputs)


def _count(item: Input) -> int:
    return sum(1 for _ in _lines(item.path, _DEFAULT_LIMIT)) if item.is_ndjson else 1
