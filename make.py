#!/usr/bin/env python3
"""Bootstrap a local virtual environment and run the project's two everyday jobs.

    python3 make.py sample   # the main job on the embedded sample
    python3 make.py test     # the whole test suite, then the installed-package smoke (what CI runs)
    python3 make.py test ARGS...   # pytest with these arguments only (no smoke)
    python3 make.py smoke    # only the installed-package smoke

Needs only Python 3.11+. The environment lives in .venv and is rebuilt when
pyproject.toml changes. When ../shared/fhir-packages exists it is used as an
offline package folder; otherwise the user's package cache or the registry is.

The smoke builds the sdist and, from it, the wheel (its validation core compiled by mypyc when a C
compiler and Python's headers are found; see setup.py); installs the wheel with every
extra but `dev` into a fresh virtual environment in a temporary folder outside the
checkout (dependencies come from PyPI or pip's cache); and runs tests/smoke there
with that environment's pytest, through the installed command and pytest plugin, and compares the
compiled core's issues with the checkout's sources'.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed-from"
SHARED_PACKAGES = ROOT.parent / "shared" / "fhir-packages"
SMOKE_SUITE = ROOT / "tests" / "smoke"
SMOKE_PACKAGES_VARIABLE = "CONFORMANCE_SMOKE_PACKAGES"
DEVELOPER_EXTRAS = frozenset({"dev"})  # tools for working on the project, not for its users


def venv_python(folder: Path = VENV) -> Path:
    sub = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return folder / sub


def wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> Path:
    python = venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted_stamp():
        return python
    if not python.exists():
        print("make.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("make.py: installing fhir-conformance and its test tools into .venv", flush=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted_stamp())
    return python


def job_environment() -> dict[str, str]:
    env = dict(os.environ)
    if SHARED_PACKAGES.is_dir() and "CONFORMANCE_PACKAGE_PATH" not in env:
        env["CONFORMANCE_PACKAGE_PATH"] = str(SHARED_PACKAGES)
    return env


def run(argv: list[str]) -> int:
    return subprocess.run(argv, cwd=ROOT, env=job_environment(), check=False).returncode


def sample(python: Path) -> int:
    return run([str(python), "-m", "conformance", "sample"])


def test(python: Path, extra: list[str]) -> int:
    code = run([str(python), "-m", "pytest", *extra])
    # pytest's "no tests collected" must fail CI loudly rather than pass silently.
    return 1 if code == 5 else code


def user_extras() -> list[str]:
    """Every optional extra a user may install: a new extra is smoke-tested without touching this file."""
    import tomllib  # noqa: PLC0415 - here, so that older Pythons reach main's version message

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return sorted(set(project.get("optional-dependencies", {})) - DEVELOPER_EXTRAS)


def quietly(argv: list[str], what: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> bool:
    """Run a step, showing its output only when it fails."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        print(f"make.py: {what} failed (exit {done.returncode}):\n{output}", file=sys.stderr)
    return done.returncode == 0


def can_compile() -> bool:
    """A C compiler and Python's headers: what setup.py needs to compile the validation core with mypyc."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return shutil.which(compiler) is not None and headers.is_file()


def build_distributions(python: Path, dist: Path, *, compiled: bool) -> Path | None:
    """The sdist, and the wheel built from it (so the sdist is proven to build); the wheel's path."""
    # --no-isolation: the build tools come from .venv (the dev extra), so building needs no network.
    command = [str(python), "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)]
    # Compiled whenever it can be, and then required to be: the smoke tests what users install.
    env = dict(os.environ, CONFORMANCE_COMPILE="1" if compiled else "0")
    if not quietly(command, "building the sdist and wheel", env=env):
        return None
    wheels = sorted(dist.glob("*.whl"))
    return wheels[0] if len(wheels) == 1 and list(dist.glob("*.tar.gz")) else None


def install_wheel(wheel: Path, folder: Path) -> Path | None:
    """A fresh virtual environment in `folder` with the wheel and its user extras; its python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    python = venv_python(folder)
    extras = ",".join(user_extras())
    wanted = f"{wheel}[{extras}]" if extras else str(wheel)
    # --no-compile: the smoke imports a fraction of what is installed; Python compiles that on import.
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    pip.append(wanted)
    installed = quietly(pip, f"installing {wheel.name} (its dependencies come from PyPI or pip's cache)")
    return python if installed else None


def smoke_environment(*, compiled: bool) -> dict[str, str]:
    """The caller's environment without the checkout's settings; the shared packages when present; how
    the wheel was built, and the checkout, whose sources the compiled core's issues are compared with."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONFORMANCE_")}
    for leak in ("PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(leak, None)
    if SHARED_PACKAGES.is_dir():
        env[SMOKE_PACKAGES_VARIABLE] = str(SHARED_PACKAGES)
    env["CONFORMANCE_SMOKE_COMPILED"] = "1" if compiled else "0"
    env["CONFORMANCE_SMOKE_SOURCE"] = str(ROOT)
    return env


def step_failed(what: str) -> int:
    """Say what failed in a closing line like pytest's, which CI reads; the exit code."""
    print(f"{'=' * 20} 1 error: make.py smoke: {what} {'=' * 20}", flush=True)
    return 1


def smoke(python: Path) -> int:
    """Build, install outside the checkout, and run tests/smoke there against the installed package."""
    with tempfile.TemporaryDirectory(prefix="fhir-conformance-smoke-") as folder:
        work = Path(folder)
        compiled = can_compile()
        build = "compiled core" if compiled else "pure Python: no C compiler or Python headers found"
        print(f"make.py: smoke-testing the built wheel ({build}), installed in {work}", flush=True)
        wheel = build_distributions(python, work / "dist", compiled=compiled)
        if wheel is None:
            return step_failed("the sdist and the wheel were not both built")
        installed = install_wheel(wheel, work / "venv")
        if installed is None:
            return step_failed(f"{wheel.name} could not be installed in a fresh environment")
        suite = shutil.copytree(SMOKE_SUITE, work / "smoke", ignore=shutil.ignore_patterns("__pycache__"))
        pytest = [str(installed), "-m", "pytest", suite.name]
        environment = smoke_environment(compiled=compiled)
        code = subprocess.run(pytest, cwd=work, env=environment, check=False).returncode
        return 1 if code == 5 else code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"sample", "test", "smoke"}:
        print(__doc__)
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036 - make.py runs under any python3 a user has
        print("make.py: Python 3.11 or newer is needed", file=sys.stderr)
        return 2
    python = ensure_venv()
    if argv[0] == "sample":
        return sample(python)
    if argv[0] == "smoke":
        return smoke(python)
    code = test(python, argv[1:])
    # The smoke follows only a whole, passing suite, so the last line CI reads is the failing step's.
    return code if code != 0 or argv[1:] else smoke(python)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
