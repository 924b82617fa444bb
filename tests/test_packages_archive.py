"""Safe extraction and integrity checks on hostile and broken archives."""

from __future__ import annotations

import base64
import gzip
import hashlib
import tarfile
from pathlib import Path

import pytest

from conformance.errors import IntegrityError, PackageError, UnsafeArchiveError
from conformance.packages.archive import (
    ExtractionLimits,
    check_integrity,
    extract_into_place,
    safe_extract,
)
from packages_support import all_files, hostile_with, pack, special_member, tarball


def _write(tmp_path: Path, data: bytes, name: str = "archive.tgz") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_good_archive_extracts_into_place(tmp_path: Path) -> None:
    archive = _write(tmp_path, pack("example.terms#1.0.0"))
    final = extract_into_place(archive, tmp_path / "out" / "example.terms#1.0.0")
    assert (final / "package" / "package.json").is_file()
    assert (final / "package" / "CodeSystem-colours.json").read_bytes().startswith(b"{")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["example.terms#1.0.0"]


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("package/../../escaped.txt", "points outside"),
        ("../escaped.txt", "points outside"),
        ("/tmp/absolute-escape.txt", "absolute path"),
        ("C:/windows/escape.txt", "absolute path"),
        ("package\\..\\..\\escaped.txt", "points outside"),
    ],
)
def test_paths_leaving_the_destination_are_refused(tmp_path: Path, member: str, message: str) -> None:
    archive = _write(tmp_path, hostile_with("example.terms#1.0.0", members=[(member, b"pwned")]))
    target = tmp_path / "cache" / "x#1"
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_into_place(archive, target)
    assert all_files(tmp_path / "cache") == []
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/absolute-escape.txt").exists()


@pytest.mark.parametrize(
    ("kind", "linkname", "message"),
    [
        (tarfile.SYMTYPE, "/etc/passwd", "is a link"),
        (tarfile.SYMTYPE, "../../outside", "is a link"),
        (tarfile.LNKTYPE, "package/package.json", "is a link"),
        (tarfile.CHRTYPE, "", "not a regular file"),
        (tarfile.BLKTYPE, "", "not a regular file"),
        (tarfile.FIFOTYPE, "", "not a regular file"),
    ],
)
def test_links_and_devices_are_refused(tmp_path: Path, kind: bytes, linkname: str, message: str) -> None:
    archive = _write(
        tmp_path, hostile_with("example.terms#1.0.0", [special_member("package/evil", kind, linkname)])
    )
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_into_place(archive, tmp_path / "cache" / "x#1")
    assert all_files(tmp_path / "cache") == []


def test_an_oversized_member_is_refused(tmp_path: Path) -> None:
    archive = _write(tmp_path, tarball([("package/package.json", b"{}"), ("package/big.json", b"x" * 5000)]))
    with pytest.raises(UnsafeArchiveError, match=r"big\.json.*5000 bytes"):
        extract_into_place(archive, tmp_path / "cache" / "x#1", ExtractionLimits(max_member_bytes=4096))
    assert all_files(tmp_path / "cache") == []


def test_the_total_size_is_capped(tmp_path: Path) -> None:
    members = [(f"package/f{i}.json", b"y" * 1000) for i in range(10)]
    archive = _write(tmp_path, tarball(members))
    limits = ExtractionLimits(max_member_bytes=2000, max_total_bytes=5000)
    with pytest.raises(UnsafeArchiveError, match="exceed 5000 bytes"):
        safe_extract(archive, tmp_path, limits)


def test_the_member_count_is_capped(tmp_path: Path) -> None:
    archive = _write(tmp_path, tarball([(f"package/f{i}.json", b"{}") for i in range(20)]))
    (tmp_path / "out").mkdir()
    with pytest.raises(UnsafeArchiveError, match="more than 5 members"):
        safe_extract(archive, tmp_path / "out", ExtractionLimits(max_members=5))


def test_a_gzip_bomb_stops_at_the_total_cap(tmp_path: Path) -> None:
    # 64 MiB of zeros compresses to about 64 KiB: the cap, not the file size, must stop it.
    archive = _write(tmp_path, tarball([("package/zeros.json", bytes(64 * 1024 * 1024))]))
    assert archive.stat().st_size < 1024 * 1024
    with pytest.raises(UnsafeArchiveError, match=r"zeros\.json"):
        extract_into_place(
            archive, tmp_path / "cache" / "x#1", ExtractionLimits(max_member_bytes=1024 * 1024)
        )
    assert all_files(tmp_path / "cache") == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"this is not an archive at all",
        gzip.compress(b"gzip of something that is not a tar" * 10),
        pack("example.terms#1.0.0")[:200],
        b"\x1f\x8b" + bytes(range(256)) * 4,
    ],
    ids=["empty", "text", "gzip-not-tar", "truncated", "bad-gzip"],
)
def test_corrupt_archives_give_a_clear_error(tmp_path: Path, data: bytes) -> None:
    archive = _write(tmp_path, data)
    with pytest.raises(PackageError, match=r"archive\.tgz"):
        extract_into_place(archive, tmp_path / "cache" / "x#1")
    assert all_files(tmp_path / "cache") == []


def test_a_check_can_refuse_the_extracted_tree_before_it_is_moved(tmp_path: Path) -> None:
    archive = _write(tmp_path, pack("example.terms#1.0.0"))

    def refuse(root: Path) -> None:
        assert (root / "package" / "package.json").is_file()
        raise PackageError("refused")

    with pytest.raises(PackageError, match="refused"):
        extract_into_place(archive, tmp_path / "cache" / "x#1", check=refuse)
    assert all_files(tmp_path / "cache") == []


def test_integrity_sha512_and_sha1(tmp_path: Path) -> None:
    data = pack("example.terms#1.0.0")
    archive = _write(tmp_path, data)
    good512 = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    check_integrity(archive, integrity=good512, shasum=None, label="t")
    check_integrity(archive, integrity=None, shasum=hashlib.sha1(data).hexdigest(), label="t")
    check_integrity(archive, integrity=None, shasum=None, label="t")  # nothing published, nothing to check
    wrong512 = "sha512-" + base64.b64encode(hashlib.sha512(b"other").digest()).decode()
    with pytest.raises(IntegrityError, match="sha512"):
        check_integrity(archive, integrity=wrong512, shasum=hashlib.sha1(data).hexdigest(), label="t")
    with pytest.raises(IntegrityError, match="sha1"):
        check_integrity(archive, integrity=None, shasum=hashlib.sha1(b"other").hexdigest(), label="t")


@pytest.mark.parametrize(("integrity", "shasum"), [("sha512-%%%not-base64", None), (None, "zz-not-hex")])
def test_malformed_hashes_are_integrity_errors(
    tmp_path: Path, integrity: str | None, shasum: str | None
) -> None:
    archive = _write(tmp_path, b"anything")
    with pytest.raises(IntegrityError, match="malformed"):
        check_integrity(archive, integrity=integrity, shasum=shasum, label="t")
