"""Helpers shared by the smoke tests (imported by name: pytest puts this folder on the path)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

PAYLOADS = Path(__file__).resolve().parent / "payloads"
UK_CORE = "fhir.r4.ukcore.stu2#2.0.2"
UK_CORE_PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"

Runner = Callable[..., subprocess.CompletedProcess[str]]


def shown(result: subprocess.CompletedProcess[str]) -> str:
    """A command's exit code and output, for assertion messages."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
