"""Renderings of a statement: Markdown, a self-contained HTML page, and FHIR TestReports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.statements import Product, RunDetails, Statement, render_fhir, render_html, render_markdown
from conformance.validation import Validator
from statements_support import (
    DRAFT_STANDARD,
    INVALID,
    MOMENT,
    VALID,
    assess,
    assessor,
    shared_packages_or_skip,
)

pytestmark = pytest.mark.shared

HOSTILE = Product('<script>alert("x")</script> & Co | Ltd', "EPR <b>", "1.0\n## injected")


@pytest.fixture(scope="module")
def mixed(shared_settings: Settings) -> Statement:
    return assess("shared-care-record", shared_settings, VALID, INVALID)


@pytest.fixture(scope="module")
def hostile(shared_settings: Settings) -> Statement:
    run = RunDetails(generated_at=MOMENT, generated_by="<img src=x onerror=alert(1)>")
    return assessor("shared-care-record", shared_settings).assess([VALID], HOSTILE, run)


def test_markdown_leads_with_the_verdicts(mixed: Statement) -> None:
    text = render_markdown(mixed)
    lines = text.splitlines()
    assert lines[0] == "# Conformance statement: Riverside EPR 3.1 by Riverside Health Systems"
    assert any(line.startswith("- **Overall verdict: Not conformant** — 3 profile(s)") for line in lines)
    assert "| UKCore-Patient | Patient | yes | active | 3 | 2 | 1 | 2 | Not conformant |" in lines
    assert "| UKCore-Encounter | Encounter | yes | active | 2 | 2 | 0 | 2 | Conformant |" in lines
    assert "| binding.required.not-in-valueset | 1 |" in lines
    assert "1 could not be read" in text


def test_markdown_escapes_what_it_quotes(hostile: Statement) -> None:
    text = render_markdown(hostile)
    assert "<script>" not in text and "<b>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text
    title = text.splitlines()[0]
    assert title.startswith("# Conformance statement: EPR &lt;b&gt; 1.0 ## injected by")
    assert "\n## injected" not in text


def test_html_is_self_contained(mixed: Statement) -> None:
    page = render_html(mixed)
    assert page.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for pattern in (r"<script", r"<link", r"<img", r"\ssrc=", r"@import", r"url\("):
        assert not re.search(pattern, page, re.IGNORECASE), pattern
    assert '<table id="verdicts">' in page
    assert page.count('<tr class="verdict-') == 8


def test_html_escapes_what_it_quotes(hostile: Statement) -> None:
    page = render_html(hostile)
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co | Ltd" in page


def test_html_warns_about_draft_profiles(shared_settings: Settings) -> None:
    statement = assess(DRAFT_STANDARD.as_posix(), shared_settings, VALID / "patient-jane-doe.json")
    page = render_html(statement)
    assert 'class="warning"' in page and "DraftPatient (draft)" in page
    assert (
        "> **Warning:** Some verdicts rest on profiles that are not published as active"
        in render_markdown(statement)
    )


def test_fhir_rendering_has_one_test_report_per_profile(mixed: Statement) -> None:
    bundle = render_fhir(mixed)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    reports = [entry["resource"] for entry in bundle["entry"]]
    assert [report["resourceType"] for report in reports] == ["TestReport"] * 8
    results = {report["testScript"]["identifier"]["value"].rsplit("/", 1)[-1]: report for report in reports}
    assert results["UKCore-Patient"]["result"] == "fail"
    assert results["UKCore-Encounter"]["result"] == "pass"
    asserts = [test["action"][0]["assert"]["result"] for test in results["UKCore-Patient"]["test"]]
    assert sorted(asserts) == ["fail", "pass", "pass"]
    assert results["UKCore-Patient"]["score"] == pytest.approx(66.67)
    assert render_fhir(mixed) == bundle  # the same statement, the same Bundle


def test_fhir_rendering_is_valid_r4(mixed: Statement, shared_settings: Settings, tmp_path: Path) -> None:
    shared_packages_or_skip()
    validator = Validator(Context.build(shared_settings, FhirVersion.R4))
    path = tmp_path / "reports.json"
    path.write_text(json.dumps(render_fhir(mixed)), encoding="utf-8")
    outcome = validator.validate(path)
    assert [f"{issue.message_id} @ {issue.location}" for issue in outcome.errors] == []
    untested = assess("uk-core-stu2", shared_settings, VALID / "patient-jane-doe.json")
    pending = render_fhir(untested)
    assert {entry["resource"]["result"] for entry in pending["entry"]} == {"pass", "pending"}
    assert validator.validate(pending).valid
