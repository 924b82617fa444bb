"""The registry client and cache installs, against a real HTTP registry on 127.0.0.1 started by the test."""

from __future__ import annotations

import base64
import hashlib
import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.context import Context
from conformance.errors import (
    IntegrityError,
    OfflineError,
    PackageError,
    PackageNotFoundError,
    RegistryError,
    UnsafeArchiveError,
)
from conformance.fhirversion import FhirVersion
from conformance.packages.store import PackageStore
from conformance.packages.versions import VersionSpec
from conformance.settings import Settings
from packages_support import (
    all_files,
    copy_fixtures,
    hostile_with,
    offline_settings,
    pack,
    special_member,
    tarball,
)
from registry_server import FakeRegistry, running_registry


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with running_registry() as server:
        yield server


def _online(tmp_path: Path, registry_url: str) -> Settings:
    """Only the core package on the package path; everything else must come from the registry."""
    core = copy_fixtures(tmp_path / "path", "hl7.fhir.r4.core#4.0.1")
    return Settings(
        package_path=(core,),
        package_cache=tmp_path / "cache",
        work_cache=tmp_path / "work",
        registry_url=registry_url,
        offline=False,
    )


def _publish_examples(registry: FakeRegistry) -> None:
    for package_id in ("example.profiles#1.0.0", "example.terms#1.0.0", "example.terms#1.1.0"):
        name, version = package_id.split("#")
        registry.publish(name, version, pack(package_id))


def test_install_puts_the_package_and_its_dependencies_in_the_cache(
    tmp_path: Path, registry: FakeRegistry
) -> None:
    _publish_examples(registry)
    settings = _online(tmp_path, registry.url)
    report = PackageStore(settings).install_with_dependencies("example.profiles", VersionSpec.parse("latest"))
    # Breadth first, in the order the manifest lists its dependencies; the core came from the package path.
    assert [p.id for p in report.packages] == [
        "example.profiles#1.0.0",
        "hl7.fhir.r4.core#4.0.1",
        "example.terms#1.1.0",
    ]
    assert sorted(p.name for p in settings.package_cache.iterdir()) == [
        "example.profiles#1.0.0",
        "example.terms#1.1.0",
    ]
    assert (settings.package_cache / "example.terms#1.1.0" / "package" / "package.json").is_file()
    [problem] = report.problems
    assert "example.terms#1.1.0 needs example.missing#2.0.0" in problem
    assert "/hl7.fhir.r4.core" not in registry.requests, "found locally, so never asked for"


def test_a_context_downloads_what_it_misses_and_reuses_the_cache(
    tmp_path: Path, registry: FakeRegistry
) -> None:
    _publish_examples(registry)
    settings = _online(tmp_path, registry.url)
    context = Context.build(settings, FhirVersion.R4, igs=["example.profiles#1.0.0"], implicit_packages=False)
    assert [p.id for p in context.packages] == [
        "example.profiles#1.0.0",
        "example.terms#1.1.0",
        "hl7.fhir.r4.core#4.0.1",
    ]
    assert [w for w in context.warnings if "example.missing#2.0.0" in w and "example.terms#1.1.0 needs" in w]
    asked = len(registry.requests)
    again = Context.build(settings, FhirVersion.R4, igs=["example.profiles#1.0.0"], implicit_packages=False)
    assert [p.id for p in again.packages] == [p.id for p in context.packages]
    assert registry.requests[asked:] == ["/example.missing"], "only the missing package is asked for again"


def test_a_version_range_is_resolved_against_the_registry_listing(
    tmp_path: Path, registry: FakeRegistry
) -> None:
    _publish_examples(registry)
    store = PackageStore(_online(tmp_path, registry.url))
    assert store.install("example.terms", VersionSpec.parse("1.0.x")).id == "example.terms#1.0.0"
    assert store.install("example.terms", VersionSpec.parse("latest")).id == "example.terms#1.1.0"
    with pytest.raises(PackageNotFoundError, match=r"no version of example\.terms matching 2\.x"):
        store.install("example.terms", VersionSpec.parse("2.x"))
    with pytest.raises(PackageNotFoundError, match=r"has no package example\.absent"):
        store.install("example.absent", VersionSpec.parse("1.0.0"))


def test_sha1_shasum_is_checked_when_there_is_no_integrity(tmp_path: Path, registry: FakeRegistry) -> None:
    data = pack("example.terms#1.0.0")
    registry.publish(
        "example.terms", "1.0.0", data, integrity=None, shasum=hashlib.sha1(b"other").hexdigest()
    )
    settings = _online(tmp_path, registry.url)
    with pytest.raises(IntegrityError, match=r"example\.terms#1\.0\.0.*sha1"):
        PackageStore(settings).install("example.terms", VersionSpec.parse("1.0.0"))
    assert all_files(settings.package_cache) == []


