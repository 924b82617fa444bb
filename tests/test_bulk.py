"""Bulk input: folders, NDJSON lines and Bundles, in one process or in worker processes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from conformance.context import Context
from conformance.errors import InputError
from conformance.fhirversion import FhirVersion
from conformance.reports.payloads import Input, count_payloads, discover, payloads, payloads_of
from conformance.reports.runner import (
    ContextSpec,
    PayloadChecker,
    RunSpec,
    WorkerError,
    WorkerPool,
    location_path,
    validate_payloads,
)
from conformance.settings import Settings
from conformance.validation import Validator

REPO = Path(__file__).resolve().parents[1]
CI_PAYLOADS = REPO / "fixtures" / "ci" / "payloads"
TEST_PROFILES = REPO / "fixtures" / "validation" / "profiles"
PATIENT_PROFILE = "http://example.org/fhir/StructureDefinition/test-patient-cardinality"
OBSERVATION_PROFILE = "http://example.org/fhir/StructureDefinition/test-observation-fixed"


def _names(inputs: tuple[Input, ...]) -> list[str]:
    return [item.path.relative_to(CI_PAYLOADS).as_posix() for item in inputs]


# ---------------------------------------------------------------- finding payloads


def test_folders_are_searched_recursively_in_order_skipping_hidden_and_other_files() -> None:
    assert _names(discover([CI_PAYLOADS])) == [
        "collection.json",
        "patient-bad-date.json",
        "patient-valid.json",
        "nested/observation-no-status.xml",
        "nested/patients.ndjson",
    ]


def test_files_named_directly_are_taken_whatever_their_suffix(tmp_path: Path) -> None:
    odd = tmp_path / "payload.txt"
    odd.write_text('{"resourceType": "Patient"}')
    found = discover([odd, CI_PAYLOADS / "nested"])
    assert [(item.path.name, item.named) for item in found] == [
        ("payload.txt", True),
        ("observation-no-status.xml", False),
        ("patients.ndjson", False),
    ]


def test_a_missing_path_or_an_empty_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        discover([tmp_path / "absent.json"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("no payloads here")
    with pytest.raises(InputError, match="no payload files"):
        discover([tmp_path / "empty"])


def test_ndjson_lines_keep_their_numbers_and_blank_lines_are_skipped() -> None:
    found = list(payloads_of(Input(CI_PAYLOADS / "nested" / "patients.ndjson", named=False)))
    assert [p.line for p in found] == [1, 2, 4, 5]
    assert json.loads(found[0].data or b"")["id"] == "n1"
    assert count_payloads(discover([CI_PAYLOADS])) == 8


def test_crlf_and_a_missing_final_newline_are_fine(tmp_path: Path) -> None:
    file = tmp_path / "x.ndjson"
    file.write_bytes(b'{"resourceType":"Patient"}\r\n\r\n{"resourceType":"Basic"}')
    found = list(payloads_of(Input(file, named=True)))
    assert [(p.line, p.data) for p in found] == [
        (1, b'{"resourceType":"Patient"}'),
        (3, b'{"resourceType":"Basic"}'),
    ]


def test_an_overlong_line_is_cut_and_the_next_line_still_read(tmp_path: Path) -> None:
    file = tmp_path / "long.ndjson"
    file.write_bytes(b'{"a": "' + b"x" * 5000 + b'"}\n{"resourceType":"Patient"}\n')
    found = list(payloads_of(Input(file, named=True), limit=100))
    assert [p.line for p in found] == [1, 2]
    assert len(found[0].data or b"") == 101
    assert found[1].data == b'{"resourceType":"Patient"}'


def test_payloads_are_read_lazily(tmp_path: Path) -> None:
    file = tmp_path / "many.ndjson"
    file.write_text("\n".join('{"resourceType":"Basic"}' for _ in range(1000)))
    iterator = payloads([Input(file, named=True)])
    assert next(iterator).line == 1  # nothing forces the other 999 lines to be read


def test_locations_map_back_to_json_paths() -> None:
    assert location_path("Patient.name[0].given[1]") == ("name", 0, "given", 1)
    assert location_path("Bundle.entry[3].resource") == ("entry", 3, "resource")
    assert location_path("Patient") == ()


# ---------------------------------------------------------------- validating them


@pytest.fixture(scope="module")
def run_spec(shared_settings: Settings, r4_context: Context) -> RunSpec:
    spec = ContextSpec(shared_settings, FhirVersion.R4, extra_resources=(TEST_PROFILES,))
    return RunSpec.for_context(spec, r4_context, (PATIENT_PROFILE, OBSERVATION_PROFILE))


@pytest.fixture(scope="module")
def plain_spec(run_spec: RunSpec) -> RunSpec:
    """The same Context, no profiles: payloads are checked against their base definitions only."""
    return RunSpec(run_spec.context)


def test_profiles_apply_by_resource_type(run_spec: RunSpec, r4_validator: Validator) -> None:
    results = list(validate_payloads(payloads(discover([CI_PAYLOADS])), run_spec, validator=r4_validator))
    applied = {result.name: result.profiles for result in results}
    assert applied[
        "fixtures/ci/payloads/patient-valid.json".replace("fixtures/ci/payloads", str(CI_PAYLOADS))
    ] == (PATIENT_PROFILE,)
    xml_name = str(CI_PAYLOADS / "nested" / "observation-no-status.xml")
    assert applied[xml_name] == (OBSERVATION_PROFILE,)
    assert applied[str(CI_PAYLOADS / "collection.json")] == ()


def test_a_named_file_no_profile_fits_is_checked_against_all(
    run_spec: RunSpec, r4_validator: Validator
) -> None:
    only_patient = RunSpec(run_spec.context, run_spec.profiles[:1], run_spec.profile_types[:1])
    observation = discover([CI_PAYLOADS / "nested" / "observation-no-status.xml"])
    result = next(validate_payloads(payloads(observation), only_patient, validator=r4_validator))
    assert result.profiles == (PATIENT_PROFILE,)
    assert "profile.wrong-type" in {issue.message_id for issue in result.outcome.errors}


def test_ndjson_issues_are_placed_on_their_line(plain_spec: RunSpec, r4_validator: Validator) -> None:
    ndjson = discover([CI_PAYLOADS / "nested" / "patients.ndjson"])
    results = list(validate_payloads(payloads(ndjson), plain_spec, validator=r4_validator))
    assert [(r.line, r.valid) for r in results] == [(1, True), (2, False), (4, True), (5, False)]
    gender = next(i for i in results[1].outcome.errors if i.message_id == "binding.required.not-in-valueset")
    assert (gender.location, gender.line) == ("Patient.gender", 2)
    assert gender.column == 1 + (CI_PAYLOADS / "nested" / "patients.ndjson").read_text().splitlines()[
        1
    ].index('"nonsense"')
    assert [i.message_id for i in results[3].outcome.issues] == ["json.syntax"]
    assert results[3].outcome.issues[0].line == 5


def test_bundle_entries_are_checked_against_the_profiles_of_their_type(
    run_spec: RunSpec, r4_validator: Validator
) -> None:
    bundle = discover([CI_PAYLOADS / "collection.json"])
    result = next(validate_payloads(payloads(bundle), run_spec, validator=r4_validator))
    assert [(e.label, e.profiles) for e in result.entries] == [
        ("entry[0] Patient/in-bundle", (PATIENT_PROFILE,)),
        ("entry[1] Observation/obs-in-bundle", (OBSERVATION_PROFILE,)),
    ]
    from_profiles = [i for i in result.outcome.errors if (i.profile or "").startswith("http://example.org/")]
    assert from_profiles, "the entries break rules of the test profiles"
    assert all(
        i.location.startswith(("Bundle.entry[0].resource", "Bundle.entry[1].resource")) for i in from_profiles
    )
    source_lines = (CI_PAYLOADS / "collection.json").read_text().splitlines()
    for issue in from_profiles:
        assert issue.line is not None and 7 <= issue.line <= 13, (issue, source_lines)


@pytest.mark.parametrize(
    "line",
    [b"null", b"[]", b"42", b'"text"', b"\xff\xfe\x00garbage", b"{" * 300, b'{"resourceType": 7}'],
    ids=["null", "array", "number", "string", "not-utf8", "too-deep", "odd-type"],
)
def test_hostile_lines_are_issues_not_crashes(
    line: bytes, plain_spec: RunSpec, r4_validator: Validator, tmp_path: Path
) -> None:
    file = tmp_path / "hostile.ndjson"
    file.write_bytes(b'{"resourceType": "Patient"}\n' + line + b"\n")
    results = list(validate_payloads(payloads([Input(file, named=True)]), plain_spec, validator=r4_validator))
    assert [r.valid for r in results] == [True, False]
    assert all(issue.line == 2 for issue in results[1].outcome.issues if issue.line is not None)


def test_worker_processes_give_the_same_results_in_the_same_order(
    plain_spec: RunSpec, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"resourceType": "Patient", "id": f"p{n}", "gender": "x" if n % 5 == 0 else "male"})
        for n in range(150)
    ]
    file = tmp_path / "many.ndjson"
    file.write_text("\n".join(lines) + "\n")
    inputs = discover([file, CI_PAYLOADS])
    alone = list(validate_payloads(payloads(inputs), plain_spec, jobs=1))
    seen: list[str] = []
    together = list(
        validate_payloads(payloads(inputs), plain_spec, jobs=2, on_result=lambda r: seen.append(r.name))
    )
    assert [r.name for r in together] == [r.name for r in alone] == seen
    assert [r.outcome for r in together] == [r.outcome for r in alone]
    assert sum(not r.valid for r in together) == 30 + 5


def test_a_checker_works_on_any_validator(r4_validator: Validator, run_spec: RunSpec) -> None:
    checker = PayloadChecker(r4_validator, RunSpec(run_spec.context))
    (payload,) = payloads(discover([CI_PAYLOADS / "patient-bad-date.json"]))
    result = checker.check(payload)
    assert [(i.message_id, i.line, i.column) for i in result.outcome.errors] == [("type.date", 4, 16)]


def test_workers_also_start_when_a_thread_runs(plain_spec: RunSpec) -> None:
    # A running thread (a progress bar, say) rules out fork: the workers then start from a clean process.
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        inputs = discover([CI_PAYLOADS / "nested"])
        with WorkerPool(plain_spec, 2) as pool:
            results = list(validate_payloads(payloads(inputs), plain_spec, pool=pool))
    finally:
        stop.set()
        thread.join()
    assert [(r.name.rsplit("/", 1)[-1], r.valid) for r in results] == [
        ("observation-no-status.xml", False),
        ("patients.ndjson:1", True),
        ("patients.ndjson:2", False),
        ("patients.ndjson:4", True),
        ("patients.ndjson:5", False),
    ]


def test_a_pool_is_used_inside_its_block_only(plain_spec: RunSpec) -> None:
    pool = WorkerPool(plain_spec, 2)
    with pytest.raises(WorkerError, match="outside its with-block"):
        list(pool.validate([]))
