"""Smoke tests of the installed package: the `conformance` command and the pytest plugin of a built wheel.

`python3 make.py test` (and `python3 make.py smoke`) builds the wheel, installs it with its extras into a
fresh virtual environment in a temporary folder, copies this folder there and runs it with that
environment's pytest, so nothing here can read the checkout. The files are named `smoke_*.py` (see
pytest.ini) so that the checkout's own test run does not collect them.

The FHIR packages come from the folder in $CONFORMANCE_SMOKE_PACKAGES (make.py sets it to
../shared/fhir-packages when that exists); the tests that need them skip, with the reason, without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from installed_support import Runner

PACKAGES_VARIABLE = "CONFORMANCE_SMOKE_PACKAGES"
CORE_PACKAGE = "hl7.fhir.r4.core#4.0.1.tgz"
# A run must not exceed this; a hang is a failure with a message, not a stuck CI job.
COMMAND_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="session")
def conformance_command() -> Path:
    """The `conformance` script installed beside this interpreter."""
    script = Path(sys.executable).parent / ("conformance.exe" if os.name == "nt" else "conformance")
    if not script.is_file():
        pytest.fail(f"the installed package has no `conformance` command at {script}")
    return script


@pytest.fixture(scope="session")
def package_path() -> Path:
    """The folder of FHIR packages the commands get as --package-path, or skip with the reason."""
    given = os.environ.get(PACKAGES_VARIABLE, "")
    if not given:
        pytest.skip(f"needs FHIR packages: set {PACKAGES_VARIABLE} (make.py uses ../shared/fhir-packages)")
    folder = Path(given)
    if not (folder / CORE_PACKAGE).is_file():
        pytest.skip(f"needs the FHIR packages at {folder} ({CORE_PACKAGE} is absent)")
    return folder


@pytest.fixture(scope="session")
def command_environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The caller's environment without any CONFORMANCE_ setting, offline, with caches of its own.

    One cache folder for the whole session: the first command fills it, the others reuse it.
    """
    caches = tmp_path_factory.mktemp("caches")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CONFORMANCE_")}
    environment.pop("PYTHONPATH", None)
    environment.update(
        CONFORMANCE_OFFLINE="1",
        CONFORMANCE_PACKAGE_CACHE=str(caches / "fhir-packages"),
        CONFORMANCE_CACHE_DIR=str(caches / "work"),
    )
    return environment


@pytest.fixture
def run_conformance(conformance_command: Path, command_environment: dict[str, str], tmp_path: Path) -> Runner:
    """Run the installed command in the test's own folder; returns the finished process."""

    def run(*arguments: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(conformance_command), *map(str, arguments)],
            cwd=cwd or tmp_path,
            env=command_environment,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )

    return run


@pytest.fixture
def run_python(command_environment: dict[str, str], tmp_path: Path) -> Runner:
    """Run this environment's Python (`-c CODE` or `-m MODULE ...`) in the test's own folder."""

    def run(*arguments: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *map(str, arguments)],
            cwd=cwd or tmp_path,
            env=command_environment,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )

    return run
