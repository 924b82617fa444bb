"""`register build`: a register built from statements the tests make (tests/register_support.py), checked
through register.json, the pages, the Atom feed and the command line. The browser checks (axe-core,
phone width) are in test_register_browser.py."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conformance.cli import main
from conformance.errors import InputError
from conformance.frameworks import Framework, available_frameworks, load_framework, read_framework
from conformance.register import Register, build_register, check_register_data, register_schema_text
from conformance.settings import Settings
from conformance.statements import Product, load_private_key, sign, write_statement
from register_support import RETIRED_ID, Made, make_statements
from statements_support import REPO, VALID, assessor

pytestmark = pytest.mark.shared

BUILT = datetime(2024, 6, 1, 8, 30, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


def frameworks_for(made: Made) -> list[Framework]:
    shipped = [read_framework(path) for _, path in available_frameworks()]
    return [*shipped, load_framework("test-retired", search_path=[made.frameworks])]


def build(made: Made, out: Path) -> Register:
    return build_register(
        made.statements, made.keys, out, frameworks=frameworks_for(made),
        standards_search_path=[made.standards], now=BUILT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def made(shared_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Made:
    return make_statements(tmp_path_factory.mktemp("register"), shared_settings)


@pytest.fixture(scope="module")
def site(made: Made) -> Path:
    out = made.root / "site"
    build(made, out)
    return out


def register_json(site: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((site / "register.json").read_text(encoding="utf-8"))
    return data


def test_register_json_lists_each_statement_with_its_verification(site: Path) -> None:
    data = register_json(site)
    check_register_data(data)
    register = Register.model_validate(data)
    assert register.generated_at == "2024-06-01T08:30:00Z"
    # Newest first; only the verified ones.
    assert [(e.product, e.standard.id, e.verdict, e.signer.name) for e in register.statements] == [
        ("Cedar Record", RETIRED_ID, "conformant", "cedar"),
        ("Brook PAS", "shared-care-record", "non-conformant", "brook"),
        ("Riverside EPR", "uk-core-stu2", "conformant", "riverside"),
        ("Riverside EPR", "shared-care-record", "conformant", "riverside"),
    ]
    assert all(entry.verified for entry in register.statements)
    versions = {(e.standard.id, e.standard.version, e.standard.status) for e in register.statements}
    assert versions == {
        (RETIRED_ID, "1.0.0", "retired"),
        ("shared-care-record", "1.0.0", "active"),
        ("uk-core-stu2", "2.0.2", "active"),
    }
    rejected = {item.file: item for item in register.rejected}
    assert set(rejected) == {"brook-tampered.json", "stranger.json"}
    assert rejected["brook-tampered.json"].reason == (
        "signature: the signature does not match: the statement was changed after signing"
    )
    assert rejected["brook-tampered.json"].product_version == "2.1"
    assert rejected["stranger.json"].reason.endswith("which is not one of the trusted keys")
    assert not any(item.verified for item in register.rejected)
    assert "verdict" not in json.dumps(data["rejected"])
    assert [key.name for key in register.trusted_keys] == ["brook", "cedar", "riverside"]


def test_standards_and_frameworks_in_the_register(site: Path) -> None:
    register = Register.model_validate(register_json(site))
    entries = {entry.id: entry for entry in register.statements}
    standards = {standard.id: standard for standard in register.standards}
    shared = standards["shared-care-record"]
    assert [entries[i].supplier for i in shared.statements] == ["Brook Systems", "Riverside Health Systems"]
    assert [entries[i].supplier for i in shared.conformant] == ["Riverside Health Systems"]
    assert len(shared.profiles) == 8 and shared.status == "active" and shared.version == "1.0.0"
    retired = standards[RETIRED_ID]
    assert (retired.status, retired.successor) == ("retired", "shared-care-record")
    assert {"care-connect-stu3", "gp-connect-structured-stu3"} <= set(standards)  # required by a framework
    frameworks = {framework.id: framework for framework in register.frameworks}
    shared_care = {p.product: p for p in frameworks["example-shared-care"].products}
    assert shared_care["Riverside EPR"].qualifies and len(shared_care["Riverside EPR"].statements) == 2
    assert not shared_care["Brook PAS"].qualifies and not shared_care["Odd Records"].qualifies
    cedar = {p.product: p for p in frameworks["test-retired"].products}["Cedar Record"]
    assert cedar.reasons == (
        f"{RETIRED_ID}: made against {RETIRED_ID} 1.0.0, which is retired "
        "(its successor is shared-care-record)",
    )
    assert frameworks["example-shared-care"].example and not frameworks["test-retired"].example
    assert register.inconsistencies == ()


def _section(html: str, section_id: str) -> str:
    found = re.search(rf'<section id="{section_id}">(.*?)\n</section>', html, re.S)
    assert found is not None, section_id
    return found.group(1)


def test_the_index_never_shows_a_failed_statement_as_conformant(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    rejected = _section(html, "rejected")
    assert "brook-tampered.json" in rejected and "Brook PAS 2.1" in rejected
    assert "stranger.json" in rejected and "Odd Records 1.0" in rejected
    assert "Conformant" not in rejected
    # Elsewhere only in the framework tables, as a product that does not qualify.
    rows = [row for row in html.replace(rejected, "").split("<tr>") if "Brook PAS 2.1" in row]
    assert len(rows) == 3  # the three frameworks
    assert all("Does not qualify" in row and "verdict-conformant" not in row for row in rows)
    assert 'href="statements/' in _section(html, "standards")
    pages = sorted(path.name for path in (site / "statements").iterdir())
    assert len(pages) == 8 and not any("2-1" in name or "odd" in name for name in pages)


def test_every_page_is_self_contained_and_escaped(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert len(pages) == 1 + 4 + 5 + 3  # index, statements, standards, frameworks
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
        assert "<script" not in html and "default-src 'none'" in html
        assert html.count("<h1>") == 1, page


def test_statement_and_standard_pages(site: Path) -> None:
    register = Register.model_validate(register_json(site))
    riverside = next(e for e in register.statements if e.standard.id == "shared-care-record"
                     and e.product == "Riverside EPR")  # fmt: skip
    page = (site / riverside.page).read_text(encoding="utf-8")
    assert "Verified by the register" in page and "<strong>riverside</strong>" in page
    assert "Overall verdict" in page and 'href="../standards/shared-care-record.html"' in page
    assert (site / riverside.statement_file).read_bytes() == (
        next(p for p in (site.parent / "statements").iterdir() if p.name == "riverside.json").read_bytes()
    )
    retired = (site / "standards" / f"{RETIRED_ID}.html").read_text(encoding="utf-8")
    assert "This standard is retired" in retired
    assert 'Its successor is <a href="../standards/shared-care-record.html">' in retired
    framework = (site / "frameworks" / "example-shared-care.html").read_text(encoding="utf-8")
    assert "An example." in framework and "no statement against uk-core-stu2" in framework


def test_the_atom_feed_lists_accepted_statements_newest_first(site: Path) -> None:
    feed = ET.parse(site / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 4
    titles = [entry.findtext(f"{ATOM}title") for entry in entries]
    assert (
        titles[0] == "Cedar Record 4.2 by Cedar Health: Conformant (Shared care record feed (UK Core STU2))"
    )
    assert titles[1].startswith("Brook PAS 2.0 by Brook Systems: Not conformant")
    updated = [entry.findtext(f"{ATOM}updated") for entry in entries]
    assert updated == sorted(updated, reverse=True) and feed.findtext(f"{ATOM}updated") == updated[0]
    ids = {entry.findtext(f"{ATOM}id") for entry in entries}
    assert len(ids) == 4 and all(i and i.startswith("urn:uuid:") for i in ids)
    links = [entry.find(f"{ATOM}link[@rel='alternate']") for entry in entries]
    assert all(link is not None and (site / link.attrib["href"]).is_file() for link in links)


def test_rebuilding_in_place_and_refusing_other_folders(made: Made, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(made, out)
    (out / "statements" / "stale.html").write_text("old", encoding="utf-8")
    build(made, out)
    assert not (out / "statements" / "stale.html").exists()
    other = tmp_path / "documents"
    other.mkdir()
    (other / "letter.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="not empty and holds no register"):
        build(made, other)
    assert (other / "letter.txt").read_text(encoding="utf-8") == "keep me"
    with pytest.raises(InputError, match="must be apart"):
        build(made, made.statements / "site")
    with pytest.raises(InputError, match="statements folder not found"):
        build_register(tmp_path / "absent", made.keys, tmp_path / "x")


def test_hostile_statement_text_is_escaped_and_names_no_path(
    made: Made, shared_settings: Settings, tmp_path: Path
) -> None:
    statements = tmp_path / "statements"
    statements.mkdir()
    product = Product('<script>alert("x")</script>', "../../etc/passwd", "1 & <b>2</b>")
    statement = assessor("shared-care-record", shared_settings).assess([VALID], product)
    write_statement(sign(statement, load_private_key(made.root / "private" / "brook")), statements / "h.json")
    shutil.copy(statements / "h.json", statements / "h-again.json")  # the same statement sent twice
    register = build_register(statements, made.keys, tmp_path / "site", now=BUILT, title="T" * 50_000)
    assert len(register.title) == 2000  # clipped, not refused
    (entry,) = register.statements
    assert entry.id.startswith("etc-passwd-1-b-2-b-shared-care-record-")
    written = [p for p in (tmp_path / "site").rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to((tmp_path / "site").resolve()) for p in written)
    for page in (tmp_path / "site").rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html and "<b>2</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in (
        tmp_path / "site" / "index.html"
    ).read_text(encoding="utf-8")


def test_the_committed_schema_is_the_generated_one() -> None:
    committed = REPO / "docs" / "schema" / "register-1.0.schema.json"
    assert committed.read_text(encoding="utf-8") == register_schema_text()


def test_cli_register_build(made: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frameworks = tmp_path / "frameworks"
    shutil.copytree(made.frameworks, frameworks)
    code = main([
        "register", "build", str(made.statements), "--keys", str(made.keys),
        "--out", str(tmp_path / "site"), "--frameworks-dir", str(frameworks),
        "--standards-dir", str(made.standards), "--title", "Buyer register",
    ])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    assert "4 statement(s) accepted, 2 not accepted; 3 standard(s), 1 framework(s)" in captured.out
    assert "not accepted brook-tampered.json: signature:" in captured.err
    data = register_json(tmp_path / "site")
    assert data["title"] == "Buyer register"
    assert [f["id"] for f in data["frameworks"]] == ["test-retired"]  # type: ignore[index]
    code = main(["register", "build", str(made.statements), "--keys", str(tmp_path / "none"), "--out", "x"])
    assert code == 2 and "trusted keys not found" in capsys.readouterr().err
