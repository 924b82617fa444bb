"""The installed `conformance serve` (the `server` extra): $validate over HTTP on 127.0.0.1, and its page.
Needs the FHIR packages (skipped, with the reason, without them)."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from installed_support import PAYLOADS, UK_CORE, UK_CORE_PATIENT

STARTUP_SECONDS = 600  # loading UK Core on a busy machine; a server that never starts fails here
LISTENING = "conformance serve: listening on "
NHS_NUMBER_CHECK_DIGIT = "identifier.nhs-number.check-digit"


def _lines(stream: Iterator[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


@pytest.fixture
def server_url(
    conformance_command: Path, command_environment: dict[str, str], package_path: Path
) -> Iterator[str]:
    """A running `conformance serve --port 0` on UK Core; its base URL. Stopped after the test."""
    pytest.importorskip("uvicorn", reason="the `server` extra is not installed in this environment")
    command = [
        str(conformance_command), "serve", "--port", "0", "--offline", "--package-path", str(package_path),
        "--ig", UK_CORE,
    ]  # fmt: skip
    server = subprocess.Popen(command, env=command_environment, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(server.stdout, lines), daemon=True).start()
    try:
        line = lines.get(timeout=STARTUP_SECONDS)
        assert line.startswith(LISTENING), f"unexpected first line from the server: {line!r}"
        yield line.removeprefix(LISTENING).strip().rstrip("/")
    except queue.Empty:
        pytest.fail(f"conformance serve did not start within {STARTUP_SECONDS} s")
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_serve_answers_validate_and_shows_its_page(server_url: str) -> None:
    import httpx  # noqa: PLC0415 - a dependency of the installed package, not of the checkout's tooling

    payload = (PAYLOADS / "uk-core" / "patient-wrong-nhs-number.json").read_bytes()
    with httpx.Client(base_url=server_url, timeout=STARTUP_SECONDS) as client:
        answer = client.post(
            "/Patient/$validate",
            params={"profile": UK_CORE_PATIENT},
            content=payload,
            headers={"Content-Type": "application/fhir+json"},
        )
        page = client.get("/")
    assert answer.status_code == 200, answer.text
    outcome = json.loads(answer.text)
    message_ids = {
        extension.get("valueCode")
        for issue in outcome["issue"]
        for extension in issue.get("extension", [])
        if issue["severity"] == "error"
    }
    assert NHS_NUMBER_CHECK_DIGIT in message_ids, answer.text
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text[:200]
