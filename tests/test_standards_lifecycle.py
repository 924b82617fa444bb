"""Standards as products: status, version, dates, neighbours; `conformance standards list` and `show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.context import Context
from conformance.errors import InputError
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.standards import available_standards, load_standard, standard_from_dict
from conformance.standards.model import Status
from conformance.statements import Product, compare, read_statement, render_markdown, write_statement
from conformance.statements.assess import Assessor
from conformance.statements.verify import verify_statement
from statements_support import shared_packages_or_skip

OLD_STYLE = {
    "format": 1,
    "id": "old-style",
    "title": "Written before the life cycle",
    "publisher": "Me",
    "fhir_version": "4.0.1",
    "packages": [{"name": "hl7.fhir.r4.core", "version": "4.0.1"}],
    "profiles": [{"url": "http://hl7.org/fhir/StructureDefinition/Patient", "type": "Patient"}],
}

WITH_LIFECYCLE = """
format = 1
id = "mine-2"
title = "My standard, version 2"
publisher = "Me"
fhir_version = "4.0"
status = "deprecated"
version = "2.0.0"
date = 2025-01-31
status_date = "2026-06-01"
successor = "mine-3"
predecessor = "mine-1"

[[packages]]
name = "hl7.fhir.r4.core"
version = "4.0.1"

