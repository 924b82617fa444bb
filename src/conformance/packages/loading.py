"""Turning a path on disk (a .tgz or a package folder) into a loaded `Package`.

Archives are extracted once into `<work cache>/extracted/<sha256 of the archive>`
and reused. Each package's enriched index is kept in `<work cache>/index/`,
keyed by the archive hash or by the folder's path and file listing, so a warm
load reads one small file per package and parses no resource. An archive's hash
is remembered in `<work cache>/digests/` beside the file's identity (device,
inode, size, modification and change times) once the file has been unchanged
for a few seconds: a warm load hashes nothing, and any later rewrite of the
archive changes its change time, so the hash is taken again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path

import orjson

from conformance.errors import PackageError
from conformance.packages.archive import DEFAULT_LIMITS, ExtractionLimits, extract_into_place, sha256_of
from conformance.packages.index import (
    ENRICHED_FORMAT,
    MANIFEST_FILE,
    IndexEntry,
    add_base_definitions,
    build_index,
    dump_enriched,
    load_enriched,
    read_package_index,
)
from conformance.packages.package import Manifest, Package

PACKAGE_FOLDER = "package"
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")
_MEMO_SIZE = 32
# Bump when the shape of a remembered archive digest changes.
DIGEST_FORMAT = 1
# A digest is remembered only for a file unchanged for this long (as git does for "racy" files): on a file
# system with coarse timestamps, a rewrite within the same tick as the remembered state could otherwise
# keep the same identity; after this, any rewrite gets a later change time.
SETTLED_NS = 3_000_000_000
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_archive(path: Path) -> bool:
    return path.name.endswith(ARCHIVE_SUFFIXES)


def package_folder_of(path: Path) -> Path | None:
    """The folder holding package.json for a package root (`X/package/`) or a package folder itself."""
    if (path / PACKAGE_FOLDER / MANIFEST_FILE).is_file():
        return path / PACKAGE_FOLDER
    if path.name == PACKAGE_FOLDER and (path / MANIFEST_FILE).is_file():
        return path
    return None


class PackageLoader:
    """Loads packages for one work cache; remembers the last few loaded in this process."""

    def __init__(self, work_cache: Path, limits: ExtractionLimits = DEFAULT_LIMITS) -> None:
        self.work_cache = work_cache
        self.limits = limits
        self._memo: OrderedDict[tuple[str, str], Package] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, path: Path) -> Package:
        """A .tgz file, or a folder holding `package/package.json` (or the `package` folder itself)."""
        if path.is_file():
            if not is_archive(path):
                raise PackageError(f"{path}: not a package archive (expected a .tgz file)")
            return self.load_archive(path)
        if path.is_dir():
            folder = package_folder_of(path)
            if folder is None:
                raise PackageError(f"{path}: not a FHIR package (no package/{MANIFEST_FILE})")
            return self.load_folder(folder, source=path)
        raise PackageError(f"{path}: no such package file or folder")

    def manifest(self, path: Path) -> Manifest:
        """The manifest of a .tgz or package folder, without reading its index."""
        if path.is_file() and is_archive(path):
            return Manifest.read(self._extracted(path, self.archive_digest(path)))
        folder = package_folder_of(path)
        if folder is None:
            raise PackageError(f"{path}: not a FHIR package (no package/{MANIFEST_FILE})")
        return Manifest.read(folder)

    def load_archive(self, archive: Path) -> Package:
        digest = self.archive_digest(archive)
        return self._load(self._extracted(archive, digest), source=archive, key=f"archive:{digest}")

    def archive_digest(self, archive: Path) -> str:
        """The sha256 of an archive: remembered while the file's identity is unchanged, else computed."""
        identity = file_identity(archive)
        name = hashlib.sha256(str(identity[0]).encode()).hexdigest()
        stored = self.work_cache / "digests" / f"{name}.v{DIGEST_FORMAT}.json"
        remembered = _remembered_digest(stored, identity)
        if remembered is not None:
            return remembered
        digest = sha256_of(archive)
        if file_identity(archive) == identity and _settled(identity):
            _write_quietly(
                stored, orjson.dumps({"format": DIGEST_FORMAT, "identity": identity, "sha256": digest})
            )
        return digest

    def _extracted(self, archive: Path, digest: str) -> Path:
        """The package folder of an archive, extracted into the work cache on first use."""
        extracted = self.work_cache / "extracted" / digest
        if not (extracted / PACKAGE_FOLDER / MANIFEST_FILE).is_file():
            extracted = self._extract(archive, extracted)
        return extracted / PACKAGE_FOLDER

    def _extract(self, archive: Path, final: Path) -> Path:
        if final.exists():
            if (final / PACKAGE_FOLDER / MANIFEST_FILE).is_file():
                return final  # another loader moved its complete copy into place since we looked
            # A folder from an interrupted or older run that lacks the manifest: not ours to trust.
            raise PackageError(f"{archive}: {final} exists but is not a package folder; remove it and retry")
        try:
            return extract_into_place(archive, final, self.limits, check=require_package_folder)
        except OSError as exc:  # an unwritable or full work cache
            reason = exc.strerror or type(exc).__name__
            raise PackageError(f"{archive}: cannot be extracted into {final.parent} ({reason})") from None
        except PackageError as exc:
            message = str(exc)
            if str(archive) in message:
                raise
            raise type(exc)(f"{archive}: {message}") from None

    def load_folder(self, folder: Path, *, source: Path) -> Package:
        return self._load(folder, source=source, key=f"folder:{folder_signature(folder)}")

    def _load(self, folder: Path, *, source: Path, key: str) -> Package:
        memo_key = (str(folder), key)
        with self._lock:
            known = self._memo.get(memo_key)
            if known is not None:
                self._memo.move_to_end(memo_key)
                return known
        manifest = Manifest.read(folder)
        index = self._index(folder, manifest.id, key)
        package = Package(manifest=manifest, directory=folder, source=source, index=index)
        with self._lock:
            self._memo[memo_key] = package
            while len(self._memo) > _MEMO_SIZE:
                self._memo.popitem(last=False)
        return package

    def _index(self, folder: Path, package_id: str, key: str) -> tuple[IndexEntry, ...]:
        # The format is in the name: versions of this tool sharing a work cache keep their own files.
        name = hashlib.sha256(key.encode()).hexdigest()
        stored = self.work_cache / "index" / f"{name}.v{ENRICHED_FORMAT}.json"
        entries = load_enriched(stored, key, package_id)
        if entries is not None:
            return entries
        own = read_package_index(folder, package_id)
        entries = add_base_definitions(folder, own) if own is not None else build_index(folder, package_id)
        _write_quietly(stored, dump_enriched(entries, key, package_id))
        return entries


