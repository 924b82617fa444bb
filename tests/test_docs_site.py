"""The documentation site builds from docs/ with MkDocs in strict mode: broken links fail the tests.

The build needs the `docs` extra (mkdocs, mkdocstrings[python]); without it these tests are skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.explain import entries

pytest.importorskip("mkdocs", reason="the docs extra (mkdocs) is not installed")
pytest.importorskip(
    "mkdocstrings_handlers.python", reason="the docs extra (mkdocstrings[python]) is not installed"
)

ROOT = Path(__file__).resolve().parents[1]


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(site),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    result = _build(ROOT / "mkdocs.yml", folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def test_the_site_has_its_pages(site: Path) -> None:
    for page in ("index.html", "explain/index.html", "models/index.html", "server/index.html",
                 "validation/index.html", "reference/message-ids/index.html"):  # fmt: skip
        assert (site / page).is_file(), page
    assert "fhir-conformance" in (site / "index.html").read_text(encoding="utf-8")


def test_the_api_reference_is_rendered_from_docstrings(site: Path) -> None:
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    # Docstring text, not just the names: the build really read the source.
    assert "Validates payloads against a Context" in api
    assert "Validate <code>resource</code> and fail with a readable report" in api
    assert "payload_of" in api


def test_the_catalogue_page_lists_every_message_id(site: Path) -> None:
    page = (site / "reference" / "message-ids" / "index.html").read_text(encoding="utf-8")
    missing = [message_id for message_id in entries() if f"<code>{message_id}</code>" not in page]
    assert missing == []


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "src").symlink_to(ROOT / "src")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    index = tmp_path / "docs" / "index.md"
    index.write_text(
        index.read_text(encoding="utf-8") + "\nSee [nowhere](no-such-page.md).\n", encoding="utf-8"
    )
    result = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr
