"""`conformance packages ...` and `conformance sample` through the real command-line entry point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.settings import (
    ENV_OFFLINE,
    ENV_PACKAGE_CACHE,
    ENV_PACKAGE_PATH,
    ENV_REGISTRY,
    ENV_WORK_CACHE,
)
from packages_support import copy_fixtures, pack
from registry_server import FakeRegistry, running_registry


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment that points every folder into tmp_path and names no package path."""
    monkeypatch.delenv(ENV_PACKAGE_PATH, raising=False)
    monkeypatch.delenv(ENV_REGISTRY, raising=False)
    monkeypatch.delenv(ENV_OFFLINE, raising=False)
    monkeypatch.setenv(ENV_PACKAGE_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_WORK_CACHE, str(tmp_path / "work"))
    return tmp_path


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with running_registry() as server:
        yield server


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_path_and_cache_packages(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_fixtures(env / "path", "hl7.fhir.r4.core#4.0.1", "example.stu3#1.0.0")
    copy_fixtures(env / "cache", "example.terms#1.1.0")
    code, out, err = _run(capsys, "packages", "list", "--package-path", str(path), "--offline")
    assert (code, err) == (0, "")
    lines = [line for line in out.splitlines() if "example" in line or "hl7" in line]
    assert len(lines) == 3
    assert "example.stu3" in lines[0] and "3.0.1" in lines[0] and "path" in lines[0]
    assert "hl7.fhir.r4.core" in lines[1] and "4.0.1" in lines[1]
    assert "example.terms" in lines[2] and "1.1.0" in lines[2] and "cache" in lines[2]


def test_list_with_nothing_found_says_so(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "packages", "list", "--offline")
    assert code == 0 and "no packages found" in out


def test_show_prints_manifest_and_counts(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_fixtures(env / "path", "example.profiles#1.0.0")
    code, out, _ = _run(capsys, "packages", "show", "example.profiles#1.x", "--package-path", str(path))
    assert code == 0
    assert "example.profiles#1.0.0" in out
    assert "hl7.fhir.r4.core#4.0.1, example.terms#1.x" in out
    assert any("StructureDefinition" in line and "2" in line for line in out.splitlines())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["packages", "show", "example.absent#1.0.0"], "example.absent#1.0.0 is not on the package path"),
        (["packages", "show", "bad name!"], "not a package reference"),
        (["packages", "install", "x#../../etc", "--offline"], "not a package reference"),
        (["packages", "install", "example.terms#1.0.0", "--offline"], "offline mode is on"),
        (["packages", "list", "--package-path", "{bad_tgz}"], "not a readable package archive"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    bad = env / "bad" / "broken#1.0.0.tgz"
    bad.parent.mkdir()
    bad.write_bytes(b"not a gzip file")
    code, _, err = _run(capsys, *(arg.replace("{bad_tgz}", str(bad.parent)) for arg in argv))
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("conformance: error: ")


def test_install_downloads_into_the_cache(
    env: Path, capsys: pytest.CaptureFixture[str], registry: FakeRegistry
) -> None:
    registry.publish("example.terms", "1.0.0", pack("example.terms#1.0.0"))
    core = copy_fixtures(env / "path", "hl7.fhir.r4.core#4.0.1")
    code, out, err = _run(
        capsys,
        "packages",
        "install",
        "example.terms#1.0.0",
        "--registry",
        registry.url,
        "--package-path",
        str(core),
    )
    assert (code, err) == (0, "")
    assert "example.terms#1.0.0" in out
    assert (env / "cache" / "example.terms#1.0.0" / "package" / "package.json").is_file()


def test_sample_without_packages_is_a_clear_error(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "sample")
    assert code == 2 and out == ""
    assert "the UK Core sample needs fhir.r4.ukcore.stu2#2.0.2" in err
    assert err.count("\n") == 1
