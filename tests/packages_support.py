"""Helpers for the package tests: fixture locations, settings, and tarballs built in the test itself."""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from conformance.settings import Settings

REPO = Path(__file__).resolve().parents[1]
FIXTURE_PACKAGES = REPO / "fixtures" / "packages"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_PACKAGES = SHARED / "fhir-packages"


def shared_packages() -> Path:
    """The shared FHIR package folder, or skip the test when this checkout has none beside it."""
    if not (SHARED_PACKAGES / "hl7.fhir.r4.core#4.0.1.tgz").is_file():
        pytest.skip(f"needs the shared FHIR packages at {SHARED_PACKAGES} (absent)")
    return SHARED_PACKAGES


def session_work_cache(factory: pytest.TempPathFactory) -> Path:
    """One work cache for the whole test session, so the shared archives are extracted only once.

    Sharing is safe: everything in a work cache is keyed by content hashes.
    """
    return factory.getbasetemp() / "session-work-cache"


def offline_settings(tmp_path: Path, *package_path: Path) -> Settings:
    """Settings that write only under `tmp_path`, read the given package path, and never use the network."""
    return Settings(
        package_path=tuple(package_path),
        package_cache=tmp_path / "cache",
        work_cache=tmp_path / "work",
        registry_url="http://127.0.0.1:9",
        offline=True,
    )


def copy_fixtures(destination: Path, *ids: str) -> Path:
    """Copy fixture packages (by `name#version`) into `destination`, cache layout; returns it."""
    destination.mkdir(parents=True, exist_ok=True)
    for package_id in ids:
        shutil.copytree(FIXTURE_PACKAGES / package_id, destination / package_id)
    return destination


def pack(package_id: str) -> bytes:
    """A .tgz of a fixture package, with members under `package/` as registries serve them."""
    folder = FIXTURE_PACKAGES / package_id / "package"
    members = [
        (f"package/{path.name}", path.read_bytes()) for path in sorted(folder.iterdir()) if path.is_file()
    ]
    return tarball(members)


def tarball(members: Iterable[tuple[str, bytes]], extra: Iterable[tarfile.TarInfo] = ()) -> bytes:
    """A gzip tar of regular files, plus any prepared special members (links, devices...)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return buffer.getvalue()


def special_member(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def hostile_with(
    package_id: str, extra: Iterable[tarfile.TarInfo] = (), members: Iterable[tuple[str, bytes]] = ()
) -> bytes:
    """A real fixture package plus hostile members, so only the hostile part can make it fail."""
    folder = FIXTURE_PACKAGES / package_id / "package"
    good = [
        (f"package/{path.name}", path.read_bytes()) for path in sorted(folder.iterdir()) if path.is_file()
    ]
    return tarball([*good, *members], extra)


def all_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*")) if root.exists() else []
