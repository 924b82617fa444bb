"""Assessing payloads against a standard: assignment, counts, verdicts, gaps, suppressions, hostile input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conformance.context import Context
from conformance.errors import InputError, UsageError
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue, Severity
from conformance.settings import Settings
from conformance.standards import load_standard, standard_from_dict
from conformance.statements import (
    Assessor,
    Product,
    RunDetails,
    Suppression,
    load_suppressions,
    statement_json,
)
from conformance.statements.assess import terminology_source_of
from conformance.statements.gaps import Gap, gap_of_issue
from conformance.statements.payloads import payload_set_digest
from conformance.terminology.answers import CodeSystemVersion
from conformance.terminology.answers import TerminologySource as Described
from statements_support import (
    DRAFT_STANDARD,
    FIXTURES,
    INVALID,
    MOMENT,
    RIVERSIDE,
    UK,
    VALID,
    assess,
    context_for,
    result_of,
    shared_packages_or_skip,
    with_test_packages,
    write_json,
)

pytestmark = pytest.mark.shared

SCR = "shared-care-record"


def _patient(**extra: object) -> dict[str, object]:
    return {"resourceType": "Patient", "gender": "female", "birthDate": "1990-01-01", **extra}


# --- verdicts on the sample payloads --------------------------------------------------------------


def test_valid_sample_is_conformant_to_the_shared_care_record(shared_settings: Settings) -> None:
    statement = assess(SCR, shared_settings, VALID)
    results = statement.results
    assert results.verdict == "conformant"
    assert [(r.url.rsplit("/", 1)[-1], r.tested, r.failed, r.verdict) for r in results.profiles] == [
        ("UKCore-Patient", 2, 0, "conformant"),
        ("UKCore-Encounter", 2, 0, "conformant"),
        ("UKCore-Condition", 2, 0, "conformant"),
        ("UKCore-AllergyIntolerance", 1, 0, "conformant"),
        ("UKCore-MedicationStatement", 1, 0, "conformant"),
        ("UKCore-Observation", 2, 0, "conformant"),
        ("UKCore-Organization", 1, 0, "conformant"),
        ("UKCore-Practitioner", 1, 0, "conformant"),
    ]
    assert results.unreadable_payloads == 0 and results.out_of_scope == ()
    assert statement.subject.payload_count == 11


def test_invalid_sample_is_non_conformant_with_its_counts(shared_settings: Settings) -> None:
    statement = assess(SCR, shared_settings, VALID, INVALID)
    results = statement.results
    assert results.verdict == "non-conformant"
    assert results.unreadable_payloads == 1
    assert "could not be read" in results.reason
    patient = result_of(statement, "UKCore-Patient")
    assert (patient.tested, patient.passed, patient.failed, patient.verdict) == (3, 2, 1, "non-conformant")
    assert patient.issues_by_message_id["binding.required.not-in-valueset"] == 1
    severities = patient.issues_by_severity
    total = severities.fatal + severities.error + severities.warning + severities.information
    assert total == sum(patient.issues_by_message_id.values()) and severities.error >= 2
    observation = result_of(statement, "UKCore-Observation")
    assert observation.failed == 1 and observation.issues_by_message_id["cardinality.min"] >= 1
    # The unreadable payload counts for no profile: its resource type cannot be known.
    assert result_of(statement, "UKCore-Encounter").tested == 2


def test_too_few_samples_and_untested_profiles(shared_settings: Settings) -> None:
    statement = assess(
        SCR, shared_settings, VALID / "patient-jane-doe.json", VALID / "allergy-penicillin.json"
    )
    assert result_of(statement, "UKCore-Patient").verdict == "insufficient-sample"
    assert result_of(statement, "UKCore-AllergyIntolerance").verdict == "conformant"
    assert result_of(statement, "UKCore-Encounter").verdict == "not-tested"
    assert statement.results.verdict == "insufficient-sample"
    assert "UKCore-Patient" in statement.results.reason and "UKCore-Encounter" in statement.results.reason


def test_nothing_in_scope_is_not_tested(shared_settings: Settings, tmp_path: Path) -> None:
    payload = write_json(
        tmp_path / "body.json", {"resourceType": "BodyStructure", "patient": {"reference": "Patient/1"}}
    )
    statement = assess(SCR, shared_settings, payload)
    assert statement.results.verdict == "not-tested"
    assert [(o.resource_type, o.count) for o in statement.results.out_of_scope] == [("BodyStructure", 1)]
    (item,) = statement.evidence.payloads[0].items
    assert (item.assignment, item.valid, item.issues) == ("out-of-scope", None, ())


def test_optional_profiles_untested_still_allow_conformance(shared_settings: Settings) -> None:
    statement = assess("uk-core-stu2", shared_settings, VALID)
    assert statement.results.verdict == "conformant"
    assert "23 optional profile(s) were not tested" in statement.results.reason


# --- assignment -----------------------------------------------------------------------------------


def test_bundles_are_split_into_their_entries(shared_settings: Settings) -> None:
    statement = assess(SCR, shared_settings, VALID / "bundle-practice.json")
    (payload,) = statement.evidence.payloads
    assert [(item.entry, item.resource_type, item.assignment) for item in payload.items] == [
        ("Bundle.entry[0].resource", "Organization", "resource-type"),
        ("Bundle.entry[1].resource", "Practitioner", "resource-type"),
    ]
    assert result_of(statement, "UKCore-Organization").tested == 1


def test_nested_bundles_are_opened_and_reading_problems_stay_with_their_entry(
    shared_settings: Settings, tmp_path: Path
) -> None:
    inner = (
        '{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:1", "resource": '
    )
    patient = '{"resourceType": "Patient", "gender": "male", "gender": "female", "birthDate": "1990-01-01"}'
    text = (
        '{"resourceType": "Bundle", "type": "collection", "entry": ['
        f'{{"fullUrl": "urn:uuid:0", "resource": {inner}{patient}}}]}}}}]}}'
    )
    path = tmp_path / "nested.json"
    path.write_text(text)
    statement = assess(SCR, shared_settings, path)
    (item,) = statement.evidence.payloads[0].items
    assert item.entry == "Bundle.entry[0].resource.entry[0].resource"
    (duplicate,) = [issue for issue in item.issues if issue.message_id == "json.duplicate-key"]
    assert duplicate.location == "Bundle.entry[0].resource.entry[0].resource.gender" and duplicate.line == 1
    assert result_of(statement, "UKCore-Patient").failed == 1


def test_a_claimed_profile_wins_over_the_type_default(shared_settings: Settings, tmp_path: Path) -> None:
    lab = write_json(
        tmp_path / "lab.json",
        {
            "resourceType": "Observation",
            "meta": {"profile": [f"{UK}UKCore-Observation-Lab|2.0.0"]},
            "status": "final",
            "code": {"text": "potassium"},
        },
    )
    plain = write_json(
        tmp_path / "plain.json", {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    )
    statement = assess("uk-core-stu2", shared_settings, lab, plain)
    items = {payload.name: payload.items[0] for payload in statement.evidence.payloads}
    assert items["lab.json"].assignment == "claimed"
    assert items["lab.json"].assigned_profiles == (f"{UK}UKCore-Observation-Lab",)
    assert items["plain.json"].assignment == "resource-type"
    assert items["plain.json"].assigned_profiles == (f"{UK}UKCore-Observation",)
    assert result_of(statement, "UKCore-Observation-Lab").tested == 1
    assert result_of(statement, "UKCore-Observation").tested == 1


def test_a_claim_outside_the_standard_falls_back_to_the_type(
    shared_settings: Settings, tmp_path: Path
) -> None:
    payload = write_json(
        tmp_path / "p.json", _patient(meta={"profile": ["http://example.org/elsewhere/Patient"]})
    )
    statement = assess(SCR, shared_settings, payload)
    (item,) = statement.evidence.payloads[0].items
    assert item.assignment == "resource-type" and item.assigned_profiles == (f"{UK}UKCore-Patient",)
    gaps = result_of(statement, "UKCore-Patient").not_evaluated
    assert [gap.kind for gap in gaps] == ["profile"]


def test_issues_of_another_claimed_profile_count_only_for_it(
    shared_settings: Settings, tmp_path: Path
) -> None:
    # DraftPatient wants a birthDate; UKCore-Patient does not: only DraftPatient fails.
    standard = load_standard(DRAFT_STANDARD.as_posix())
    both = standard_from_dict(
        {
            **standard.to_dict(),
            "packages": [
                *standard.to_dict()["packages"],
                {"name": "fhir.r4.ukcore.stu2", "version": "2.0.2"},
            ],
            "profiles": [
                *standard.to_dict()["profiles"],
                {"url": f"{UK}UKCore-Patient", "type": "Patient", "default_for_type": False},
            ],
        }
    )
    context = context_for(both, with_test_packages(shared_settings))
    claims = {"profile": [f"{UK}UKCore-Patient", "http://example.org/fhir/StructureDefinition/DraftPatient"]}
    payload = write_json(tmp_path / "p.json", {"resourceType": "Patient", "meta": claims, "gender": "male"})
    statement = Assessor(both, context).assess([payload], RIVERSIDE, RunDetails(generated_at=MOMENT))
    assert result_of(statement, "DraftPatient").failed == 1
    assert result_of(statement, "UKCore-Patient").failed == 0


# --- what the statement records -------------------------------------------------------------------


def test_evidence_holds_each_payload_digest_and_outcome(shared_settings: Settings) -> None:
    statement = assess(SCR, shared_settings, INVALID)
    by_name = {payload.name: payload for payload in statement.evidence.payloads}
    for name, payload in by_name.items():
        data = (INVALID / name.split("/", 1)[1]).read_bytes()
        assert payload.sha256 == hashlib.sha256(data).hexdigest() and payload.size == len(data)
    assert statement.subject.payload_set_sha256 == payload_set_digest(p.sha256 for p in by_name.values())
    (broken,) = by_name["invalid/truncated.json"].items
    assert broken.assignment == "unreadable" and [i.message_id for i in broken.issues] == ["json.syntax"]
    (patient,) = by_name["invalid/patient-bad-gender.json"].items
    gender = [issue for issue in patient.issues if issue.message_id == "binding.required.not-in-valueset"]
    assert gender and gender[0].location == "Patient.gender" and gender[0].line is not None


def test_standard_section_records_packages_and_profile_statuses(shared_settings: Settings) -> None:
    statement = assess(SCR, shared_settings, VALID / "patient-jane-doe.json")
    standard = statement.standard
    assert (standard.id, standard.fhir_version) == (SCR, "4.0.1")
    packages = {package.name: package for package in standard.packages}
    assert packages["fhir.r4.ukcore.stu2"].version == "2.0.2"
    tgz = shared_packages_or_skip() / "fhir.r4.ukcore.stu2#2.0.2.tgz"
    assert packages["fhir.r4.ukcore.stu2"].sha256 == hashlib.sha256(tgz.read_bytes()).hexdigest()
    patient = next(profile for profile in standard.profiles if profile.type == "Patient")
    assert (patient.status, patient.version, patient.package) == (
        "active",
        "2.5.0",
        "fhir.r4.ukcore.stu2#2.0.2",
    )
    assert standard.definition_sha256 == load_standard(SCR).sha256
    assert not statement.results.rests_on_draft_profiles


def test_environment_and_provenance(shared_settings: Settings) -> None:
    run = RunDetails(generated_at=MOMENT, generated_by="Procurement team", command="conformance assess ...")
    statement = assess(SCR, shared_settings, VALID / "patient-jane-doe.json", run=run)
    assert statement.environment.tool == "fhir-conformance"
    assert statement.environment.terminology.kind == "offline"
    assert statement.provenance.generated_at == "2024-05-01T12:00:00Z"
    assert statement.provenance.generated_by == "Procurement team"
    assert statement.provenance.command == "conformance assess ..."


def test_draft_profiles_are_flagged(shared_settings: Settings) -> None:
    statement = assess(DRAFT_STANDARD.as_posix(), shared_settings, VALID / "patient-jane-doe.json")
    profiles = {profile.url.rsplit("/", 1)[-1]: profile for profile in statement.standard.profiles}
    assert (profiles["DraftPatient"].status, profiles["DraftPatient"].experimental) == ("draft", True)
    assert profiles["DraftCondition"].status == "active"
    assert result_of(statement, "DraftPatient").rests_on_draft
    assert not result_of(statement, "DraftCondition").rests_on_draft
    assert statement.results.rests_on_draft_profiles
    package = next(p for p in statement.standard.packages if p.name == "example.draft")
    assert len(package.sha256) == 64  # a folder package: a digest of its files


def test_not_evaluated_bindings_and_extensions_are_recorded(
    shared_settings: Settings, tmp_path: Path
) -> None:
    statement = assess(
        DRAFT_STANDARD.as_posix(),
        shared_settings,
        VALID / "condition-asthma.json",
        VALID / "condition-hypertension.json",
    )
    (gap,) = result_of(statement, "DraftCondition").not_evaluated
    assert gap.kind == "binding"
    assert gap.what == "codes in Condition.code bound to http://example.org/fhir/ValueSet/snomed-disorders"
    assert gap.reason.startswith("the codes selected by a filter on http://snomed.info/sct cannot be listed")
    assert (gap.payloads, gap.occurrences) == (2, 2)
    assert result_of(statement, "DraftCondition").verdict == "conformant"


def test_issues_that_say_a_rule_was_not_checked_are_gaps() -> None:
    unknown = Issue(
        Severity.WARNING, "structure", "extension.unknown", "Unknown extension http://x.org/e: not checked"
    )
    skipped = Issue(
        Severity.INFORMATION, "informational", "invariant.not-checked", "Constraint x-1 was not checked: ..."
    )
    failed = Issue(Severity.ERROR, "invariant", "invariant.failed", "Constraint failed: x-2")
    assert gap_of_issue(unknown) == Gap(
        "extension", unknown.message, "the extension is not defined in the loaded packages"
    )
    assert gap_of_issue(skipped) is not None and gap_of_issue(skipped).kind == "invariant"  # type: ignore[union-attr]
    assert gap_of_issue(failed) is None


# --- suppressions ---------------------------------------------------------------------------------


def test_suppressed_issues_count_for_nothing_but_are_recorded(shared_settings: Settings) -> None:
    gender = Suppression("*", "Gender is mapped by the receiving system.", location="Patient.gender")
    unused = Suppression("binding.*", "Nothing else is set aside.", location="Patient.name*")
    run = RunDetails(generated_at=MOMENT, suppressions=(gender, unused))
    statement = assess(SCR, shared_settings, INVALID / "patient-bad-gender.json", run=run)
    (item,) = statement.evidence.payloads[0].items
    at_gender = [issue for issue in item.issues if issue.location == "Patient.gender"]
    assert len(at_gender) >= 2 and all(issue.suppressed for issue in at_gender)
    assert "binding.required.not-in-valueset" in {issue.message_id for issue in at_gender}
    patient = result_of(statement, "UKCore-Patient")
    assert (patient.failed, patient.verdict) == (0, "insufficient-sample")
    assert patient.issues_by_message_id == {}
    assert item.valid is True
    assert statement.results.suppressed_issues == len(at_gender)
    assert [(s.message_id, s.matched, s.rationale) for s in statement.environment.suppressions] == [
        ("*", len(at_gender), "Gender is mapped by the receiving system."),
        ("binding.*", 0, "Nothing else is set aside."),
    ]


def test_a_suppression_needs_a_rationale() -> None:
    with pytest.raises(InputError, match="needs a rationale"):
        Suppression("invariant.failed", "  ")


def test_suppressions_files(tmp_path: Path) -> None:
    (rule,) = load_suppressions(FIXTURES / "suppressions.toml")
    assert (rule.message_id, rule.constraint, rule.location) == ("invariant.failed", "dom-6", None)
    cases = {
        "not toml = =": "not a valid TOML suppressions file",
        "[other]\nx = 1": "holds only \\[\\[suppress\\]\\] tables",
        '[[suppress]]\nmessage_id = "a"\nrationale = "b"\nlevel = "x"': "suppression 1: expected the fields",
        '[[suppress]]\nmessage_id = "a"\nrationale = 3': "suppression 1: every field must be text",
        '[[suppress]]\nmessage_id = "a"': "suppression 1: the suppression of a needs a rationale",
    }
    for text, message in cases.items():
        path = tmp_path / "s.toml"
        path.write_text(text)
        with pytest.raises(InputError, match=message):
            load_suppressions(path)
    with pytest.raises(InputError, match="cannot read the suppressions file"):
        load_suppressions(tmp_path / "absent.toml")


# --- determinism ----------------------------------------------------------------------------------


def test_assessing_twice_gives_the_same_statement_but_the_time(shared_settings: Settings) -> None:
    first = assess(SCR, shared_settings, VALID, INVALID, run=RunDetails(generated_at=MOMENT))
    second = assess(SCR, shared_settings, INVALID, VALID, run=RunDetails())
    assert first.provenance.generated_at != second.provenance.generated_at
    same_time = second.model_copy(update={"provenance": first.provenance})
    assert statement_json(same_time) == statement_json(first)


# --- hostile and broken input ---------------------------------------------------------------------


def test_hostile_payloads_are_unreadable_not_errors(shared_settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text('{"resourceType": "Patient", "x": ' + "[" * 5000 + "]" * 5000 + "}")
    (tmp_path / "entity.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa">]><Patient xmlns="http://hl7.org/fhir"/>'
    )
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "array.json").write_text("[1, 2, 3]")
    (tmp_path / "binary.json").write_bytes(bytes(range(256)))
    with (tmp_path / "huge.json").open("wb") as stream:
        stream.truncate(65 * 1024 * 1024)  # past the 64 MiB limit: hashed, never parsed
    statement = assess(SCR, shared_settings, tmp_path)
    assert statement.results.unreadable_payloads == 6
    fatal = {p.name.rsplit("/", 1)[-1]: p.items[0].issues[0].message_id for p in statement.evidence.payloads}
    assert fatal == {
        "array.json": "json.not-object",
        "binary.json": "payload.encoding",
        "deep.json": "json.too-deep",
        "empty.json": "json.syntax",
        "entity.xml": "xml.dtd-forbidden",
        "huge.json": "payload.too-large",
    }
    huge = next(p for p in statement.evidence.payloads if p.name.endswith("huge.json"))
    assert huge.size == 65 * 1024 * 1024


def test_huge_strings_in_payloads_are_clipped_in_the_statement(
    shared_settings: Settings, tmp_path: Path
) -> None:
    big = "x" * 50_000
    write_json(tmp_path / "a.json", _patient(id=big, gender=big, meta={"profile": ["http://a.org/" + big]}))
    write_json(tmp_path / "b.json", {"resourceType": "P" * 300})
    entry = {"resourceType": "Patient", "id": big, "gender": big}
    write_json(
        tmp_path / "c.json", {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": entry}]}
    )
    statement = assess(SCR, shared_settings, tmp_path)
    assert statement.results.verdict == "non-conformant"
    items = [item for payload in statement.evidence.payloads for item in payload.items]
    assert all(len(item.id or "") <= 2000 for item in items)
    assert all(len(issue.message) <= 2000 for item in items for issue in item.issues)
    assert any(issue.message.endswith("…") for item in items for issue in item.issues)
    (outside,) = statement.results.out_of_scope
    assert len(outside.resource_type) == 200
    assert len(statement_json(statement)) < 200_000


def test_product_names_must_be_given_and_short() -> None:
    with pytest.raises(UsageError, match="the supplier must be given, in at most 200 characters"):
        Product(" ", "EPR", "1")
    with pytest.raises(UsageError, match="the version must be given"):
        Product("Riverside", "EPR", "1" * 201)


def test_an_over_long_rationale_is_refused() -> None:
    with pytest.raises(InputError, match=r"the rationale for invariant\.failed is over 2000 characters"):
        Suppression("invariant.failed", "because " * 300)


def test_a_missing_payload_path_is_an_input_error(shared_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="payload file or folder not found"):
        assess(SCR, shared_settings, tmp_path / "absent.json")


def test_hidden_files_and_other_suffixes_in_folders_are_skipped(
    shared_settings: Settings, tmp_path: Path
) -> None:
    write_json(tmp_path / ".hidden.json", _patient())
    write_json(tmp_path / ".git" / "p.json", _patient())
    (tmp_path / "notes.txt").write_text("not a payload")
    write_json(tmp_path / "sub" / "p.json", _patient())
    statement = assess(SCR, shared_settings, tmp_path)
    assert [payload.name for payload in statement.evidence.payloads] == [f"{tmp_path.name}/sub/p.json"]


# --- a context that cannot serve the standard -----------------------------------------------------


def test_context_must_hold_the_standards_packages(shared_settings: Settings) -> None:
    shared_packages_or_skip()
    core_only = Context.build(shared_settings, FhirVersion.R4)
    with pytest.raises(UsageError, match=r"needs fhir\.r4\.ukcore\.stu2 2\.0\.x; loaded versions: none"):
        Assessor(load_standard(SCR), core_only)


def test_context_must_be_for_the_standards_fhir_version(shared_settings: Settings) -> None:
    shared_packages_or_skip()
    stu3 = Context.build(shared_settings, FhirVersion.STU3)
    with pytest.raises(UsageError, match="is for FHIR R4, the packages loaded are for FHIR STU3"):
        Assessor(load_standard(SCR), stu3)


def test_profiles_must_exist_with_the_stated_type(shared_settings: Settings) -> None:
    shared_packages_or_skip()
    core = Context.build(shared_settings, FhirVersion.R4)
    base = {
        "format": 1, "id": "t", "title": "t", "publisher": "t", "fhir_version": "R4",
        "packages": [{"name": "hl7.fhir.r4.core", "version": "4.0.x"}],
    }  # fmt: skip
    missing = standard_from_dict({**base, "profiles": [{"url": "http://x.org/Nope", "type": "Patient"}]})
    with pytest.raises(UsageError, match=r"http://x\.org/Nope of the standard is not defined"):
        Assessor(missing, core)
    wrong = standard_from_dict(
        {
            **base,
            "profiles": [{"url": "http://hl7.org/fhir/StructureDefinition/vitalsigns", "type": "Patient"}],
        }
    )
    with pytest.raises(UsageError, match="constrains Observation, but the standard says Patient"):
        Assessor(wrong, core)


# --- the terminology source -----------------------------------------------------------------------


class _DescribedServer:
    """Only what a statement asks of a terminology service afterwards: what it was."""

    def describe(self) -> Described:
        snomed_uk = CodeSystemVersion(
            "http://snomed.info/sct", "http://snomed.info/sct/83821000000107/version/20240925"
        )
        return Described(
            kind="local+server",
            server="https://tx.example.org/fhir",
            software="Ontoserver 6.20",
            code_systems=(snomed_uk, CodeSystemVersion("http://loinc.org", "2.77")),
        )


def test_a_server_is_recorded_with_the_editions_that_answered() -> None:
    source = terminology_source_of(_DescribedServer())
    assert (source.kind, source.server) == ("server", "https://tx.example.org/fhir")
    assert source.editions == (
        "http://snomed.info/sct UK Edition, release 20240925",
        "http://loinc.org|2.77",
    )
    assert "Ontoserver 6.20" in source.description
    assert terminology_source_of(object()).kind == "offline"
