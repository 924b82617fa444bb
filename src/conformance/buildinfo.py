"""Which build of the validation core runs: compiled to C by mypyc (a wheel, setup.py) or the Python sources.

Both give the same issues (docs/compiled.md says how that is checked); the compiled one is faster.
"""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# One module the compiled build always has; Python's importer prefers its extension module to its source.
_PROBE = _PACKAGE / "validation" / "walker"


def compiled_core() -> bool:
    """True when the validation walk is the mypyc-compiled one (without importing it)."""
    return any(_PROBE.with_name(_PROBE.name + suffix).is_file() for suffix in EXTENSION_SUFFIXES)


def build_name() -> str:
    """How `conformance --version` and the benchmarks name the build that runs."""
    return "compiled core (mypyc)" if compiled_core() else "pure Python"
