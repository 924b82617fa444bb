"""`conformance explain`: every live message id has an entry, and every example does what it says.

A failing example must give its id and a passing example must not. Payload examples are validated in an
R4 context of the core packages; profile examples (snapshot ids) have their snapshot generated; terminology
examples are put to the local terminology service. Entries whose examples cannot stand alone say why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.context import Context
from conformance.definitions.snapshot import generate_snapshot
from conformance.errors import InputError
from conformance.explain import entries, explain, render, suggestions
from conformance.explain.catalogue import PAGE, live_message_ids
from conformance.explain.catalogue import main as catalogue_main
from conformance.explain.catalogue import render as render_page
from conformance.explain.data import Entry, families, load_family
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.terminology import LocalTerminology
from conformance.validation import ValidationOptions, Validator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [entry for entry in entries().values() if entry.failing is not None]


def test_every_live_message_id_has_an_entry_and_every_entry_a_live_id() -> None:
    live = live_message_ids(ROOT)
    assert {"cardinality.min", "slice.no-match", "questionnaire.not-found"} <= live
    assert sorted(live - set(entries())) == [], "message ids with no explain entry"
    assert sorted(set(entries()) - live) == [], "explain entries for ids the code no longer emits"


def test_entries_without_examples_say_why_and_are_few() -> None:
    without = [entry for entry in entries().values() if entry.failing is None]
    assert all(entry.unchecked for entry in without)
    assert len(without) < len(entries()) / 4  # most rules can be shown with a standalone input


@pytest.fixture(scope="module")
def r4(shared_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Context:
    """R4 core and the extensions pack, with every definition the entries' examples come with."""
    folder = tmp_path_factory.mktemp("explain-definitions")
    for entry in entries().values():
        for number, definition in enumerate(entry.definitions):
            (folder / f"{entry.id}-{number}.json").write_text(definition, encoding="utf-8")
    return Context.build(shared_settings, FhirVersion.R4, extra_resources=[folder])


def _ids_from(entry: Entry, text: str, context: Context) -> set[str]:
    if entry.check == "profile":
        return {
            issue.message_id for issue in generate_snapshot(json.loads(text), context, FhirVersion.R4).issues
        }
    if entry.check == "terminology":
        return _terminology_ids(json.loads(text), LocalTerminology(context, FhirVersion.R4))
    options = ValidationOptions(**entry.options) if entry.options else None
    outcome = Validator(context, options=options).validate(
        text.encode("utf-8"), profiles=entry.profiles, format=entry.failing.format if entry.failing else None
    )
    return {issue.message_id for issue in outcome.issues}


def _terminology_ids(question: Mapping[str, Any], service: LocalTerminology) -> set[str]:
    operation = question["operation"]
    if operation == "validate-code":
        result = service.validate_code(
            question["valueSet"], system=question.get("system"), code=question["code"]
        )
    elif operation == "validate-coding":
        result = service.validate_coding_in_codesystem(
            question["system"], question["code"], question.get("display"), question.get("version")
        )
    elif operation == "check-codeable-concept":
        result = service.check_codeable_concept(question["valueSet"], question["coding"])
    elif operation == "check-identifier":
        found = service.check_identifier(question["system"], question["value"])
        return set(found.message_ids) if found else set()
    else:
        raise AssertionError(f"unknown terminology operation {operation}")
    return set(result.message_ids)


@pytest.mark.parametrize("entry", EXAMPLES, ids=[entry.id for entry in EXAMPLES])
def test_the_failing_example_gives_the_id_and_the_passing_one_does_not(entry: Entry, r4: Context) -> None:
    assert entry.failing is not None and entry.passing is not None
    assert entry.id in _ids_from(entry, entry.failing.text, r4)
    assert entry.id not in _ids_from(entry, entry.passing.text, r4)


def test_explain_prints_the_rule_source_examples_fix_and_silencing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "structure.unknown-property"]) == 0
    out = capsys.readouterr().out
    for part in ("structure.unknown-property  (error, structure)", "Where it comes from:", "json.html",
                 "How to fix it:", "Gives structure.unknown-property", "Does not give it",
                 'allow="structure.unknown-property"', "[[suppress]]"):  # fmt: skip
        assert part in out


def test_explain_json_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "slice.min", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == "slice.min" and data["examples"]["profiles"]
    assert data["silence"]["statement"].startswith("[[suppress]]")
    assert main(["explain", "snapshot.no-base", "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("# `snapshot.no-base`") and "```json" in markdown


def test_an_entry_without_examples_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "payload.too-large"]) == 0
    assert "No standalone example: needs a payload larger" in capsys.readouterr().out


def test_an_unknown_id_suggests_close_ones_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "slice.nomatch"]) == 2
    assert "did you mean slice.no-match" in capsys.readouterr().err
    assert main(["explain", "zzzz"]) == 2
    assert "conformance explain --list" in capsys.readouterr().err
    assert main(["explain"]) == 2
    assert suggestions("slice")[:1] and all(i.startswith("slice.") for i in suggestions("slice"))
    assert explain(" cardinality.min ") is not None
    assert main(["explain", "x" * 100_000]) == 2  # a huge argument is just an unknown id


def test_list_names_every_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--list"]) == 0
    assert capsys.readouterr().out.split() == sorted(entries())


def test_the_catalogue_page_is_what_the_data_makes(tmp_path: Path) -> None:
    page = ROOT / "docs" / PAGE
    assert page.read_text(encoding="utf-8") == render_page(families()), (
        "docs/reference/message-ids.md is out of date: run python -m conformance.explain.catalogue"
    )
    stale = tmp_path / "page.md"
    stale.write_text("old", encoding="utf-8")
    assert catalogue_main(["--check", "--output", str(stale)]) == 1
    assert catalogue_main(["--output", str(stale)]) == 0
    assert catalogue_main(["--check", "--output", str(stale)]) == 0


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('family = "x"\ntitle = "X"\nsource = "s"\ncolour = 1\n', "unknown field"),
        ('family = "x"\ntitle = "X"\nsource = "s"\n[[entry]]\nid = "x.a"\nseverity = "error"\n'
         'rule = "r"\nfix = "f"\n', "`unchecked` must say why"),
        ('family = "x"\ntitle = "X"\nsource = "s"\n[[entry]]\nid = "y.a"\nseverity = "error"\n'
         'rule = "r"\nfix = "f"\nunchecked = "why"\n', "does not belong"),
        ('family = "x"\ntitle = "X"\nsource = "s"\n[[entry]]\nid = "x.a"\nseverity = "error"\n'
         'rule = "r"\nfix = "f"\nfailing = "{}"\n', "both a failing and a passing"),
        ("family = [", "cannot read"),
    ],
)  # fmt: skip
def test_malformed_data_is_refused_naming_the_file(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=error):
        load_family(path)


def test_every_format_renders_every_entry() -> None:
    for entry in entries().values():
        for format in ("text", "json", "markdown"):
            assert entry.id in render(entry, format)
