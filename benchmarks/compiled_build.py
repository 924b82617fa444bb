"""The build a benchmark measures: the compiled core a wheel installs, or the sources as they import.

`pip install fhir-conformance` (or `pip install .`) installs a wheel whose validation core mypyc compiled
(setup.py); a checkout's editable install runs the Python sources. By default a benchmark measures the
compiled build: it builds this checkout's wheel (once per state of the sources, cached under
benchmarks/.build/) and runs itself again with that build first on PYTHONPATH. `--build sources` measures
whatever `import conformance` finds. Both give the same issues (docs/compiled.md).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".build"
BUILDS = ("compiled", "sources")


def add_build_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--build",
        choices=BUILDS,
        default="compiled",
        help="compiled: the wheel's mypyc-compiled core, built from this checkout (the default); "
        "sources: the conformance package as it imports",
    )


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted([ROOT / "setup.py", ROOT / "pyproject.toml", *(ROOT / "src").rglob("*.py")]):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def compiled_tree() -> Path | None:
    """This checkout's wheel, its core compiled, unpacked into a cache folder; None when it cannot be."""
    target = CACHE / _sources_digest()
    if (target / "conformance").is_dir():
        return target
    print(f"building the compiled core into {target.relative_to(ROOT)} (about two minutes)", file=sys.stderr)
    for stale in CACHE.glob("*") if CACHE.is_dir() else ():  # builds of earlier states of the sources
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory() as dist:
        # The wheel is built from the sdist, in a folder of its own: nothing left in build/ by an earlier
        # build of the checkout can slip into it.
        build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, str(ROOT)]
        environment = {**os.environ, "CONFORMANCE_COMPILE": "1"}
        built = subprocess.run(build, env=environment, capture_output=True, text=True, check=False)
        wheels = list(Path(dist).glob("*.whl"))
        if built.returncode != 0 or len(wheels) != 1:
            print(f"the core could not be compiled here:\n{built.stderr[-2000:]}", file=sys.stderr)
            return None
        pip = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheels[0]),
        ]
        subprocess.run(pip, check=True)
    return target


def run_compiled_if_asked(build: str) -> int | None:
    """Run this benchmark again on the compiled build when it was asked for and is not what imports here.

    The exit code of that run, or None when this process is to measure (the sources, the compiled build
    already, or no compiler: then it says so and the sources are measured).
    """
    from conformance.buildinfo import compiled_core  # noqa: PLC0415 - after the caller's imports

    if build != "compiled" or compiled_core():
        return None
    tree = compiled_tree()
    if tree is None:
        print("measuring the Python sources instead", file=sys.stderr)
        return None
    path = os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH", "")]))
    argv = [sys.executable, sys.argv[0], *sys.argv[1:], "--build", "sources"]
    return subprocess.run(argv, env={**os.environ, "PYTHONPATH": path}, check=False).returncode
