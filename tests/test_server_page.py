"""The server's page at `/`, driven in headless Chromium: paste a payload, validate, read the issues.

Chromium is Debian's `chromium` (.ci/run installs it) driven through Playwright's Python client, which
launches that executable (no browser download). Outside CI the test is skipped when either is absent; in
CI their absence is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

import pytest

from server_support import REPO, SHARED_PACKAGES, RunningServer, running_server

pytestmark = [pytest.mark.shared, pytest.mark.slow]

STATEMENTS = REPO / "fixtures" / "statements"


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is missing in CI: .ci/run and the test extra should provide it")
    pytest.skip(f"needs {what}; not installed here")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    if not (SHARED_PACKAGES / "hl7.fhir.r4.core#4.0.1.tgz").is_file():
        pytest.skip(f"needs the shared FHIR packages at {SHARED_PACKAGES}")
    with running_server(["--ig", "fhir.r4.ukcore.stu2#2.0.2"]) as running:
        yield running


@pytest.fixture(scope="module")
def page(server: RunningServer) -> Iterator[object]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _missing("headless chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        _missing("playwright (the test extra)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        opened = browser.new_page()
        opened.goto(server.base + "/")
        yield opened
        browser.close()


def _validate(page: object, text: str, profile: str = "") -> None:
    page.fill("#payload", text)  # type: ignore[attr-defined]
    page.fill("#profile", profile)  # type: ignore[attr-defined]
    page.click("#validate")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "document.getElementById('summary').dataset.errors !== undefined"
        " && !document.getElementById('summary').textContent.startsWith('Validating')"
    )


def test_an_invalid_payload_shows_its_issues_and_marks_their_lines(page: object) -> None:
    text = (STATEMENTS / "invalid" / "patient-bad-gender.json").read_text(encoding="utf-8")
    _validate(page, text)
    summary = page.text_content("#summary")  # type: ignore[attr-defined]
    assert summary is not None and summary.startswith("Not valid")
    rows = page.locator("#issues tbody tr")  # type: ignore[attr-defined]
    messages = " ".join(rows.all_text_contents())
    assert "gender" in messages
    flagged = page.locator("#payload-view li.flagged")  # type: ignore[attr-defined]
    assert flagged.count() >= 1
    flagged_lines = {int(item.get_attribute("id").split("-")[1]) for item in flagged.all()}
    gender_line = next(n for n, line in enumerate(text.splitlines(), 1) if '"gender"' in line)
    assert gender_line in flagged_lines


def test_a_valid_payload_says_valid(page: object) -> None:
    text = (STATEMENTS / "valid" / "patient-jane-doe.json").read_text(encoding="utf-8")
    _validate(page, text)
    summary = page.text_content("#summary")  # type: ignore[attr-defined]
    assert summary is not None and summary.startswith("Valid")
    assert page.get_attribute("#summary", "data-errors") == "0"  # type: ignore[attr-defined]


def test_a_refused_request_is_explained(page: object) -> None:
    parameters = json.dumps({"resourceType": "Parameters", "parameter": []})
    _validate(page, parameters)
    summary = page.text_content("#summary")  # type: ignore[attr-defined]
    assert summary is not None and "refused the request (400)" in summary


def test_a_profile_from_the_page_is_used(page: object) -> None:
    text = (STATEMENTS / "valid" / "patient-jane-doe.json").read_text(encoding="utf-8")
    _validate(page, text, "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Encounter")
    ids = page.locator("#issues tbody tr td:last-child").all_text_contents()  # type: ignore[attr-defined]
    assert "profile.wrong-type" in ids