[[profiles]]
url = "http://hl7.org/fhir/StructureDefinition/Patient"
type = "Patient"
"""


def test_a_definition_without_a_life_cycle_loads_as_active_and_keeps_its_digest() -> None:
    standard = standard_from_dict(OLD_STYLE)
    assert standard.status is Status.ACTIVE and standard.lifecycle.version == ""
    assert standard.lifecycle.successor is None and standard.lifecycle.date is None
    dated = standard_from_dict({**OLD_STYLE, "status": "retired", "version": "9", "successor": "other"})
    # The life cycle is not part of what a payload is assessed against: the digest does not move.
    assert dated.sha256 == standard.sha256
    assert dated.to_dict()["status"] == "retired" and "status" not in dated.to_dict(lifecycle=False)


def test_toml_dates_and_text_dates_both_load(tmp_path: Path) -> None:
    path = tmp_path / "mine-2.toml"
    path.write_text(WITH_LIFECYCLE, encoding="utf-8")
    standard = load_standard(path)
    life = standard.lifecycle
    assert (life.status, life.version, life.date, life.status_date) == (
        Status.DEPRECATED,
        "2.0.0",
        "2025-01-31",
        "2026-06-01",
    )
    assert (life.successor, life.predecessor) == ("mine-3", "mine-1")
    assert life.status.is_withdrawn and not Status.TRIAL_USE.is_withdrawn
    assert standard.to_dict()["date"] == "2025-01-31"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "superseded"}, r"at \.status: 'superseded' is not one of"),
        ({"date": "31/01/2025"}, r"at \.date: '31/01/2025' does not match"),
        ({"successor": "Not An Id"}, r"at \.successor"),
        ({"successor": "old-style"}, "cannot be its own successor or predecessor"),
    ],
)
def test_a_wrong_life_cycle_is_refused_naming_the_field(change: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        standard_from_dict({**OLD_STYLE, **change})


def test_every_shipped_standard_states_its_life_cycle() -> None:
    found = {standard_id: load_standard(standard_id) for standard_id, _ in available_standards()}
    for standard_id, standard in found.items():
        text = Path(standard.source).read_text(encoding="utf-8")
        assert "\nstatus = " in text and "\nversion = " in text, standard_id
    assert found["uk-core-next"].status is Status.DRAFT
    assert found["uk-core-next"].lifecycle.predecessor == "uk-core-stu2"
    assert found["uk-core-stu2"].lifecycle.successor == "uk-core-next"
    assert found["uk-core-stu2"].status is Status.ACTIVE
    # Neighbours name standards that exist.
    for standard in found.values():
        for neighbour in (standard.lifecycle.successor, standard.lifecycle.predecessor):
            assert neighbour is None or neighbour in found


def test_the_schema_describes_every_life_cycle_field() -> None:
    schema = json.loads(
        Path(load_standard("uk-core-stu2").source).with_name("standard.schema.json").read_text()
    )
    assert {"status", "version", "date", "status_date", "successor", "predecessor"} <= set(
        schema["properties"]
    )
    assert schema["properties"]["status"]["enum"] == [status.value for status in Status]


def test_standards_list_shows_status_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["standards", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "status", "version", "FHIR", "profiles", "title"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["uk-core-next"][1:5] == ["draft", "0.0.0-main.20250620", "R4", "70"]
    assert rows["uk-core-stu2"][1:5] == ["active", "2.0.2", "R4", "31"]


def test_standards_show_gives_the_buyers_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["standards", "show", "uk-core-stu2"]) == 0
    out = capsys.readouterr().out
    assert "status      active since 2026-12-06" in out
    assert "successor   uk-core-next" in out
    packages = {
        line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("fhir.", "hl7."))
    }
    assert packages == {"fhir.r4.ukcore.stu2": ["2.0.2"], "hl7.fhir.r4.core": ["4.0.1"]}
    patient = next(line for line in out.splitlines() if line.startswith(f"{UK}UKCore-Patient "))
    assert patient.split()[1:] == ["Patient", "no", "1", "yes"]
    # A deprecated standard says so.
    path = tmp_path / "mine-2.toml"
    path.write_text(WITH_LIFECYCLE, encoding="utf-8")
    assert main(["standards", "show", str(path)]) == 0
    assert "this standard is deprecated: statements made against it say so" in capsys.readouterr().out
    assert main(["standards", "show", "no-such-standard"]) == 2
    assert "unknown standard 'no-such-standard'" in capsys.readouterr().err


UK = "https://fhir.hl7.org.uk/StructureDefinition/"
PRODUCT = Product("Supplier", "Product", "1.0")


def test_a_statement_made_against_a_deprecated_standard_says_so(
    shared_settings: Settings, tmp_path: Path
) -> None:
    shared_packages_or_skip()
    payload = tmp_path / "patient.json"
    payload.write_text(json.dumps({"resourceType": "Patient", "id": "p1"}), encoding="utf-8")
    deprecated = standard_from_dict(
        {**OLD_STYLE, "status": "deprecated", "version": "1.2", "successor": "next"}
    )
    context = Context.build(shared_settings, FhirVersion.R4)
    statement = Assessor(deprecated, context).assess([payload], PRODUCT)
    assert (statement.standard.status, statement.standard.version) == ("deprecated", "1.2")
    assert "> **Warning:** The standard old-style was deprecated when this statement was made." in (
        render_markdown(statement)
    )
    active = Assessor(standard_from_dict(OLD_STYLE), context).assess([payload], PRODUCT)
    assert active.standard.status == "active" and "was deprecated" not in render_markdown(active)


def test_verify_and_compare_warn_about_a_deprecated_standard(
    shared_settings: Settings, tmp_path: Path
) -> None:
    shared_packages_or_skip()
    payload = tmp_path / "payloads" / "patient.json"
    payload.parent.mkdir()
    payload.write_text(json.dumps({"resourceType": "Patient", "id": "p1"}), encoding="utf-8")
    context = Context.build(shared_settings, FhirVersion.R4)
    deprecated = standard_from_dict({**OLD_STYLE, "status": "deprecated"})
    path = tmp_path / "statement.json"
    write_statement(Assessor(deprecated, context).assess([payload], PRODUCT), path)
    verification = verify_statement(path, payloads=payload.parent, context=context)
    warnings = [(c.name, c.detail) for c in verification.checks if c.status == "warning"]
    assert warnings == [
        ("standard status", "the statement was made against old-style, a deprecated standard")
    ]
    assert verification.ok  # a warning, not a failure: the statement is what it says it is
    notes = compare([read_statement(path)]).notes
    assert "the standard was deprecated when these statements were made" in notes
    active = tmp_path / "active.json"
    write_statement(Assessor(standard_from_dict(OLD_STYLE), context).assess([payload], PRODUCT), active)
    assert not [c for c in verify_statement(active, context=context).checks if c.status == "warning"]
