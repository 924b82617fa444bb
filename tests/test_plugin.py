"""The pytest plugin, exercised with pytest's own pytester: sample suites run in a fresh pytest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.outcome import Outcome
from conformance.settings import Settings
from conformance.testing import NonConformance, assert_conforms
from conformance.testing.assertions import validator_source
from conformance.validation import Validator

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
CI_PAYLOADS = REPO / "fixtures" / "ci" / "payloads"
TEST_PROFILES = REPO / "fixtures" / "validation" / "profiles"
CARDINALITY = "http://example.org/fhir/StructureDefinition/test-patient-cardinality"


@pytest.fixture
def sample(
    pytester: pytest.Pytester, shared_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A pytester whose runs find the shared packages offline and reuse the session's extracted packages."""
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(shared_settings.work_cache))
    monkeypatch.setenv("CONFORMANCE_PACKAGE_CACHE", str(pytester.path / "package-cache"))
    monkeypatch.delenv("CONFORMANCE_PACKAGE_PATH", raising=False)
    return pytester


def _options(shared_settings: Settings) -> list[str]:
    return [
        "-p",
        "no:cacheprovider",
        f"--fhir-package-path={shared_settings.package_path[0]}",
        "--fhir-offline",
    ]


def test_the_plugin_is_inert_when_its_options_are_not_used(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_nothing_of_the_validator_is_loaded(pytestconfig):
            assert pytestconfig.pluginmanager.hasplugin("fhir-conformance")
            loaded = [name for name in sys.modules if name.startswith("conformance.")]
            assert "conformance.validation" not in loaded
            assert "conformance.context" not in loaded
            assert "conformance.packages" not in loaded
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


SAMPLE_SUITE = """
import pytest
from conformance.testing import NonConformance, assert_conforms

PAYLOAD = b'{"resourceType": "Patient",\\n "birthDate": "1970-02-30"}'
SEEN = []


def test_fixtures_first(fhir_context, fhir_validator):
    assert fhir_validator.context is fhir_context
    SEEN.append(fhir_validator)
    assert fhir_validator.validate({"resourceType": "Patient"}).valid


def test_fixtures_second(fhir_validator):
    assert SEEN == [fhir_validator]  # one Validator for the session
    assert not fhir_validator.validate({"resourceType": "Patient", "gender": "x"}).valid


def test_conforming_passes():
    assert assert_conforms({"resourceType": "Patient", "id": "ok"}).valid


def test_the_outcome_travels_with_the_failure():
    with pytest.raises(NonConformance) as caught:
        assert_conforms(PAYLOAD)
    assert [i.message_id for i in caught.value.outcome.errors] == ["type.date"]


def test_allowed_issues_do_not_fail():
    assert_conforms(PAYLOAD, allow=["type.date@Patient.birthDate"])


def test_bad_date_fails():
    assert_conforms(PAYLOAD)


@pytest.mark.fhir_profile("PROFILE")
def test_marked_fails_against_its_profile():
    assert_conforms({"resourceType": "Patient", "id": "p1"})


def test_unmarked_passes():
    assert_conforms({"resourceType": "Patient", "id": "p1"})
""".replace("PROFILE", CARDINALITY)


def test_a_sample_suite_with_fixtures_assertions_marker_and_payloads(
    sample: pytest.Pytester, shared_settings: Settings
) -> None:
    sample.makepyfile(test_sample=SAMPLE_SUITE)
    shutil.copytree(CI_PAYLOADS, sample.path / "payloads")
    result = sample.runpytest(
        *_options(shared_settings),
        f"--fhir-extra-resources={TEST_PROFILES}",
        "--fhir-payloads=payloads",
        "--strict-markers",
        "-rf",
    )
    # the sample suite: 6 pass, 2 fail; the payloads: 3 pass, 5 fail
    result.assert_outcomes(passed=9, failed=7)
    result.stdout.fnmatch_lines_random(
        [
            # assert_conforms: a one-line verdict, then the issue with location, line and column, message id
            "*payload does not conform to its base definition and meta.profile: 1 error, 0 warnings*",
            "*error*Patient.birthDate  line 2, column 15  [[]type.date[]]*Not a valid date*",
            # the marker's profile applies
            f"*Patient/p1 does not conform to {CARDINALITY}*",
            "*[[]cardinality.min[]]*",
            "*rule: element Patient.*",
            # payload tests, named by file and NDJSON line, failing with the same kind of report
            "*payloads/patient-bad-date.json does not conform*",
            "*Patient.birthDate  line 4, column 16  [[]type.date[]]*",
            "FAILED test_sample.py::test_bad_date_fails*",
            "FAILED test_sample.py::test_marked_fails_against_its_profile*",
            "FAILED payloads/patient-bad-date.json::patient-bad-date.json*",
            "FAILED payloads/nested/patients.ndjson::line 2*",
            "FAILED payloads/nested/patients.ndjson::line 5*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "def assert_conforms" not in result.stdout.str()  # the helper's own frame is hidden


def test_payload_tests_can_be_selected_and_their_issues_allowed(
    sample: pytest.Pytester, shared_settings: Settings
) -> None:
    shutil.copytree(CI_PAYLOADS, sample.path / "payloads")
    options = ("--fhir-payloads=payloads", "--fhir-allow=type.date", "--fhir-allow=json.syntax")
    result = sample.runpytest(*_options(shared_settings), *options, "-k", "bad-date or ndjson")
    # selected: bad-date (allowed now) and the four NDJSON lines, of which line 5 is allowed too
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["FAILED payloads/nested/patients.ndjson::line 2*"])


def test_options_can_come_from_the_ini_file(sample: pytest.Pytester, shared_settings: Settings) -> None:
    shutil.copytree(TEST_PROFILES, sample.path / "profiles")
    shutil.copytree(CI_PAYLOADS / "nested", sample.path / "payloads")
    sample.makeini(
        f"""
        [pytest]
        fhir_version = 4.0.1
        fhir_package_path = {shared_settings.package_path[0]}
        fhir_offline = true
        fhir_payloads = payloads
        """
    )
    sample.makepyfile(
        test_ini="def test_it(fhir_validator):\n    assert fhir_validator.fhir_version.label == 'R4'\n"
    )
    result = sample.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=3)


def test_packages_that_cannot_be_loaded_fail_the_test_in_one_line(
    sample: pytest.Pytester, shared_settings: Settings
) -> None:
    sample.makepyfile(test_broken="def test_it(fhir_validator):\n    pass\n")
    result = sample.runpytest(*_options(shared_settings), "--fhir-ig", "no.such.package#1.0.0")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fhir-conformance could not load its packages*no.such.package*"])
    assert "Traceback" not in result.stdout.str()


def test_a_missing_payload_folder_is_a_usage_error(
    sample: pytest.Pytester, shared_settings: Settings
) -> None:
    result = sample.runpytest(*_options(shared_settings), "--fhir-payloads", "no-such-folder")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--fhir-payloads: payload file not found: no-such-folder*"])


# ---------------------------------------------------------------- assert_conforms as a library call


def test_without_plugin_or_validator_assert_conforms_says_what_to_do() -> None:
    with validator_source(None), pytest.raises(UsageError, match="needs a validator"):
        assert_conforms({"resourceType": "Patient"})


def test_the_failure_is_an_assertion_error_with_the_outcome(r4_validator: Validator) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_conforms({"resourceType": "Patient", "id": "p1"}, CARDINALITY, validator=r4_validator)
    failure = caught.value
    assert isinstance(failure, NonConformance) and isinstance(failure.outcome, Outcome)
    text = str(failure)
    assert text.splitlines()[0].startswith(f"Patient/p1 does not conform to {CARDINALITY}: ")
    assert "[cardinality.min]" in text and "rule: element Patient." in text


def test_strict_fails_on_warnings_and_allow_forgives_them(r4_validator: Validator) -> None:
    patient = {"resourceType": "Patient", "id": "p1"}  # dom-6: no narrative, a warning
    assert_conforms(patient, validator=r4_validator)
    with pytest.raises(NonConformance, match="dom-6"):
        assert_conforms(patient, validator=r4_validator, strict=True)
    assert_conforms(patient, validator=r4_validator, strict=True, allow="invariant.failed@Patient")


@pytest.mark.parametrize("entry", ["", "@Patient.name", "  "])
def test_an_allow_entry_without_message_id_is_a_usage_error(entry: str, r4_validator: Validator) -> None:
    with pytest.raises(UsageError, match="no message id"):
        assert_conforms({"resourceType": "Patient"}, validator=r4_validator, allow=[entry])


def test_allowances_cover_locations_below_them_only(r4_validator: Validator) -> None:
    payload = {"resourceType": "Patient", "name": [{"given": ["a"]}], "gender": "x"}
    found = {issue.message_id for issue in r4_validator.validate(payload).errors}
    assert found, "a code outside the gender value set is an error"
    with pytest.raises(NonConformance) as caught:
        assert_conforms(payload, validator=r4_validator, allow=[f"{i}@Patient.gend" for i in found])
    assert "Patient.gender" in str(caught.value)
    assert_conforms(payload, validator=r4_validator, allow=[f"{i}@Patient.gender" for i in found])
    assert_conforms(payload, validator=r4_validator, allow=sorted(found))
