"""`conformance serve` started for a test: a real process on a free 127.0.0.1 port, always stopped after."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SHARED_PACKAGES = REPO.parent / "shared" / "fhir-packages"
START_SECONDS = 120.0


@dataclass(frozen=True)
class RunningServer:
    base: str
    process: subprocess.Popen[str]


def command_environment() -> dict[str, str]:
    """The shared packages as the package path; no registry (the tests never reach the network)."""
    env = dict(os.environ)
    env["CONFORMANCE_PACKAGE_PATH"] = str(SHARED_PACKAGES)
    env["CONFORMANCE_OFFLINE"] = "1"
    return env


def _listening_line(process: subprocess.Popen[str]) -> str:
    """The line the server prints once it listens; fails with its stderr when it stops first."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if selector.select(timeout=1.0):
            line = process.stdout.readline()
            if "listening on" in line:
                return line
            if not line and process.poll() is not None:
                break
    process.kill()
    _, err = process.communicate(timeout=10)
    raise AssertionError(f"conformance serve did not start: {err[-2000:]}")


@contextmanager
def running_server(options: Sequence[str]) -> Iterator[RunningServer]:
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=command_environment(),
    )
    try:
        line = _listening_line(process)
        base = line.rsplit(" ", 1)[-1].strip().rstrip("/")
        httpx.get(f"{base}/metadata", timeout=30).raise_for_status()
        yield RunningServer(base, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
