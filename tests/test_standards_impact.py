"""Upgrade impact: UK Core STU2's own examples assessed against uk-core-stu2 and against uk-core-next
(docs/upgrading.md is the how-to; its figures are these)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.context import Context
from conformance.errors import UsageError
from conformance.standards import load_standard
from conformance.standards.impact import ResourceChange, UpgradeImpact, render_impact_markdown, upgrade_impact
from conformance.statements import Product, write_statement
from conformance.statements.assess import Assessor
from conformance.statements.model import Statement
from test_ukcore_next import next_settings

pytestmark = pytest.mark.shared

EXAMPLES_NAME = "ukcore-stu2"
PRODUCT = Product("NHS England", "UK Core STU2 examples", "2.0.2")


@pytest.fixture(scope="module")
def statements(tmp_path_factory: pytest.TempPathFactory) -> tuple[Statement, Statement]:
    settings = next_settings(tmp_path_factory)
    examples = settings.package_path[0] / "_examples" / EXAMPLES_NAME
    made = []
    for standard_id in ("uk-core-stu2", "uk-core-next"):
        standard = load_standard(standard_id)
        context = Context.build(settings, standard.fhir_version, igs=[p.reference for p in standard.packages])
        made.append(Assessor(standard, context).assess([examples], PRODUCT))
    return made[0], made[1]


@pytest.fixture(scope="module")
def impact(statements: tuple[Statement, Statement]) -> UpgradeImpact:
    return upgrade_impact(*statements)


def _names(changes: tuple[ResourceChange, ...]) -> list[str]:
    return [change.source.rsplit("/", 1)[-1] for change in changes]


def test_which_stu2_examples_would_stop_or_start_conforming(impact: UpgradeImpact) -> None:
    assert len(impact.resources) == 139
    assert _names(impact.stop_conforming) == ["UKCore-Specimen-Extension-CollectionCollector-Example.json"]
    [stop] = impact.stop_conforming
    assert [error.split(" @ ")[0] for error in stop.new_errors] == ["extension.context"]
    # Five examples used extensions STU2 lacked (docs/validation.md lists them); the next line defines them.
    assert _names(impact.start_conforming) == [
        "UKCore-Extension-MedicationChangeSummary-Example.json",
        "UKCore-Patient-Extension-MedicalApplianceSupplier-Example.json",
        "UKCore-Patient-Extension-OverseasVisitorChargingCategory-Example.json",
        "UKCore-Patient-Extension-PreferredDispenserOrganization-Example.json",
        "UKCore-RelatedPerson-Extension-EffectivePeriod-Example.json",
    ]
    assert len(impact.fail_both) == 4


def test_profile_verdicts_move_and_the_markdown_says_why(impact: UpgradeImpact) -> None:
    moves = {
        move.url.rsplit("/", 1)[-1]: (move.old, move.new) for move in impact.profiles if move.old != move.new
    }
    assert moves["UKCore-Specimen"] == ("conformant", "non-conformant")
    assert moves["UKCore-RelatedPerson"] == ("non-conformant", "conformant")
    assert moves["UKCore-Bundle"] == (None, "conformant")  # a profile STU2 did not have
    markdown = render_impact_markdown(impact)
    assert markdown.startswith(
        "# Upgrade impact: uk-core-stu2 2.0.2 (active) -> uk-core-next 0.0.0-main.20250620 (draft)\n"
    )
    assert "## Resources that would stop conforming (1)" in markdown
    assert "| UKCore-Specimen | Conformant | Not conformant |" in markdown


def test_the_compare_command_and_its_refusals(
    statements: tuple[Statement, Statement], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    write_statement(statements[0], old)
    write_statement(statements[1], new)
    assert main(["compare", "--upgrade", str(old), str(new)]) == 0
    assert "1 would stop conforming, 5 would start, 4 fail under both" in capsys.readouterr().out
    assert main(["compare", "--upgrade", str(old)]) == 2
    assert "exactly two statements" in capsys.readouterr().err
    other = statements[1].model_copy(
        update={"subject": statements[1].subject.model_copy(update={"payload_set_sha256": "0" * 64})}
    )
    with pytest.raises(UsageError, match="different payload sets"):
        upgrade_impact(statements[0], other)
