"""The built distributions carry everything: profiles/**, the sample payloads, every data file beside the
code, the licence and complete metadata; and the sdist builds the same wheel as the source tree.

The builds run on a copy of what the build reads (so nothing is written into the checkout and two runs
cannot collide), with the build tools of this environment (`--no-isolation`: no network).
`make.py test` then installs such a wheel outside the checkout and runs tests/smoke against it.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path, PurePosixPath

import pytest

import conformance

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
# What a build of this project reads; src/conformance/profiles and samples/* link into the last two.
BUILD_INPUTS = (
    "pyproject.toml",
    "setup.py",
    "README.md",
    "LICENSE",
    "src",
    "profiles",
    "fixtures/statements",
)
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@dataclass(frozen=True)
class Built:
    tree: Path  # the copy of the source tree the distributions were built from
    wheel: Path  # built from the sdist, as `python -m build` does
    sdist: Path
    direct_wheel: Path  # built straight from the source tree, as `pip install .` does


def _copy_build_inputs(target: Path) -> Path:
    for name in BUILD_INPUTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, symlinks=True, ignore=SKIPPED)
        else:
            shutil.copy2(source, target / name)
    return target


def _build(tree: Path, out: Path, *options: str) -> None:
    try:
        import build  # noqa: F401, PLC0415 - only to say clearly when the dev extra is missing
    except ImportError:
        pytest.fail("`build` is not installed in this environment: install the project with its [dev] extra")
    command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), *options, str(tree)]
    # What ships is checked on pure Python builds (a compiled one embeds its build folder's paths, so two
    # builds differ byte for byte); make.py's smoke installs and checks the compiled wheel.
    environment = dict(os.environ, CONFORMANCE_COMPILE="0")
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"build failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tree = _copy_build_inputs(tmp_path_factory.mktemp("tree"))
    dist, direct = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("direct")
    _build(tree, dist)
    _build(tree, direct, "--wheel")
    (wheel,), (sdist,), (direct_wheel,) = dist.glob("*.whl"), dist.glob("*.tar.gz"), direct.glob("*.whl")
    return Built(tree, wheel, sdist, direct_wheel)


def _wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}


def _files_below(folder: Path) -> Iterator[Path]:
    """Every file below `folder`, following links (as the build does), without caches and hidden files."""
    for directory, subdirectories, names in os.walk(folder, followlinks=True):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__" and not d.startswith(".")]
        for name in names:
            if not name.startswith(".") and not name.endswith(".pyc"):
                yield Path(directory) / name


def _missing(source: Path, wheel_folder: str, files: dict[str, bytes]) -> list[str]:
    """Files below `source` that are absent from the wheel's `wheel_folder`, or differ there."""
    missing = []
    for path in _files_below(source):
        name = str(PurePosixPath(wheel_folder, *path.relative_to(source).parts))
        if files.get(name) != path.read_bytes():
            missing.append(name)
    return sorted(missing)


def test_every_file_under_profiles_ships_in_the_wheel(built: Built) -> None:
    files = _wheel_files(built.wheel)
    profiles = built.tree / "profiles"
    assert list(_files_below(profiles)), "profiles/ is empty: nothing was checked"
    assert _missing(profiles, "conformance/profiles", files) == []
    shipped = {name for name in files if name.startswith("conformance/profiles/")}
    assert len(shipped) == len(list(_files_below(profiles))), "the wheel has profiles/ files the tree has not"


def test_the_sample_payloads_ship_in_the_wheel(built: Built) -> None:
    files = _wheel_files(built.wheel)
    for kind in ("valid", "invalid"):
        source = built.tree / "fixtures" / "statements" / kind
        assert list(_files_below(source)), f"no sample payloads in {source}"
        assert _missing(source, f"conformance/samples/{kind}", files) == []


def test_every_module_and_data_file_beside_the_code_ships_in_the_wheel(built: Built) -> None:
    # A page asset or data file added next to the code needs a package-data pattern in pyproject.toml.
    assert _missing(built.tree / "src" / "conformance", "conformance", _wheel_files(built.wheel)) == []


def test_the_sdist_builds_the_same_wheel_as_the_source_tree(built: Built) -> None:
    from_sdist, from_tree = _wheel_files(built.wheel), _wheel_files(built.direct_wheel)
    assert sorted(from_sdist) == sorted(from_tree)
    differing = [name for name in from_sdist if from_sdist[name] != from_tree[name]]
    assert differing == []


def test_the_sdist_holds_the_data_as_files_and_the_licence(built: Built) -> None:
    with tarfile.open(built.sdist) as archive:
        members = {PurePosixPath(m.name).relative_to(PurePosixPath(m.name).parts[0]): m for m in archive}
    links = [str(name) for name, member in members.items() if member.issym() or member.islnk()]
    assert links == [], "the sdist must hold files, not links into a checkout it does not have"
    for needed in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "setup.py",
        "src/conformance/profiles/standards",
    ):
        assert PurePosixPath(needed) in members, needed


def _metadata(files: dict[str, bytes]) -> Message:
    (name,) = [name for name in files if name.endswith(".dist-info/METADATA")]
    return email.parser.BytesParser().parsebytes(files[name])


def test_the_wheel_metadata_is_complete(built: Built) -> None:
    files = _wheel_files(built.wheel)
    metadata = _metadata(files)
    assert (metadata["Name"], metadata["Version"]) == (PROJECT["name"], PROJECT["version"])
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    (licence,) = [name for name in files if name.endswith(".dist-info/licenses/LICENSE")]
    assert b"Apache License" in files[licence] and b"Version 2.0" in files[licence]
    assert metadata["Requires-Python"] == PROJECT["requires-python"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    urls = {entry.split(",", 1)[0] for entry in metadata.get_all("Project-URL", [])}
    assert {"Homepage", "Source", "Issues", "Documentation", "Changelog"} <= urls
    assert set(metadata.get_all("Provides-Extra", [])) == set(PROJECT["optional-dependencies"])
    classifiers = set(metadata.get_all("Classifier", []))
    assert {"Typing :: Typed", "Framework :: Pytest", "Programming Language :: Python :: 3.11"} <= classifiers


def test_the_wheel_declares_the_command_and_the_pytest_plugin(built: Built) -> None:
    files = _wheel_files(built.wheel)
    (name,) = [name for name in files if name.endswith(".dist-info/entry_points.txt")]
    entry_points = files[name].decode()
    assert "[console_scripts]\nconformance = conformance.cli:main" in entry_points
    assert "[pytest11]\nfhir-conformance = conformance.testing.plugin" in entry_points


def test_the_version_is_written_in_pyproject_only() -> None:
    # conformance.__version__ reads the installed metadata; make.py reinstalls when pyproject changes.
    assert conformance.__version__ == PROJECT["version"]
    assert "version" not in PROJECT.get("dynamic", [])
