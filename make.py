#!/usr/bin/env python3
"""Bootstrap a local virtual environment and run the project's two everyday jobs.

    python3 make.py sample   # the main job on the embedded sample
    python3 make.py test     # the whole test suite (what CI runs)

Needs only Python 3.11+. The environment lives in .venv and is rebuilt when
pyproject.toml changes. When ../shared/fhir-packages exists it is used as an
offline package folder; otherwise the user's package cache or the registry is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed-from"
SHARED_PACKAGES = ROOT.parent / "shared" / "fhir-packages"


def venv_python() -> Path:
    sub = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return VENV / sub


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
    return subprocess.run(argv, cwd=ROOT, env=job_environment()).returncode


def sample(python: Path) -> int:
    return run([str(python), "-m", "conformance", "sample"])


def test(python: Path, extra: list[str]) -> int:
    code = run([str(python), "-m", "pytest", *extra])
    # pytest's "no tests collected" must fail CI loudly rather than pass silently.
    return 1 if code == 5 else code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"sample", "test"}:
        print(__doc__)
        return 2
    if sys.version_info < (3, 11):
        print("make.py: Python 3.11 or newer is needed", file=sys.stderr)
        return 2
    python = ensure_venv()
    if argv[0] == "sample":
        return sample(python)
    return test(python, argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
