"""Comparing several suppliers' statements for one standard."""

from __future__ import annotations

import pytest

from conformance.errors import UsageError
from conformance.settings import Settings
from conformance.statements import (
    Product,
    RunDetails,
    Statement,
    compare,
    render_compare_html,
    render_compare_markdown,
    render_compare_text,
)
from statements_support import INVALID, MOMENT, VALID, assess, assessor

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def three(shared_settings: Settings) -> list[Statement]:
    scr = assessor("shared-care-record", shared_settings)
    run = RunDetails(generated_at=MOMENT)
    return [
        scr.assess([VALID], Product("Alpha Ltd", "Alpha EPR", "2"), run),
        scr.assess([VALID, INVALID], Product("Beta plc", "Beta Care", "7.4"), run),
        scr.assess([VALID / "patient-jane-doe.json"], Product("Gamma", "G-Record", "0.9"), run),
    ]


def test_one_column_per_statement_one_row_per_profile(three: list[Statement]) -> None:
    comparison = compare(three)
    assert comparison.suppliers == (
        "Alpha EPR 2 by Alpha Ltd",
        "Beta Care 7.4 by Beta plc",
        "G-Record 0.9 by Gamma",
    )
    assert [cell.verdict for cell in comparison.overall] == [
        "conformant",
        "non-conformant",
        "insufficient-sample",
    ]
    patient = comparison.rows[0]
    assert (patient.name, patient.required) == ("UKCore-Patient", True)
    assert [cell.text for cell in patient.cells] == [
        "Conformant (2/2)",
        "Not conformant (2/3)",
        "Too few samples (1/1)",
    ]
    assert [cell.text for cell in comparison.rows[1].cells] == [
        "Conformant (2/2)",
        "Conformant (2/2)",
        "Not tested",
    ]
    assert comparison.notes == (
        "not signed: Alpha EPR 2 by Alpha Ltd, Beta Care 7.4 by Beta plc, G-Record 0.9 by Gamma",
    )


def test_text_markdown_and_html(three: list[Statement]) -> None:
    comparison = compare(three)
    text = render_compare_text(comparison).splitlines()
    assert text[0] == "Shared care record feed (UK Core STU2) (shared-care-record)"
    assert text[2].split()[:2] == ["Profile", "Required"]
    for supplier in comparison.suppliers:
        assert supplier in text[2]
    assert text[4].startswith("OVERALL") and "Not conformant" in text[4]
    column = text[2].index("Beta Care")  # columns line up under their headers
    assert text[4][column:].startswith("Not conformant") and text[5][column:].startswith(
        "Not conformant (2/3)"
    )
    markdown = render_compare_markdown(comparison)
    assert (
        "| UKCore-Patient | yes | Conformant (2/2) | Not conformant (2/3) | Too few samples (1/1) |"
        in markdown
    )
    page = render_compare_html(comparison)
    assert page.startswith("<!DOCTYPE html>") and '<table id="comparison">' in page
    assert page.count("<tr>") == 1 + 1 + 8  # header, overall, profiles
    assert "<script" not in page


def test_statements_for_different_standards_are_not_compared(
    three: list[Statement], shared_settings: Settings
) -> None:
    other = assess("uk-core-stu2", shared_settings, VALID / "patient-jane-doe.json")
    with pytest.raises(
        UsageError, match="statements are for different standards: shared-care-record and uk-core-stu2"
    ):
        compare([three[0], other])
    with pytest.raises(UsageError, match="nothing to compare"):
        compare([])
