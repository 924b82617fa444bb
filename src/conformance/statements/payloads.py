"""Payload files and digests: what was submitted, named and hashed the same way every time."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import InputError
from conformance.packages.package import Package

PAYLOAD_SUFFIXES = frozenset({".json", ".xml"})
_CHUNK = 1 << 20
# Indexes that FHIR tools add to package folders in their caches; they are derived, not content.
_DERIVED_PACKAGE_FILES = (".index.",)


@dataclass(frozen=True)
class PayloadFile:
    """A submitted payload file and the name it has in the statement."""

    name: str
    path: Path


def collect_payloads(paths: Sequence[Path]) -> tuple[PayloadFile, ...]:
    """The payload files given: files as they are, folders searched for .json and .xml files.

    A file is named by its file name, a file found in a folder by the folder's name and its path
    inside it (`examples/patients/p1.json`). Hidden files and folders are skipped. A path that is
    neither a file nor a folder raises InputError.
    """
    found: dict[Path, PayloadFile] = {}
    for given in paths:
        for payload in _payloads_at(given):
            found.setdefault(payload.path.resolve(), payload)
    return tuple(sorted(found.values(), key=lambda payload: (payload.name, str(payload.path))))


def _payloads_at(given: Path) -> Iterator[PayloadFile]:
    if given.is_file():
        yield PayloadFile(given.name, given)
    elif given.is_dir():
        for path in sorted(given.rglob("*")):
            relative = path.relative_to(given)
            if _is_payload(path, relative):
                yield PayloadFile(f"{given.resolve().name}/{relative.as_posix()}", path)
    else:
        raise InputError(f"payload file or folder not found: {given}")


def _is_payload(path: Path, relative: Path) -> bool:
    hidden = any(part.startswith(".") for part in relative.parts)
    return not hidden and path.suffix.lower() in PAYLOAD_SUFFIXES and path.is_file()


def sha256_file(path: Path) -> tuple[str, int]:
    """The sha256 (hex) and size of a file, read in chunks so any size is fine."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return digest.hexdigest(), size


def payload_set_digest(digests: Iterable[str]) -> str:
    """A digest of a set of payloads: their sha256 digests sorted, one per line, hashed.

    Names and order do not count, so renaming or reordering files does not change it.
    """
    lines = "".join(f"{digest}\n" for digest in sorted(digests))
    return hashlib.sha256(lines.encode("ascii")).hexdigest()


def directory_digest(folder: Path) -> str:
    """A digest of a folder's files: each file's relative path and sha256, sorted, hashed."""
    lines: list[str] = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith(_DERIVED_PACKAGE_FILES):
            lines.append(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)[0]}\n")
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def package_digest(package: Package) -> str:
    """The sha256 of the package's archive, or of its folder's files when it was loaded from a folder."""
    if package.source.is_file():
        return sha256_file(package.source)[0]
    return directory_digest(package.directory)
