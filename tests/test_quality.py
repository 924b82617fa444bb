"""The code-quality gates run as tests, so that `python3 make.py test` (and CI) holds them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed in this environment: install the project with its [dev] extra")
    return found


def test_ruff_finds_nothing_in_the_library() -> None:
    result = subprocess.run(
        [_tool("ruff"), "check", "--output-format", "concise", "src"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing_in_the_library() -> None:
    result = subprocess.run(
        [_tool("mypy"), "--strict", "src"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
