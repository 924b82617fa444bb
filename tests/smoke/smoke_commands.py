"""The installed `conformance` command on real packages: validate (R4 and STU3), sample, assess, sign,
verify and compare. Needs the FHIR packages (skipped, with the reason, without them)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from installed_support import PAYLOADS, UK_CORE, UK_CORE_PATIENT, Runner, shown

CARE_CONNECT = "careconnect.stu3#1.0.0"
CARE_CONNECT_PATIENT = "https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Patient-1"
EXIT_OK, EXIT_FAILED = 0, 1


def _payload_lines(output: str) -> dict[str, str]:
    """The payload name and its verdict line (`valid: ...` / `INVALID: ...`) of validate's text output."""
    lines = {}
    for line in output.splitlines():
        name, _, verdict = line.partition("  ")
        if name.endswith(".json") and not line.startswith(" "):
            lines[Path(name).name] = verdict
    return lines


def test_validate_reports_a_wrong_nhs_number_against_uk_core(
    run_conformance: Runner, package_path: Path
) -> None:
    result = run_conformance(
        "validate", "--package-path", package_path, "--ig", UK_CORE, "--profile", UK_CORE_PATIENT,
        PAYLOADS / "uk-core" / "patient-wrong-nhs-number.json",
    )  # fmt: skip
    assert result.returncode == EXIT_FAILED, shown(result)
    assert "Patient.identifier[0].value" in result.stdout, shown(result)
    assert "[identifier.nhs-number.check-digit]" in result.stdout, shown(result)


def test_validate_passes_a_correct_uk_core_patient(run_conformance: Runner, package_path: Path) -> None:
    result = run_conformance(
        "validate", "--package-path", package_path, "--ig", UK_CORE, "--profile", UK_CORE_PATIENT,
        "--format", "json", PAYLOADS / "uk-core" / "patient.json",
    )  # fmt: skip
    assert result.returncode == EXIT_OK, shown(result)
    outcome = json.loads(result.stdout)
    assert outcome["resourceType"] == "OperationOutcome"
    assert not [i for i in outcome["issue"] if i["severity"] in {"fatal", "error"}], result.stdout


def test_validate_checks_care_connect_stu3(run_conformance: Runner, package_path: Path) -> None:
    result = run_conformance(
        "validate", "--fhir-version", "3.0", "--package-path", package_path, "--ig", CARE_CONNECT,
        "--profile", CARE_CONNECT_PATIENT, PAYLOADS / "care-connect",
    )  # fmt: skip
    assert result.returncode == EXIT_FAILED, shown(result)
    verdicts = _payload_lines(result.stdout)
    assert verdicts["patient.json"].startswith("valid:"), shown(result)
    assert verdicts["patient-bad-gender.json"].startswith("INVALID:"), shown(result)
    assert "Patient.gender" in result.stdout and "[binding.required.not-in-valueset]" in result.stdout


def test_sample_assesses_the_payloads_shipped_with_the_package(
    run_conformance: Runner, package_path: Path, tmp_path: Path
) -> None:
    result = run_conformance("sample", "--package-path", package_path, "--out-dir", "out")
    assert result.returncode == EXIT_OK, shown(result)
    statement = json.loads((tmp_path / "out" / "sample-statement.json").read_text(encoding="utf-8"))
    assert statement["results"]["verdict"] == "non-conformant"  # the sample has invalid payloads on purpose
    assert "<html" in (tmp_path / "out" / "sample-statement.html").read_text(encoding="utf-8").lower()


def _assess(run_conformance: Runner, package_path: Path, supplier: str, *rest: str | Path) -> int:
    result = run_conformance(
        "assess", "--standard", "uk-core-stu2", "--supplier", supplier, "--product", f"{supplier} EPR",
        "--product-version", "1.0", "--offline", "--package-path", package_path, *rest,
    )  # fmt: skip
    assert result.returncode in {EXIT_OK, EXIT_FAILED}, shown(result)
    return result.returncode


def test_assess_sign_verify_and_compare(run_conformance: Runner, package_path: Path, tmp_path: Path) -> None:
    payloads = tmp_path / "payloads"
    shutil.copytree(PAYLOADS / "uk-core", payloads)
    keygen = run_conformance("keygen", "--out", "supplier.key")
    assert keygen.returncode == EXIT_OK, shown(keygen)

    # One invalid payload in the set: the statement is written and its verdict is "non-conformant".
    signed = ("--sign", "supplier.key", "--out", "acme.json", payloads)
    assert _assess(run_conformance, package_path, "Acme", *signed) == EXIT_FAILED
    assert (
        _assess(run_conformance, package_path, "Other", "--out", "other.json", payloads / "patient.json") == 0
    )

    verify = ("verify", "acme.json", "--payloads", payloads, "--public-key", "supplier.key.pub")
    verified = run_conformance(*verify, "--package-path", package_path, "--offline")
    assert verified.returncode == EXIT_OK and "verified: acme.json" in verified.stdout, shown(verified)

    compared = run_conformance("compare", "--format", "markdown", "acme.json", "other.json")
    assert compared.returncode == EXIT_OK, shown(compared)
    assert "Acme EPR 1.0" in compared.stdout and "Other EPR 1.0" in compared.stdout, shown(compared)

    # A payload changed after signing is caught.
    (payloads / "patient.json").write_text('{"resourceType": "Patient", "gender": "other"}', encoding="utf-8")
    tampered = run_conformance(*verify, "--package-path", package_path, "--offline")
    assert tampered.returncode == EXIT_FAILED and "NOT verified" in tampered.stdout, shown(tampered)
