"""The index of a package: one light entry per resource file, read without parsing the resources.

A package's own `package/.index.json` (index-version 1 or 2) gives most fields. We
also want each StructureDefinition's `baseDefinition`, which that index lacks, so
the first load reads the StructureDefinitions once and the enriched index is
kept in the work cache: later loads parse one small file.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from conformance.errors import PackageError

INDEX_FILE = ".index.json"
MANIFEST_FILE = "package.json"
# Bump when the shape of a stored enriched index changes, so old ones are rebuilt.
ENRICHED_FORMAT = 2


class IndexEntry(NamedTuple):
    """One resource of a package (or one extra resource), as the index describes it.

    `package` is the `name#version` of the package that holds it, or "" for an
    extra resource, whose `filename` is then the file it came from.

    A NamedTuple rather than a frozen dataclass: a context holds tens of thousands of entries,
    read from the stored index on every run, and a tuple is several times cheaper to make.
    """

    filename: str
    resource_type: str
    id: str | None = None
    url: str | None = None
    version: str | None = None
    kind: str | None = None
    type: str | None = None
    derivation: str | None = None
    base_definition: str | None = None
    package: str = ""

    @classmethod
    def of_resource(cls, filename: str, resource: Mapping[str, Any], package: str = "") -> IndexEntry:
        def text(key: str) -> str | None:
            value = resource.get(key)
            return value if isinstance(value, str) else None

        return cls(
            filename=filename,
            resource_type=str(resource["resourceType"]),
            id=text("id"),
            url=text("url"),
            version=text("version"),
            kind=text("kind"),
            type=text("type"),
            derivation=text("derivation"),
            base_definition=text("baseDefinition"),
            package=package,
        )

    @property
    def canonical(self) -> str | None:
        """`url|version`, or the url alone when the resource has no version."""
        if self.url is None:
            return None
        return f"{self.url}|{self.version}" if self.version else self.url


_FIELD_COUNT = len(IndexEntry._fields)
_make_entry = partial(tuple.__new__, IndexEntry)


def read_json(path: Path) -> Any:
    """Parse one JSON file; a broken file is a PackageError naming it."""
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise PackageError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except OSError as exc:
        raise PackageError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def read_package_index(directory: Path, package: str) -> tuple[IndexEntry, ...] | None:
    """The package's own `.index.json`, or None when it has none (or one we cannot use)."""
    path = directory / INDEX_FILE
    if not path.is_file():
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except (orjson.JSONDecodeError, OSError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return None
    return tuple(entry for entry in (_entry_of(item, package) for item in files) if entry is not None)


def _entry_of(item: Any, package: str) -> IndexEntry | None:
    if not isinstance(item, dict):
        return None
    filename, resource_type = item.get("filename"), item.get("resourceType")
    if not isinstance(filename, str) or not isinstance(resource_type, str) or not _is_plain_file(filename):
        return None
    return IndexEntry.of_resource(filename, item, package)


def _is_plain_file(filename: str) -> bool:
    # The index must only point at files directly inside the package folder.
    return "/" not in filename and "\\" not in filename and filename not in {"", ".", ".."}


def resource_files(directory: Path) -> Iterator[Path]:
    """The files a package index covers: top-level `*.json` except the manifest and dot files."""
    for path in sorted(directory.iterdir()):
        is_resource_name = path.suffix == ".json" and not path.name.startswith(".")
        if is_resource_name and path.name != MANIFEST_FILE and path.is_file():
            yield path


def build_index(directory: Path, package: str) -> tuple[IndexEntry, ...]:
    """Index a package that ships no `.index.json` by reading each resource file once."""
    entries: list[IndexEntry] = []
    for path in resource_files(directory):
        try:
            resource = orjson.loads(path.read_bytes())
        except (orjson.JSONDecodeError, OSError):
            continue  # not a resource: packages carry other JSON files too
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            entries.append(IndexEntry.of_resource(path.name, resource, package))
    return tuple(entries)


def add_base_definitions(directory: Path, entries: Iterable[IndexEntry]) -> tuple[IndexEntry, ...]:
    """Fill `base_definition` (and missing StructureDefinition fields) by reading StructureDefinitions."""
    return tuple(_with_base_definition(directory, entry) for entry in entries)


def _with_base_definition(directory: Path, entry: IndexEntry) -> IndexEntry:
    if entry.resource_type != "StructureDefinition" or entry.base_definition is not None:
        return entry
    try:
        resource = orjson.loads((directory / entry.filename).read_bytes())
    except (orjson.JSONDecodeError, OSError):
        return entry
    if isinstance(resource, dict) and resource.get("resourceType") == "StructureDefinition":
        return IndexEntry.of_resource(entry.filename, resource, entry.package)
    return entry


def dump_enriched(entries: Iterable[IndexEntry], key: str, package: str) -> bytes:
    """A header line (format, key, package, entry count, checksum of the rest), then the entries' fields."""
    rows = [list(entry) for entry in entries]
    body = orjson.dumps(rows)
    header = {"format": ENRICHED_FORMAT, "key": key, "package": package, "count": len(rows)}
    return orjson.dumps({**header, "crc32": zlib.crc32(body)}) + b"\n" + body


def load_enriched(path: Path, key: str, package: str) -> tuple[IndexEntry, ...] | None:
    """A stored enriched index, or None when absent, stale, corrupt or unreadable (it is then rebuilt).

    The header must name this key and package and the body must match its checksum and count, so a
    truncated, partly overwritten or foreign file is never used.
    """
    try:
        header_line, _, body = path.read_bytes().partition(b"\n")
        header = orjson.loads(header_line)
        expected = {"format": ENRICHED_FORMAT, "key": key, "package": package, "crc32": zlib.crc32(body)}
        if not isinstance(header, dict) or any(header.get(name) != value for name, value in expected.items()):
            return None
        rows = orjson.loads(body)
    except (orjson.JSONDecodeError, OSError):
        return None
    if not _well_formed(rows, header.get("count"), package):
        return None
    return tuple(map(_make_entry, rows))


def _well_formed(rows: Any, count: Any, package: str) -> bool:
    # The checksum already proves the body is what was written; this guards the shape the entries need.
    return (
        isinstance(rows, list)
        and len(rows) == count
        and all(type(row) is list and len(row) == _FIELD_COUNT and row[-1] == package for row in rows)
    )
