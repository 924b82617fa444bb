"""The Reporter: issues kept compactly until positioned, deduplicated as before, with their JSON paths."""

from __future__ import annotations

from collections.abc import Callable

from conformance.outcome import Issue, Severity
from conformance.validation.report import JsonPath, Loc, Reporter


def _bundle_entry_resource(index: int) -> Loc:
    return Loc.root("Bundle").child("entry").at(index).child("resource")


def _positions_by_path(
    paths: dict[JsonPath, tuple[int, int]],
) -> tuple[list[JsonPath], Callable[[JsonPath], tuple[int, int] | None]]:
    """A position lookup from a table, and the list of the paths it was asked for."""
    asked: list[JsonPath] = []

    def position(path: JsonPath) -> tuple[int, int] | None:
        asked.append(path)
        return paths.get(path)

    return asked, position


def test_the_same_issue_at_the_same_place_is_kept_once() -> None:
    report = Reporter()
    for _ in range(3):
        report.warning("invariant", "dom-6", "A resource should have narrative", _bundle_entry_resource(0))
    report.warning("invariant", "dom-6", "A resource should have narrative", _bundle_entry_resource(1))
    report.error("invariant", "dom-6", "A resource should have narrative", _bundle_entry_resource(1))
    report.warning("invariant", "dom-6", "other words", _bundle_entry_resource(1))
    issues = report.positioned(lambda path: None)
    assert [(i.severity, i.location, i.message) for i in issues] == [
        (Severity.WARNING, "Bundle.entry[0].resource", "A resource should have narrative"),
        (Severity.WARNING, "Bundle.entry[1].resource", "A resource should have narrative"),
        (Severity.ERROR, "Bundle.entry[1].resource", "A resource should have narrative"),
        (Severity.WARNING, "Bundle.entry[1].resource", "other words"),
    ]
    assert report.positioned(lambda path: None) == []  # positioning ends the report


def test_a_dedupe_key_replaces_the_message_in_deciding_what_repeats() -> None:
    report = Reporter()
    loc = Loc.root("Patient").child("name", 0)
    report.error("value", "x", "first words", loc, dedupe=("k",))
    report.error("value", "x", "other words, same key", loc, dedupe=("k",))
    report.error("value", "x", "first words", loc)  # no key: its message decides
    assert [i.message for i in report.positioned(lambda path: None)] == ["first words", "first words"]


def test_errors_are_counted_once_each() -> None:
    report = Reporter()
    loc = Loc.root("Patient").child("gender")
    report.error("code-invalid", "x", "bad", loc)
    report.error("code-invalid", "x", "bad", loc)
    report.warning("code-invalid", "y", "odd", loc)
    assert report.error_count == 1
    assert report.has_errors


def test_positions_are_asked_by_json_path_and_fall_back_to_the_nearest_ancestor() -> None:
    report = Reporter()
    root = Loc.root("Patient")
    report.error("structure", "a", "m", root.child("birthDate", json_key="_birthDate").child("extension", 0))
    report.error("structure", "b", "m", root.child("value", json_key="valueQuantity").child("code"))
    report.error("structure", "c", "m", root.child("a.b").child("c", 2))  # a name with a dot
    report.error("structure", "d", "m", None)
    asked, position = _positions_by_path(
        {("_birthDate",): (2, 3), ("valueQuantity", "code"): (4, 5), ("a.b", "c", 2): (6, 7), (): (1, 1)}
    )
    issues = report.positioned(position)
    assert [(i.location, i.line, i.column) for i in issues] == [
        ("Patient.birthDate.extension[0]", 2, 3),
        ("Patient.value.code", 4, 5),
        ("Patient.a.b.c[2]", 6, 7),
        ("", 1, 1),
    ]
    assert asked[:3] == [("_birthDate", "extension", 0), ("_birthDate", "extension"), ("_birthDate",)]


def test_found_gives_each_issue_with_the_path_of_its_location() -> None:
    report = Reporter()
    loc = _bundle_entry_resource(12345).child("identifier", 0).child("system")
    report.info("informational", "i", "note", loc, profile="http://p", element_id="Patient.identifier.system")
    (found,) = report.found
    assert found.path == ("entry", 12345, "resource", "identifier", 0, "system") == loc.json_path
    assert found.issue == Issue(
        Severity.INFORMATION,
        "informational",
        "i",
        "note",
        "Bundle.entry[12345].resource.identifier[0].system",
        profile="http://p",
        element_id="Patient.identifier.system",
    )


def test_absorb_takes_a_trial_walks_issues_once() -> None:
    trial = Reporter()
    loc = Loc.root("Observation").child("value", json_key="valueQuantity")
    trial.error("structure", "s", "bad value", loc, constraint="qty-3")
    kept = Reporter()
    kept.error("structure", "s", "bad value", loc, constraint="qty-3")
    kept.absorb(trial)
    kept.absorb(trial)
    assert kept.error_count == 1
    (issue,) = kept.positioned(lambda path: (9, 9) if path == ("valueQuantity",) else None)
    assert (issue.constraint, issue.line, issue.column) == ("qty-3", 9, 9)
