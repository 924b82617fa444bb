"""The installed pytest plugin: `assert_conforms` in a small project of a user's own, configured in its
pytest.ini. Needs the FHIR packages (skipped, with the reason, without them)."""

from __future__ import annotations

import shutil
from pathlib import Path

from installed_support import PAYLOADS, Runner, shown

PROJECT_INI = """\
[pytest]
fhir_package_path = {packages}
fhir_igs = fhir.r4.ukcore.stu2#2.0.2
fhir_offline = true
"""

PROJECT_TESTS = """\
from pathlib import Path

import pytest

from conformance.testing import assert_conforms

PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"


def test_our_patient_conforms():
    assert_conforms(Path("patient.json"), PATIENT)


@pytest.mark.fhir_profile(PATIENT)
def test_our_other_patient_conforms():
    assert_conforms(Path("patient-wrong-nhs-number.json"))
"""


def test_assert_conforms_in_a_users_pytest_project(
    run_python: Runner, package_path: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text(PROJECT_INI.format(packages=package_path), encoding="utf-8")
    (project / "test_payloads.py").write_text(PROJECT_TESTS, encoding="utf-8")
    for name in ("patient.json", "patient-wrong-nhs-number.json"):
        shutil.copy(PAYLOADS / "uk-core" / name, project / name)

    result = run_python("-m", "pytest", "-p", "no:cacheprovider", "-q", cwd=project)

    # The plugin came in through its entry point: nothing in the project loads it.
    assert result.returncode == 1, shown(result)
    assert "1 failed, 1 passed" in result.stdout, shown(result)
    assert "FAILED test_payloads.py::test_our_other_patient_conforms" in result.stdout, shown(result)
    assert "identifier.nhs-number.check-digit" in result.stdout, shown(result)
