"""`parse` and `parse_file`: any payload the caller has, to one `Parsed`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any, BinaryIO

from conformance.definitions.typemodel import TypeModel
from conformance.errors import InputError, UsageError
from conformance.instance.issues import fatal, too_large, too_many_nodes
from conformance.instance.jsonform import read_json
from conformance.instance.parsed import Format, Limits, Parsed
from conformance.instance.xmlform import read_xml
from conformance.outcome import Issue

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | Mapping[str, Any] | Parsed
_SOURCES = (bytes, bytearray, memoryview, str, os.PathLike, Mapping, Parsed)

_DEFAULT_LIMITS = Limits()
_FORMATS = ("json", "xml")
_SUFFIX_FORMATS: dict[str, Format] = {".json": "json", ".xml": "xml"}
_CHUNK = 1 << 20


def parse(
    source: Source,
    *,
    format: Format | None = None,
    model: TypeModel | None = None,
    limits: Limits = _DEFAULT_LIMITS,
) -> Parsed:
    """Read one payload into the FHIR JSON form.

    `source` is the payload's bytes or text, a path to a file holding it, an already-parsed JSON
    resource (taken as is, without positions), or a `Parsed` (given back as is, so that a caller that
    had to read a payload first does not hold two trees of it). The format is sniffed when not given:
    XML when the first non-blank character is `<`, JSON otherwise. XML needs `model`, which says which
    elements repeat and which types primitives have. Problems in the payload are issues in the result,
    never exceptions.
    """
    _check_format(format)
    # First: below, the compiled build takes `source` for one of the types it is annotated with.
    if not isinstance(source, _SOURCES):
        raise UsageError(f"cannot parse a {type(source).__name__}: give bytes, text, a path or a dict")
    if isinstance(source, Parsed):
        return source
    if isinstance(source, Mapping):
        resource = source if isinstance(source, dict) else dict(source)
        problem = _json_form_problem(resource, limits)
        if problem is not None:
            return Parsed.of(None, "json", (problem,))
        return Parsed.of(resource, "json", ())
    if isinstance(source, os.PathLike):
        return parse_file(source, format=format, model=model, limits=limits)
    if isinstance(source, bytearray | memoryview):
        source = bytes(source)
    if len(source) > limits.max_bytes:
        unit = "bytes" if isinstance(source, bytes) else "characters"
        return Parsed.of(None, format or "json", (too_large(len(source), limits.max_bytes, unit),))
    return _parse_payload(source, format or sniff_format(source), model, limits)


def _json_form_problem(resource: dict[str, Any], limits: Limits) -> Issue | None:
    """What makes a caller's dict unlike any parsed JSON: a key that is not a string, nesting past the limit
    (a dict that contains itself nests without end), more values than the limit. Checked level by level,
    without recursion, before the walk (which assumes JSON's shapes) ever sees it."""
    level: list[Any] = [resource]
    depth = nodes = 0
    while level:
        depth += 1
        if depth > limits.max_depth:
            return fatal(
                "too-costly",
                "json.too-deep",
                f"the resource nests objects and arrays more than {limits.max_depth} levels deep "
                "(or contains itself)",
            )
        below: list[Any] = []
        for node in level:
            children = node.values() if isinstance(node, Mapping) else node
            if isinstance(node, Mapping) and not all(type(key) is str for key in node):
                key = next(key for key in node if type(key) is not str)
                return fatal(
                    "structure",
                    "json.syntax",
                    f"an object's property names must be strings, not {type(key).__name__} ({key!r:.40})",
                )
            for child in children:
                nodes += 1
                if isinstance(child, Mapping | list):
                    below.append(child)
        if nodes > limits.max_nodes:
            return too_many_nodes(limits.max_nodes)
        level = below
    return None


def parse_file(
    path: str | os.PathLike[str],
    *,
    format: Format | None = None,
    model: TypeModel | None = None,
    limits: Limits = _DEFAULT_LIMITS,
) -> Parsed:
    """Read one payload from a file; a file that cannot be read raises `InputError`.

    A file larger than `limits.max_bytes` is refused without reading it.
    """
    _check_format(format)
    file_path = FilePath(path)
    suffix_format = _SUFFIX_FORMATS.get(file_path.suffix.lower())
    data = _read_at_most(file_path, limits.max_bytes)
    if data is None:
        size = max(_size(file_path), limits.max_bytes + 1)
        return Parsed.of(None, format or suffix_format or "json", (too_large(size, limits.max_bytes),))
    return _parse_payload(data, format or sniff_format(data, suffix_format), model, limits)


def sniff_format(payload: bytes | str, hint: Format | None = None) -> Format:
    """XML when the first non-blank character (after a byte order mark) is `<`; else JSON.

    `hint` (from a file name, say) decides only when there is nothing to look at.
    """
    if isinstance(payload, bytes):
        first = _first_byte(payload)
        if first is None:
            return hint or "json"
        return "xml" if first == _LESS_THAN else "json"
    stripped = payload[:4096].lstrip("\ufeff \t\r\n")
    if not stripped:
        return hint or "json"
    return "xml" if stripped.startswith("<") else "json"


_LESS_THAN = ord("<")
_UTF8_BOM = b"\xef\xbb\xbf"


def _first_byte(payload: bytes) -> int | None:
    """The first byte in the first 4096 that is neither blank nor part of a byte order mark (the bytes of
    the characters `sniff_format` skips in a text); None when there is none. Read in place: most payloads
    start with their first character."""
    end = min(len(payload), 4096)
    start = 0
    while start < end:
        if start + len(_UTF8_BOM) <= end and payload.startswith(_UTF8_BOM, start):
            start += len(_UTF8_BOM)
        elif payload[start] in b" \t\r\n":
            start += 1
        else:
            return payload[start]
    return None


def _parse_payload(payload: bytes | str, format: Format, model: TypeModel | None, limits: Limits) -> Parsed:
    if format == "json":
        return read_json(payload, limits)
    if model is None:
        raise UsageError("XML payloads need a TypeModel (model=...) to know which elements repeat")
    return read_xml(payload, model, limits)


def _read_at_most(path: FilePath, limit: int) -> bytes | None:
    """The file's bytes, or None when it holds more than `limit` (found without reading them all)."""
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > limit:
                return None
            data = stream.read(size + 1) if size else b""
            # Pipes and special files report no size, and files can grow: read on in bounded chunks.
            if not size or len(data) > size:
                data += _read_chunks(stream, limit - len(data))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"cannot read {path}: {reason}") from exc
    return data if len(data) <= limit else None


def _read_chunks(stream: BinaryIO, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _size(path: FilePath) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _check_format(format: str | None) -> None:
    if format is not None and format not in _FORMATS:
        raise UsageError(f"unknown payload format {format!r} (known: json, xml)")
