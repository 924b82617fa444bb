"""setup.py's choice of build: the compiled core when it can, pure Python said out loud when it cannot.

The compiled wheel itself is built, installed and compared with the sources by make.py's smoke
(tests/smoke/smoke_compiled.py); here the builds are made with a C compiler that always fails (CC), so
each takes only mypyc's analysis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from test_wheel import _copy_build_inputs

pytestmark = pytest.mark.slow

FAILING_COMPILER = "/bin/false"


def _build_wheel(tmp_path: Path, mode: str) -> tuple[subprocess.CompletedProcess[str], list[Path]]:
    tree = tmp_path / "tree"
    tree.mkdir()
    _copy_build_inputs(tree)
    out = tmp_path / "dist"
    command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(tree)]
    environment = dict(os.environ, CONFORMANCE_COMPILE=mode, CC=FAILING_COMPILER)
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False, timeout=600)
    return done, sorted(out.glob("*.whl"))


@pytest.mark.skipif(not Path(FAILING_COMPILER).is_file(), reason=f"needs {FAILING_COMPILER}")
def test_without_a_working_compiler_the_wheel_is_pure_python_and_says_so(tmp_path: Path) -> None:
    done, wheels = _build_wheel(tmp_path, "auto")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "setup.py: building pure Python" in done.stderr and "the C compiler failed" in done.stderr
    (wheel,) = wheels
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "conformance/validation/walker.py" in names
    assert not [name for name in names if name.endswith((".so", ".pyd"))]


@pytest.mark.skipif(not Path(FAILING_COMPILER).is_file(), reason=f"needs {FAILING_COMPILER}")
def test_a_required_compiled_core_fails_the_build_when_it_cannot_be_compiled(tmp_path: Path) -> None:
    done, wheels = _build_wheel(tmp_path, "1")
    assert done.returncode != 0 and wheels == []
    assert "failed" in (done.stdout + done.stderr).lower()


def test_an_unknown_compile_mode_is_refused_with_the_choices(tmp_path: Path) -> None:
    done, wheels = _build_wheel(tmp_path, "sometimes")
    assert done.returncode != 0 and wheels == []
    assert "CONFORMANCE_COMPILE must be auto, 0 or 1, not 'sometimes'" in done.stdout + done.stderr
