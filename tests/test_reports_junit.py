"""JUnit XML over Outcomes: test-case counts, failures a person can read, and XML that always parses."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from conformance.outcome import Issue, Outcome, Severity
from conformance.reports import EntryPart, PayloadResult, junit_xml, result_of

UK_PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
UK_OBSERVATION = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation"


def _issue(message_id: str, *, severity: Severity = Severity.ERROR, **fields: object) -> Issue:
    defaults: dict[str, object] = {"code": "value", "message": f"broken: {message_id}", "location": "Patient"}
    defaults.update(fields)
    return Issue(severity=severity, message_id=message_id, **defaults)  # type: ignore[arg-type]


def _parse(results: list[PayloadResult]) -> ET.Element:
    return ET.fromstring(junit_xml(results).encode("utf-8"))


def _cases(root: ET.Element) -> list[ET.Element]:
    return root.findall("./testsuite/testcase")


def test_one_case_per_payload_and_requested_profile() -> None:
    bad_date = _issue(
        "type.date", location="Patient.birthDate", line=4, column=16, profile=UK_PATIENT + "|2.5.0"
    )
    results = [
        PayloadResult(Outcome.of([bad_date]), "a.json", profiles=(UK_PATIENT, UK_OBSERVATION)),
        PayloadResult(Outcome.of([]), "b.json", profiles=(UK_PATIENT, UK_OBSERVATION)),
    ]
    root = _parse(results)
    assert root.get("tests") == "4" and root.get("failures") == "1"
    assert [(c.get("classname"), c.get("name")) for c in _cases(root)] == [
        ("a.json", UK_PATIENT),
        ("a.json", UK_OBSERVATION),
        ("b.json", UK_PATIENT),
        ("b.json", UK_OBSERVATION),
    ]
    failed = [c for c in _cases(root) if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failed] == [("a.json", UK_PATIENT)]


def test_the_failure_names_location_position_message_id_and_rule() -> None:
    issue = _issue(
        "cardinality.min",
        location="Patient.name[0]",
        line=7,
        column=3,
        element_id="Patient.name.family",
        profile=UK_PATIENT + "|2.5.0",
    )
    failure = _parse([PayloadResult(Outcome.of([issue]), "p.json")]).find("./testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("type") == "cardinality.min"
    text = failure.text or ""
    assert "Patient.name[0]" in text and "line 7, column 3" in text and "[cardinality.min]" in text
    assert "element Patient.name.family" in text and UK_PATIENT in text


def test_issues_of_the_base_definition_fail_every_profile_case() -> None:
    base = _issue("type.json-type", profile="http://hl7.org/fhir/StructureDefinition/Patient|4.0.1")
    root = _parse([PayloadResult(Outcome.of([base]), "p.json", profiles=(UK_PATIENT, UK_OBSERVATION))])
    assert root.get("failures") == "2"


def test_warnings_go_to_system_out_and_do_not_fail() -> None:
    warning = _issue("extension.unknown", severity=Severity.WARNING)
    root = _parse([PayloadResult(Outcome.of([warning]), "p.json")])
    case = _cases(root)[0]
    assert case.find("failure") is None
    assert "[extension.unknown]" in (case.findtext("system-out") or "")


def test_a_bundle_gives_a_case_for_itself_and_for_each_entry() -> None:
    entry_issue = _issue("cardinality.min", location="Bundle.entry[1].resource")
    bundle_issue = _issue("bundle.fullurl-missing", location="Bundle.entry[10]")
    entries = (
        EntryPart(0, "Patient", "p1", (UK_PATIENT,)),
        EntryPart(1, "Observation"),
    )
    result = PayloadResult(
        Outcome.of([entry_issue, bundle_issue]), "b.json", resource_type="Bundle", entries=entries
    )
    cases = _cases(_parse([result]))
    assert [c.get("classname") for c in cases] == [
        "b.json",
        "b.json entry[0] Patient/p1",
        "b.json entry[1] Observation",
    ]
    assert [c.find("failure") is not None for c in cases] == [True, False, True]
    assert cases[1].get("name") == UK_PATIENT
    # entry[10] is not entry[1]: prefixes match whole steps only
    assert "Bundle.entry[10]" in (cases[0].findtext("failure") or "")


def test_one_suite_per_file_and_ndjson_lines_as_cases() -> None:
    lines = [PayloadResult(Outcome.of([]), "x.ndjson", line=n) for n in (1, 2, 5)]
    root = _parse([*lines, PayloadResult(Outcome.of([]), "y.json")])
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("tests")) for s in suites] == [("x.ndjson", "3"), ("y.json", "1")]
    assert [c.get("classname") for c in _cases(root)][:3] == ["x.ndjson:1", "x.ndjson:2", "x.ndjson:5"]


@pytest.mark.parametrize(
    "hostile",
    [
        "\x00\x01\x1f nul and controls",
        ']]> <testcase/> & "quotes"',
        "\ud7ff\ue000 \U0001f600",
        "\ufffe\uffff \ud800",
    ],
    ids=["control-characters", "markup", "unicode", "non-characters"],
)
def test_hostile_text_still_gives_well_formed_xml(hostile: str) -> None:
    issue = _issue("type.string", message=hostile, location=hostile)
    document = junit_xml([PayloadResult(Outcome.of([issue]), hostile, profiles=(hostile,))])
    root = ET.fromstring(document.encode("utf-8"))
    assert root.get("failures") == "1"
    assert len(_cases(root)) == 1


def test_no_results_is_an_empty_but_valid_report() -> None:
    root = _parse([])
    assert root.tag == "testsuites" and root.get("tests") == "0" and not root.findall("testsuite")


def test_many_payloads_are_counted_exactly() -> None:
    results = [
        PayloadResult(Outcome.of([_issue("type.date")] if n % 7 == 0 else []), f"f{n % 10}.json", line=n)
        for n in range(1, 2001)
    ]
    root = _parse(results)
    assert root.get("tests") == "2000"
    assert root.get("failures") == str(sum(1 for n in range(1, 2001) if n % 7 == 0))
    assert sum(int(s.get("tests") or 0) for s in root.findall("testsuite")) == 2000


def test_result_of_names_a_library_outcome_by_its_source() -> None:
    assert result_of(Outcome.of([], source="in/memory.json")).name == "in/memory.json"
    assert result_of(Outcome.of([])).name == "payload"
