"""The register's pages in headless Chromium: axe-core finds no serious or critical accessibility
violation, and at 375 and 1280 pixels wide every page fits the window (nothing to scroll sideways).

Chromium is Debian's `chromium` package and axe-core comes from npm (tests/node, `npm ci`); Node drives
the browser (tests/node/browser_check.mjs). Without Chromium or Node the test is skipped, saying which
is missing, except in CI (CI=true), where they are meant to be installed and their absence is a failure.
Without tests/node/node_modules it is skipped everywhere, saying to run `npm ci` there. The screenshots
are written to the test's temporary folder, or to $CONFORMANCE_SCREENSHOTS when set (to look at them).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from conformance.frameworks import available_frameworks, load_framework, read_framework
from conformance.register import Register, build_register
from conformance.settings import Settings
from register_support import Made, make_statements
from statements_support import REPO

pytestmark = pytest.mark.shared

NODE_TESTS = REPO / "tests" / "node"
AXE = NODE_TESTS / "node_modules" / "axe-core" / "axe.min.js"
SCRIPT = NODE_TESTS / "browser_check.mjs"
WIDTHS = (375, 1280)
BLOCKING = frozenset({"serious", "critical"})


def _needed(found: str | None, missing: str) -> str:
    if found is not None:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{missing} in CI, where it is meant to be installed")
    pytest.skip(f"needs {missing}")


def _tools() -> tuple[str, str]:
    chromium = _needed(
        shutil.which("chromium") or shutil.which("chromium-browser"),
        "headless chromium (apt-get install chromium); not installed here",
    )
    node = _needed(shutil.which("node"), "node (apt-get install nodejs); not installed here")
    if not AXE.is_file():
        pytest.skip(f"needs axe-core from npm: cd {NODE_TESTS} && npm ci")
    return chromium, node


@pytest.fixture(scope="module")
def built(shared_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Made, Register]:
    made = make_statements(tmp_path_factory.mktemp("register-browser"), shared_settings)
    frameworks = [
        *(read_framework(path) for _, path in available_frameworks()),
        load_framework("test-retired", search_path=[made.frameworks]),
    ]
    register = build_register(
        made.statements, made.keys, made.root / "site", frameworks=frameworks,
        standards_search_path=[made.standards],
    )  # fmt: skip
    return made, register


def _pages(site: Path, register: Register) -> list[dict[str, str]]:
    """One page of each kind, those with the most on them (every page of a kind is made the same way)."""
    failing = next(e for e in register.statements if e.verdict == "non-conformant")
    retired = next(s for s in register.standards if s.status == "retired")
    shared_care = next(s for s in register.standards if s.id == "shared-care-record")
    framework = next(f for f in register.frameworks if any(p.qualifies for p in f.products))
    chosen = [
        ("index", "index.html"),
        ("statement-non-conformant", failing.page),
        ("standard-retired", retired.page),
        ("standard-shared-care-record", shared_care.page),
        (f"framework-{framework.slug}", framework.page),
    ]
    return [{"name": name, "url": (site / page).as_uri()} for name, page in chosen]


def _png_width(path: Path) -> int:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width: int = struct.unpack(">I", header[16:20])[0]
    return width


def test_register_pages_are_accessible_and_fit_a_phone(built: tuple[Made, Register], tmp_path: Path) -> None:
    chromium, node = _tools()
    made, register = built
    shots = Path(os.environ.get("CONFORMANCE_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    pages = _pages(made.root / "site", register)
    config = tmp_path / "browser.json"
    config.write_text(json.dumps({
        "chromium": chromium, "axe": str(AXE), "out": str(shots), "profile": str(tmp_path / "profile"),
        "widths": list(WIDTHS), "pages": pages,
    }), encoding="utf-8")  # fmt: skip
    (tmp_path / "profile").mkdir()
    result = subprocess.run(
        [node, "--experimental-websocket", str(SCRIPT), str(config)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    checked = json.loads(result.stdout)
    assert len(checked) == len(pages) * len(WIDTHS)
    for page in checked:
        where = f"{page['name']} at {page['width']}px"
        blocking = [v for v in page["violations"] if v["impact"] in BLOCKING]
        assert blocking == [], f"{where}: {blocking}"
        assert page["innerWidth"] == page["width"], where
        assert page["scrollWidth"] <= page["width"], f"{where}: {page['scrollWidth']}px wide"
        assert _png_width(Path(page["screenshot"])) == page["width"], where
