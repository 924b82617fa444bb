"""Safe extraction of package archives (.tgz) and integrity checks of downloaded ones.

Only regular files and folders are ever written, each below the destination;
archives with absolute paths, `..`, links, devices or oversized members are
rejected whole. Extraction goes to a fresh temporary folder beside the final
place and is renamed into place at the end, so a rejected archive leaves nothing.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from conformance.errors import IntegrityError, PackageError, UnsafeArchiveError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ExtractionLimits:
    """Caps that stop a hostile or broken archive from filling the disk."""

    max_member_bytes: int = 256 * 1024 * 1024
    max_total_bytes: int = 2 * 1024 * 1024 * 1024
    max_members: int = 200_000


DEFAULT_LIMITS = ExtractionLimits()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_integrity(path: Path, *, integrity: str | None, shasum: str | None, label: str) -> None:
    """Compare a file with the registry's `integrity` (SRI, preferred) or `shasum` (sha1 hex)."""
    expected = _expected_digests(integrity, shasum)
    if not expected:
        return
    for algorithm, digest in expected:
        if _digest_of(path, algorithm) == digest:
            return
    names = ", ".join(sorted({algorithm for algorithm, _ in expected}))
    raise IntegrityError(f"{label}: the downloaded archive does not match the registry's {names} hash")


def _expected_digests(integrity: str | None, shasum: str | None) -> list[tuple[str, bytes]]:
    expected: list[tuple[str, bytes]] = []
    for token in (integrity or "").split():
        algorithm, _, encoded = token.partition("-")
        if algorithm in {"sha512", "sha384", "sha256"} and encoded:
            try:
                expected.append((algorithm, base64.b64decode(encoded.split("?")[0], validate=True)))
            except ValueError:
                raise IntegrityError(f"the registry's integrity value {token!r} is malformed") from None
    if expected:
        return expected
    if shasum:
        try:
            return [("sha1", bytes.fromhex(shasum.strip()))]
        except ValueError:
            raise IntegrityError(f"the registry's shasum {shasum!r} is malformed") from None
    return []


def _digest_of(path: Path, algorithm: str) -> bytes:
    digest = hashlib.new(algorithm)
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()


def extract_into_place(
    archive: Path,
    final: Path,
    limits: ExtractionLimits = DEFAULT_LIMITS,
    check: Callable[[Path], object] | None = None,
) -> Path:
    """Extract `archive` so that it appears at `final` complete or not at all; returns `final`.

    `check` may refuse the extracted tree (by raising) before it is moved into
    place. When another process put `final` in place first, its copy is kept.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    with _temporary_folder(final.parent) as staging:
        safe_extract(archive, staging, limits)
        if check is not None:
            check(staging)
        try:
            os.rename(staging, final)
        except OSError:
            if not final.is_dir():
                raise
    return final


@contextmanager
def _temporary_folder(parent: Path) -> Iterator[Path]:
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=parent))
    try:
        yield staging
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def safe_extract(archive: Path, destination: Path, limits: ExtractionLimits = DEFAULT_LIMITS) -> None:
    """Extract a gzip (or plain) tar archive into an existing empty folder, checking every member."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            _extract_members(tar, destination, limits, label=archive.name)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise PackageError(f"{archive}: not a readable package archive ({_reason(exc)})") from None
    except OSError as exc:
        raise PackageError(f"{archive}: cannot be extracted ({exc.strerror or exc})") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _extract_members(tar: tarfile.TarFile, destination: Path, limits: ExtractionLimits, label: str) -> None:
    total = 0
    created: set[Path] = set()
    for count, member in enumerate(tar, start=1):
        if count > limits.max_members:
            raise UnsafeArchiveError(f"{label}: more than {limits.max_members} members")
        relative = _safe_relative_path(member, label)
        if relative is None:
            continue
        if member.isdir():
            _make_folder(destination, relative, created)
            continue
        if member.size > limits.max_member_bytes:
            raise UnsafeArchiveError(
                f"{label}: member {member.name!r} is {member.size} bytes (limit {limits.max_member_bytes})"
            )
        total += member.size
        if total > limits.max_total_bytes:
            raise UnsafeArchiveError(f"{label}: contents exceed {limits.max_total_bytes} bytes")
        _make_folder(destination, relative.parent, created)
        source = tar.extractfile(member)
        if source is None:
            raise UnsafeArchiveError(f"{label}: member {member.name!r} cannot be read")
        _write_file(source, destination.joinpath(*relative.parts), member.size, label, member.name)


def _safe_relative_path(member: tarfile.TarInfo, label: str) -> PurePosixPath | None:
    """The member's path below the destination, or None for a member to skip; raises for unsafe ones."""
    if member.issym() or member.islnk():
        raise UnsafeArchiveError(f"{label}: member {member.name!r} is a link ({member.linkname!r})")
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"{label}: member {member.name!r} is not a regular file or folder")
    name = member.name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{label}: member {member.name!r} has an absolute path")
    parts = [part for part in name.split("/") if part not in {"", "."}]
    if ".." in parts:
        raise UnsafeArchiveError(f"{label}: member {member.name!r} points outside the archive")
    if any("\x00" in part for part in parts):
        raise UnsafeArchiveError(f"{label}: member {member.name!r} has a NUL character in its name")
    return PurePosixPath(*parts) if parts else None


def _make_folder(destination: Path, relative: PurePosixPath, created: set[Path]) -> None:
    folder = destination.joinpath(*relative.parts)
    if folder in created:
        return
    if folder.exists() and not folder.is_dir():
        raise UnsafeArchiveError(f"archive uses {relative} as both a file and a folder")
    folder.mkdir(parents=True, exist_ok=True)
    created.add(folder)


def _write_file(source: IO[bytes], target: Path, declared: int, label: str, name: str) -> None:
    if target.is_dir():
        raise UnsafeArchiveError(f"{label}: member {name!r} would replace a folder")
    written = 0
    with target.open("wb") as sink:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > declared:
                raise UnsafeArchiveError(f"{label}: member {name!r} is longer than its header says")
            sink.write(chunk)
