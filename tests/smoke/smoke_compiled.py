"""The wheel's validation core: compiled by mypyc when make.py asked, and the same issues as the sources.

make.py builds the wheel with CONFORMANCE_COMPILE=1 where a C compiler and Python's headers are found
(CI installs them) and says which it asked for in $CONFORMANCE_SMOKE_COMPILED; $CONFORMANCE_SMOKE_SOURCE
is the checkout, whose src/ is the pure Python build to compare with (the one place the smoke reads it).
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from installed_support import PAYLOADS, UK_CORE, Runner, shown

from conformance.buildinfo import compiled_core
from conformance.outcome import Issue, NotChecked, Outcome, Severity

EXPECTED_VARIABLE = "CONFORMANCE_SMOKE_COMPILED"
SOURCE_VARIABLE = "CONFORMANCE_SMOKE_SOURCE"
DUMP = Path(__file__).resolve().parent / "issue_dump.py"
DUMP_HELPERS = "example_variants.py"  # what the dump imports from the checkout's tests
DUMP_TIMEOUT_SECONDS = 900


def _compiled_expected() -> bool:
    expected = os.environ.get(EXPECTED_VARIABLE)
    if expected not in {"0", "1"}:
        pytest.skip(f"${EXPECTED_VARIABLE} is not set: make.py sets it to say how it built the wheel")
    return expected == "1"


def test_the_core_is_built_as_make_py_asked(run_conformance: Runner) -> None:
    compiled = _compiled_expected()
    assert compiled_core() is compiled
    result = run_conformance("--version")
    name = "compiled core (mypyc)" if compiled else "pure Python"
    assert result.returncode == 0 and f"({name})" in result.stdout, shown(result)


def _dump(checkout: Path, package_path: Path, scratch: Path, *, sources: bool) -> list[str]:
    path = [str(checkout / "src")] if sources else []
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CONFORMANCE_")}
    environment["PYTHONPATH"] = os.pathsep.join([*path, str(checkout / "tests")])
    done = subprocess.run(
        [sys.executable, str(DUMP), str(package_path), str(scratch)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=DUMP_TIMEOUT_SECONDS,
        check=False,
    )
    build = "the sources" if sources else "the wheel"
    assert done.returncode == 0, f"the dump under {build} failed:\n{done.stderr}"
    return done.stdout.splitlines()


def test_the_compiled_core_reports_what_the_sources_report(package_path: Path, tmp_path: Path) -> None:
    if not _compiled_expected():
        pytest.skip("make.py built a pure Python wheel (no C compiler or Python headers): nothing to compare")
    checkout = Path(os.environ.get(SOURCE_VARIABLE, "/nonexistent"))
    if not (checkout / "src" / "conformance").is_dir() or not (checkout / "tests" / DUMP_HELPERS).is_file():
        pytest.skip(f"${SOURCE_VARIABLE} does not name the checkout the wheel was built from")
    compiled = _dump(checkout, package_path, tmp_path / "compiled", sources=False)
    sources = _dump(checkout, package_path, tmp_path / "sources", sources=True)
    assert len(sources) > 10_000
    difference = list(difflib.unified_diff(sources, compiled, "sources", "compiled", n=0, lineterm=""))
    assert not difference, "\n".join(difference[:12])


def test_an_outcome_survives_pickle_and_copy() -> None:
    # Results cross processes pickled (--jobs, Dask); a compiled frozen class has no __dict__ to restore.
    issue = Issue(Severity.ERROR, "value", "type.primitive", "Not a date", "Patient.birthDate", 3, 17)
    outcome = Outcome(
        issues=(issue,), profiles=("p",), not_checked=(NotChecked("x", "y"),), source="s", extra=(("k", "v"),)
    )
    assert pickle.loads(pickle.dumps(outcome)) == outcome
    assert copy.deepcopy(outcome) == outcome and copy.copy(issue) == issue


def test_worker_processes_report_what_one_process_does(run_conformance: Runner, package_path: Path) -> None:
    def report(jobs: str) -> object:
        result = run_conformance(
            "validate", "--package-path", package_path, "--ig", UK_CORE, "--jobs", jobs, "--format", "json",
            PAYLOADS / "uk-core",
        )  # fmt: skip
        assert result.returncode in {0, 1}, shown(result)
        return json.loads(result.stdout)

    serial = report("1")
    assert report("2") == serial and "patient-wrong-nhs-number" in json.dumps(serial)
