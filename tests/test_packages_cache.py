"""What the work cache remembers between runs (package indexes, archive digests) never changes a result.

A stored index or digest that is corrupt, stale, foreign or unwritable is detected and ignored (the
package is read again), and several loaders writing the same cache at once leave it usable.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
import threading
import zlib
from pathlib import Path

import pytest

from conformance.errors import PackageError
from conformance.packages import loading
from conformance.packages.archive import sha256_of
from conformance.packages.index import IndexEntry, dump_enriched, load_enriched
from conformance.packages.loading import PackageLoader
from packages_support import FIXTURE_PACKAGES, pack


@pytest.fixture(autouse=True)
def _archives_count_as_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The archives here were written a moment ago; digests are remembered only for settled files."""
    monkeypatch.setattr(loading, "SETTLED_NS", -1)


def _archive(tmp_path: Path, package_id: str = "example.profiles#1.0.0") -> Path:
    path = tmp_path / "archives" / f"{package_id}.tgz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pack(package_id))
    return path


def _stored(work: Path, folder: str) -> list[Path]:
    return sorted((work / folder).glob("*.json"))


def _never_read(*_: object) -> object:
    raise AssertionError("the package was read again although the work cache knows it")


def _forbid(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        monkeypatch.setattr(loading, name, _never_read)


def test_a_warm_load_reads_neither_the_archive_nor_its_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, work = _archive(tmp_path), tmp_path / "work"
    cold = PackageLoader(work).load(archive)
    _forbid(monkeypatch, "sha256_of", "read_package_index", "build_index", "add_base_definitions")
    warm = PackageLoader(work).load(archive)
    assert warm.index == cold.index
    assert all(isinstance(entry, IndexEntry) for entry in warm.index)
    assert {entry.package for entry in warm.index} == {"example.profiles#1.0.0"}


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"\x00\xff not json at all",
        lambda data: data.replace(b"ExamplePatient", b"ExamplePatienX"),
        lambda data: data.replace(b'"format":2', b'"format":1'),
        lambda data: data.split(b"\n", 1)[0] + b"\n[]",
        lambda data: b"",
    ],
    ids=["truncated", "garbage", "changed-entry", "old-format", "body-replaced", "empty"],
)
def test_a_damaged_stored_index_is_ignored_and_rebuilt(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    archive, work = _archive(tmp_path), tmp_path / "work"
    expected = PackageLoader(work).load(archive).index
    [stored] = _stored(work, "index")
    stored.write_bytes(damage(stored.read_bytes()))
    assert PackageLoader(work).load(archive).index == expected
    assert PackageLoader(work).load(archive).index == expected  # and the rebuilt store is good again


def test_a_stored_index_of_another_key_or_package_is_refused(tmp_path: Path) -> None:
    entries = (IndexEntry("a.json", "ValueSet", "a", "http://x/a", package="p#1"),)
    path = tmp_path / "index.json"
    path.write_bytes(dump_enriched(entries, "archive:one", "p#1"))
    assert load_enriched(path, "archive:one", "p#1") == entries
    assert load_enriched(path, "archive:two", "p#1") is None
    assert load_enriched(path, "archive:one", "q#1") is None


def test_a_stored_row_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_bytes(dump_enriched((IndexEntry("a.json", "ValueSet", package="p#1"),), "k", "p#1"))
    header, body = path.read_bytes().split(b"\n", 1)
    for bad_body in (
        b'[["a.json","ValueSet",null,null,null,null,null,null,null]]',
        b'[["a.json","ValueSet",null,null,null,null,null,null,null,"q#1"]]',
    ):
        forged = header.replace(str(zlib.crc32(body)).encode(), str(zlib.crc32(bad_body)).encode())
        path.write_bytes(forged + b"\n" + bad_body)
        assert load_enriched(path, "k", "p#1") is None


def _same_size_archives(tmp_path: Path) -> tuple[bytes, bytes]:
    """Two archives of one size (gzip without compression) whose manifests differ in one character."""

    def archive(version: str) -> bytes:
        manifest = f'{{"name": "example.sized", "version": "{version}", "fhirVersions": ["4.0.1"]}}'.encode()
        buffer = io.BytesIO()
        with (
            gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=0, mtime=0) as raw,
            tarfile.open(fileobj=raw, mode="w") as tar,
        ):
            info = tarfile.TarInfo("package/package.json")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
        return buffer.getvalue()

    first, second = archive("1.0.0"), archive("1.0.1")
    assert len(first) == len(second) and first != second
    return first, second