def require_package_folder(root: Path) -> Manifest:
    """Refuse an extracted archive that is not a FHIR package (checked before it is moved into place)."""
    manifest = root / PACKAGE_FOLDER / MANIFEST_FILE
    if not manifest.is_file():
        raise PackageError(f"archive has no {PACKAGE_FOLDER}/{MANIFEST_FILE}: not a FHIR package")
    return Manifest.read(root / PACKAGE_FOLDER)


def folder_signature(folder: Path) -> str:
    """Changes whenever a file of the package folder is added, removed or rewritten."""
    digest = hashlib.sha256(str(folder.resolve()).encode())
    with os.scandir(folder) as entries:
        listing = sorted((entry.name, entry.stat()) for entry in entries if entry.is_file())
    for name, stat in listing:
        digest.update(f"\0{name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


FileIdentity = tuple[str, int, int, int, int, int]
"""Resolved path, device, inode, size, modification time and change time (nanoseconds)."""


def file_identity(path: Path) -> FileIdentity:
    """What changes when a file is replaced or rewritten: its resolved path, device, inode, size and times.

    The change time (ctime) cannot be set by a program, so even a rewrite that restores the size and the
    modification time changes the identity.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise PackageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return (str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def _settled(identity: FileIdentity) -> bool:
    """Was the file last modified or changed long enough ago for its identity to be trusted?"""
    last_change = max(identity[4], identity[5])
    return time.time_ns() - last_change > SETTLED_NS


def _remembered_digest(stored: Path, identity: FileIdentity) -> str | None:
    """The digest remembered for a file of this identity; None when absent, stale, corrupt or unreadable."""
    try:
        data = orjson.loads(stored.read_bytes())
    except (orjson.JSONDecodeError, OSError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("format") != DIGEST_FORMAT
        or data.get("identity") != list(identity)
    ):
        return None
    digest = data.get("sha256")
    return digest if isinstance(digest, str) and _SHA256_HEX.fullmatch(digest) else None


def _write_quietly(path: Path, data: bytes) -> None:
    """Store a derived file; an unwritable work cache only costs speed, so errors are ignored."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):  # no half-written file is left behind
            partial.unlink(missing_ok=True)
