"""Which build runs: the checkout's sources, or a core compiled by mypyc beside them (as a wheel has it)."""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from conformance import buildinfo


def test_the_checkout_runs_its_python_sources() -> None:
    assert not buildinfo.compiled_core()
    assert buildinfo.build_name() == "pure Python"


@pytest.mark.parametrize("suffix", EXTENSION_SUFFIXES)
def test_an_extension_module_beside_the_source_is_the_compiled_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    probe = tmp_path / "validation" / "walker"
    probe.parent.mkdir()
    (probe.parent / "walker.py").write_text("")
    monkeypatch.setattr(buildinfo, "_PROBE", probe)
    assert not buildinfo.compiled_core()
    (probe.parent / f"walker{suffix}").write_bytes(b"")
    assert buildinfo.compiled_core()
    assert buildinfo.build_name() == "compiled core (mypyc)"