def test_an_archive_rewritten_with_its_size_and_time_kept_is_hashed_again(tmp_path: Path) -> None:
    first, second = _same_size_archives(tmp_path)
    archive, work = tmp_path / "example.sized.tgz", tmp_path / "work"
    archive.write_bytes(first)
    assert PackageLoader(work).load(archive).version == "1.0.0"
    stat = archive.stat()
    with archive.open("r+b") as stream:  # in place: same inode, same size, then the old times back
        stream.write(second)
    os.utime(archive, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert archive.stat().st_size == stat.st_size and archive.stat().st_mtime_ns == stat.st_mtime_ns
    assert PackageLoader(work).load(archive).version == "1.0.1"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b'{"format": 1, "identity": [], "sha256": "' + b"0" * 64 + b'"}',
        b'{"format": 1}',
        b"[]",
    ],
    ids=["empty", "garbage", "other-identity", "no-digest", "not-an-object"],
)
def test_a_damaged_remembered_digest_is_ignored(tmp_path: Path, content: bytes) -> None:
    archive, work = _archive(tmp_path), tmp_path / "work"
    expected = PackageLoader(work).load(archive).index
    [stored] = _stored(work, "digests")
    stored.write_bytes(content)
    assert PackageLoader(work).load(archive).index == expected
    # and the damaged file was replaced by a good one
    assert PackageLoader(work).archive_digest(archive) == sha256_of(archive)


def test_a_remembered_digest_of_the_wrong_form_is_ignored(tmp_path: Path) -> None:
    archive, work = _archive(tmp_path), tmp_path / "work"
    PackageLoader(work).load(archive)
    [stored] = _stored(work, "digests")
    stored.write_bytes(stored.read_bytes().replace(b'"sha256":"', b'"sha256":"../'))
    assert PackageLoader(work).archive_digest(archive) == sha256_of(archive)


@pytest.mark.parametrize("blocked", ["index", "digests", "extracted"])
def test_an_unwritable_part_of_the_work_cache_costs_speed_not_correctness(
    tmp_path: Path, blocked: str
) -> None:
    archive, work = _archive(tmp_path), tmp_path / "work"
    expected = PackageLoader(tmp_path / "elsewhere").load(archive).index
    work.mkdir()
    (work / blocked).write_text("a file where a folder should be")
    if blocked == "extracted":  # extraction itself needs the folder: a clear error, never a traceback
        with pytest.raises(PackageError, match="cannot be extracted into"):
            PackageLoader(work).load(archive)
        return
    for _ in range(2):
        assert PackageLoader(work).load(archive).index == expected


def test_concurrent_loaders_share_one_work_cache(tmp_path: Path) -> None:
    archive, work = _archive(tmp_path), tmp_path / "work"
    expected = PackageLoader(tmp_path / "reference").load(archive).index
    start = threading.Barrier(6)
    results: list[tuple[IndexEntry, ...]] = []
    failures: list[BaseException] = []

    def load() -> None:
        start.wait()
        try:
            for _ in range(5):
                results.append(PackageLoader(work).load(archive).index)
        except BaseException as exc:  # reported by the assertions below
            failures.append(exc)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(results) == 30 and all(index == expected for index in results)
    assert [path.name for path in (work / "index").iterdir()] == [_stored(work, "index")[0].name]
    assert len(_stored(work, "digests")) == 1
    assert load_enriched(_stored(work, "index")[0], f"archive:{sha256_of(archive)}", "example.profiles#1.0.0")


def test_a_folder_package_has_no_remembered_digest(tmp_path: Path) -> None:
    work = tmp_path / "work"
    PackageLoader(work).load(FIXTURE_PACKAGES / "example.profiles#1.0.0")
    assert not (work / "digests").exists()


_LOADER = """
import sys
from pathlib import Path
from conformance.packages.loading import PackageLoader
for _ in range(5):
    index = PackageLoader(Path(sys.argv[1])).load(Path(sys.argv[2])).index
print(repr(index))
"""


def test_concurrent_processes_share_one_work_cache(tmp_path: Path) -> None:
    archive, work = _archive(tmp_path), tmp_path / "work"
    expected = repr(PackageLoader(tmp_path / "reference").load(archive).index)
    argv = [sys.executable, "-c", _LOADER, str(work), str(archive)]
    loaders = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    outputs = [loader.communicate(timeout=120) for loader in loaders]
    assert [(loader.returncode, err) for loader, (_, err) in zip(loaders, outputs, strict=True)] == [
        (0, "")
    ] * 4
    assert [out.strip() for out, _ in outputs] == [expected] * 4
    assert len(list((work / "extracted").iterdir())) == 1  # one extraction kept, no partial folder left
    assert repr(PackageLoader(work).load(archive).index) == expected


def test_an_extraction_another_loader_finished_meanwhile_is_used(tmp_path: Path) -> None:
    """The race between "is it extracted?" and extracting: the other loader's complete copy is kept."""
    archive, work = _archive(tmp_path), tmp_path / "work"
    final = PackageLoader(work).load(archive).directory.parent
    assert PackageLoader(work)._extract(archive, final) == final
    (final / "package" / "package.json").unlink()  # an interrupted copy is still refused
    with pytest.raises(PackageError, match="exists but is not a package folder"):
        PackageLoader(work)._extract(archive, final)


def test_the_digest_of_a_file_changed_moments_ago_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As git treats "racy" files: within a timestamp tick, a rewrite could keep the same identity."""
    monkeypatch.setattr(loading, "SETTLED_NS", 3_000_000_000)
    archive, work = _archive(tmp_path), tmp_path / "work"
    assert PackageLoader(work).load(archive).version == "1.0.0"
    assert _stored(work, "digests") == []
    monkeypatch.setattr(loading, "SETTLED_NS", -1)
    PackageLoader(work).load(archive)
    assert len(_stored(work, "digests")) == 1
