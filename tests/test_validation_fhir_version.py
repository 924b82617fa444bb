"""A profile declared for another FHIR version is validated against, with a warning (as by the HL7 validator).

Refusing it (the engine once stopped with "is FHIR 3.0.1, not R4") loses every rule it carries; using it
and saying so on the resource keeps them, and the user sees why an issue may look odd.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator

REPO = Path(__file__).resolve().parents[1]
SHARED_PACKAGES = REPO.parent / "shared" / "fhir-packages"
URL = "http://example.org/fhir/StructureDefinition/stu3-labelled-patient"


def _profile(fhir_version: str) -> dict[str, Any]:
    """A differential-only Patient profile requiring a name, declared for `fhir_version`."""
    return {
        "resourceType": "StructureDefinition",
        "url": URL,
        "name": "Stu3LabelledPatient",
        "status": "draft",
        "fhirVersion": fhir_version,
        "kind": "resource",
        "abstract": False,
        "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "derivation": "constraint",
        "differential": {"element": [{"id": "Patient.name", "path": "Patient.name", "min": 1}]},
    }


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "male"}


def _findings(validator: Validator) -> list[str]:
    outcome = validator.validate(PATIENT, profiles=[URL])
    return sorted(
        f"{issue.severity.value} {issue.message_id} @ {issue.location}"
        for issue in outcome.issues
        if issue.message_id in ("profile.other-fhir-version", "cardinality.min", "profile.unknown")
    )


@pytest.mark.shared
def test_a_profile_for_stu3_is_used_in_an_r4_context_with_a_warning(shared_settings: Settings) -> None:
    validator = Validator(Context.build(shared_settings, FhirVersion.R4, extra_resources=[_profile("3.0.1")]))
    assert _findings(validator) == [
        "error cardinality.min @ Patient",  # the profile's rule still applies
        "warning profile.other-fhir-version @ Patient",
    ]


@pytest.mark.shared
def test_a_profile_for_the_context_version_gets_no_version_warning(shared_settings: Settings) -> None:
    validator = Validator(Context.build(shared_settings, FhirVersion.R4, extra_resources=[_profile("4.0.1")]))
    assert _findings(validator) == ["error cardinality.min @ Patient"]


@pytest.mark.shared
def test_the_cli_validates_against_a_profile_of_another_version(tmp_path: Path) -> None:
    if not (SHARED_PACKAGES / "hl7.fhir.r4.core#4.0.1.tgz").is_file():
        pytest.skip(f"needs the shared FHIR packages at {SHARED_PACKAGES}")
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(_profile("3.0.1")))
    payload = tmp_path / "patient.json"
    payload.write_text(json.dumps(PATIENT))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CONFORMANCE_CACHE_DIR": str(tmp_path / "cache"),
        "CONFORMANCE_PACKAGE_CACHE": str(tmp_path / "packages"),
        "CONFORMANCE_OFFLINE": "1",
    }
    argv = [
        *(sys.executable, "-m", "conformance", "validate", "--package-path", str(SHARED_PACKAGES)),
        *("--extra-resources", str(profile), "--profile", URL, "--format", "json", str(payload)),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False, timeout=300)
    assert result.returncode == 1, result.stderr  # invalid by the profile's rule, not refused (exit 2)
    issues = json.loads(result.stdout)["issue"]
    texts = [(issue["severity"], issue["details"]["text"]) for issue in issues]
    assert any(severity == "warning" and "3.0.1" in text for severity, text in texts), texts
    assert any(
        severity == "error" and "Patient.name: minimum required = 1" in text for severity, text in texts
    )
