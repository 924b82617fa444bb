"""The wheel's compiled core: the validation walk, compiled to C by mypyc when the wheel is built.

pyproject.toml holds everything else about the build; this file only adds the extension modules. They
are built for a wheel (`pip install .`, `python -m build`) and never for an editable install, whose
sources must stay the code that runs. CONFORMANCE_COMPILE says what to do:

- `auto` (the default): compile when mypyc and a C compiler are there, else build pure Python and say so;
- `1`: compile or fail the build (CI uses this, so that the compiled wheel is what it tests);
- `0`: build pure Python.

Both builds give the same issues; docs/compiled.md says how that is checked.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "src"
# What a validation runs through on every resource; the rest imports them as ordinary Python modules.
COMPILED_GLOBS = (
    "conformance/validation/*.py",
    "conformance/instance/*.py",
    "conformance/fhirpath/fastpath*.py",
    "conformance/fhirpath/_navigation.py",
    "conformance/fhirpath/_model.py",
    "conformance/outcome.py",
    "conformance/terminology/service.py",
)
MODE_VARIABLE = "CONFORMANCE_COMPILE"


def compile_mode() -> str:
    mode = os.environ.get(MODE_VARIABLE, "auto").strip().lower() or "auto"
    if mode not in {"auto", "0", "1"}:
        sys.exit(f"setup.py: {MODE_VARIABLE} must be auto, 0 or 1, not {mode!r}")
    return mode


def building_a_wheel() -> bool:
    # setuptools' PEP 517 backend runs this file with the command in sys.argv: bdist_wheel for a wheel,
    # editable_wheel for an editable install, sdist or egg_info/dist_info otherwise.
    return "bdist_wheel" in sys.argv


def compiled_sources() -> list[str]:
    return sorted(str(path.relative_to(ROOT)) for pattern in COMPILED_GLOBS for path in SOURCE.glob(pattern))


def refuse_or_warn(mode: str, why: str) -> list[Any]:
    if mode == "1":
        sys.exit(f"setup.py: {MODE_VARIABLE}=1 but the core cannot be compiled: {why}")
    print(
        f"setup.py: building pure Python (the same issues, validation 1.6-1.9 times slower): {why}",
        file=sys.stderr,
    )
    return []


def extension_modules() -> list[Any]:
    mode = compile_mode()
    if mode == "0" or not building_a_wheel():
        return []
    try:
        from mypyc.build import mypycify  # noqa: PLC0415 - only a wheel build needs it
    except ImportError:
        return refuse_or_warn(mode, "mypyc (part of mypy) is not installed")
    # Not the strict settings of pyproject.toml: an isolated build has none of the dependencies, whose types
    # then read as Any (checked at run time, as in Python). The project's own annotations are what count.
    options = ["--config-file", "", "--ignore-missing-imports", "--python-version", "3.11"]
    return list(mypycify([*options, *compiled_sources()], group_name="conformance_core", multi_file=True))


class BuildCompiledCore(build_ext):
    """build_ext that turns a compiler failure into a pure Python wheel, unless compiling was required."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # a missing compiler surfaces as several distutils error types
            if compile_mode() == "1" or not self.extensions:
                raise
            refuse_or_warn("auto", f"the C compiler failed ({str(exc)[:300]})")
            for extension in self.extensions:  # a module without its shared core would crash on import
                Path(self.get_ext_fullpath(extension.name)).unlink(missing_ok=True)
            self.extensions = []


setup(ext_modules=extension_modules(), cmdclass={"build_ext": BuildCompiledCore})
