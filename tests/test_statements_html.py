"""The statement's HTML page, opened in headless Chromium: the browser must build the verdict table.

Chromium is Debian's `chromium` package (.ci/run installs it). Outside CI the test is skipped, saying
so, when it is absent; in CI (CI=true) its absence is a failure, since CI is meant to have it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.settings import Settings
from conformance.statements import render_html
from statements_support import INVALID, VALID, assess

pytestmark = pytest.mark.shared

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is not None:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is missing in CI: .ci/run should have installed it (apt-get install chromium)")
    pytest.skip("needs headless chromium (apt-get install chromium); not installed here")


class _VerdictTable(HTMLParser):
    """Collects the rows of table#verdicts, each as the text of its cells, from the DOM Chromium built."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_table = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "verdicts") in attrs:
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_chromium_renders_the_verdict_table(shared_settings: Settings, tmp_path: Path) -> None:
    chromium = _chromium()
    page = tmp_path / "statement.html"
    page.write_text(
        render_html(assess("shared-care-record", shared_settings, VALID, INVALID)), encoding="utf-8"
    )
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    table = _VerdictTable()
    table.feed(result.stdout)
    header, *rows = table.rows
    assert header[0] == "Profile" and header[-1] == "Verdict"
    assert len(rows) == 8
    by_profile = {row[0].split(" ")[0]: row for row in rows}
    assert by_profile["UKCore-Patient"][-1].startswith("Not conformant")
    assert by_profile["UKCore-Encounter"][-1].startswith("Conformant")
    assert by_profile["UKCore-Patient"][4:7] == ["3", "2", "1"]
    assert "Overall verdict" in result.stdout