def test_a_wrong_sha512_is_rejected_and_nothing_is_written(tmp_path: Path, registry: FakeRegistry) -> None:
    wrong = "sha512-" + base64.b64encode(hashlib.sha512(b"something else").digest()).decode()
    registry.publish("example.terms", "1.0.0", pack("example.terms#1.0.0"), integrity=wrong)
    settings = _online(tmp_path, registry.url)
    with pytest.raises(IntegrityError, match="does not match the registry's sha512 hash"):
        PackageStore(settings).install("example.terms", VersionSpec.parse("1.0.0"))
    assert all_files(settings.package_cache) == []


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (
            hostile_with("example.terms#1.0.0", members=[("package/../../../escaped-by-test.txt", b"x")]),
            UnsafeArchiveError,
            "points outside",
        ),
        (
            hostile_with(
                "example.terms#1.0.0", [special_member("package/link", tarfile.SYMTYPE, "/etc/passwd")]
            ),
            UnsafeArchiveError,
            "is a link",
        ),
        (tarball([("package/readme.md", b"no manifest")]), PackageError, "not a FHIR package"),
        (pack("example.terms#1.1.0"), PackageError, r"holds example\.terms#1\.1\.0"),
    ],
    ids=["traversal", "symlink", "no-manifest", "other-package"],
)
def test_hostile_or_wrong_tarballs_leave_the_cache_untouched(
    tmp_path: Path, registry: FakeRegistry, data: bytes, error: type[Exception], message: str
) -> None:
    registry.publish("example.terms", "1.0.0", data)
    settings = _online(tmp_path, registry.url)
    with pytest.raises(error, match=message):
        PackageStore(settings).install("example.terms", VersionSpec.parse("1.0.0"))
    assert all_files(settings.package_cache) == []
    assert not list(tmp_path.rglob("escaped-by-test.txt"))
    assert not (tmp_path.parent / "escaped-by-test.txt").exists()


@pytest.mark.parametrize("name", ["../escape", "a/b", "x#1", ""])
def test_hostile_package_names_are_never_asked_for(tmp_path: Path, registry: FakeRegistry, name: str) -> None:
    with pytest.raises(PackageError, match="not a usable package name"):
        PackageStore(_online(tmp_path, registry.url)).install(name, VersionSpec.parse("1.0.0"))
    assert registry.requests == []


def test_registry_answers_that_are_not_json_are_clear_errors(tmp_path: Path, registry: FakeRegistry) -> None:
    registry.broken_listing = True
    with pytest.raises(RegistryError, match="non-JSON"):
        PackageStore(_online(tmp_path, registry.url)).install("example.terms", VersionSpec.parse("1.0.0"))


def test_an_unreachable_registry_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = PackageStore(_online(tmp_path, f"http://127.0.0.1:{port}"))
    with pytest.raises(RegistryError, match="cannot be reached"):
        store.install("example.terms", VersionSpec.parse("1.0.0"))


def test_an_unreachable_registry_makes_a_missing_dependency_a_warning(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = _online(tmp_path, f"http://127.0.0.1:{port}")
    copy_fixtures(settings.package_cache, "example.terms#1.1.0")
    context = Context.build(settings, FhirVersion.R4, igs=["example.terms"], implicit_packages=False)
    assert [w for w in context.warnings if "example.missing#2.0.0" in w and "cannot be reached" in w]


# --- offline: never a socket ------------------------------------------------------------------------


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("offline mode opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_sockets")
def test_offline_mode_never_opens_a_socket(tmp_path: Path) -> None:
    settings = offline_settings(
        tmp_path, copy_fixtures(tmp_path / "path", "hl7.fhir.r4.core#4.0.1", "example.terms#1.1.0")
    )
    context = Context.build(settings, FhirVersion.R4, igs=["example.terms"])
    assert [w for w in context.warnings if "example.missing#2.0.0" in w and "offline" in w]
    with pytest.raises(PackageNotFoundError, match="offline"):
        Context.build(settings, FhirVersion.R4, igs=["example.absent#1.0.0"])
    store = PackageStore(settings)
    with pytest.raises(OfflineError, match="offline mode is on"):
        store.install("example.absent", VersionSpec.parse("1.0.0"))
    assert store.find("example.absent", VersionSpec.parse("1.0.0")) is None


def test_the_no_sockets_guard_itself_works(no_sockets: None) -> None:
    with pytest.raises(pytest.fail.Exception), socket.create_connection(("127.0.0.1", 9)):
        pass
