"""Verifying statements: every check, each way it fails, and the UK Core examples as a pretend supplier."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance.settings import Settings
from conformance.statements import (
    Statement,
    Verification,
    load_private_key,
    load_public_key,
    sign,
    verify_statement,
    write_key_pair,
    write_statement,
)
from statements_support import (
    DRAFT_STANDARD,
    INVALID,
    UKCORE_EXAMPLES,
    UKCORE_PROFILE_MAP,
    VALID,
    assess,
    load_json,
    with_test_packages,
)

pytestmark = pytest.mark.shared


def _statuses(verification: Verification) -> dict[str, str]:
    return {check.name: check.status for check in verification.checks}


def _detail(verification: Verification, name: str) -> str:
    return next(check.detail for check in verification.checks if check.name == name)


@pytest.fixture
def supplier(tmp_path: Path, shared_settings: Settings) -> tuple[Path, Path, Path]:
    """A signed statement on a copy of the sample payloads: (statement, payload folder, public key)."""
    payloads = tmp_path / "submitted"
    shutil.copytree(VALID, payloads / "valid")
    shutil.copytree(INVALID, payloads / "invalid")
    public = write_key_pair(tmp_path / "signer")
    statement = assess("shared-care-record", shared_settings, payloads)
    path = tmp_path / "statement.json"
    write_statement(sign(statement, load_private_key(tmp_path / "signer")), path)
    return path, payloads, public


def _verify(path: Path, payloads: Path | None, public: Path | None, settings: Settings) -> Verification:
    key = load_public_key(public) if public is not None else None
    return verify_statement(path, public_key=key, payloads=payloads, settings=settings)


def test_an_untouched_statement_verifies(
    supplier: tuple[Path, Path, Path], shared_settings: Settings
) -> None:
    path, payloads, public = supplier
    verification = _verify(path, payloads, public, shared_settings)
    assert set(_statuses(verification).values()) == {"pass"}
    assert list(_statuses(verification)) == ["schema", "signature", "payload set", "payloads", "reproduction"]
    assert verification.ok


def test_payloads_may_be_renamed_and_moved(
    supplier: tuple[Path, Path, Path], shared_settings: Settings, tmp_path: Path
) -> None:
    path, payloads, public = supplier
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for number, file in enumerate(sorted(payloads.rglob("*.json"))):
        shutil.copy(file, moved / f"{number}.json")
    (moved / "unrelated.json").write_text('{"resourceType": "Basic"}')
    verification = _verify(path, moved, public, shared_settings)
    assert verification.ok, verification.checks
    assert "1 other file(s) there are not part of the statement" in _detail(verification, "payloads")


def test_a_tampered_payload_fails(supplier: tuple[Path, Path, Path], shared_settings: Settings) -> None:
    path, payloads, public = supplier
    patient = payloads / "invalid" / "patient-bad-gender.json"
    patient.write_text(patient.read_text().replace('"M"', '"male"'))
    verification = _verify(path, payloads, public, shared_settings)
    assert not verification.ok
    assert _statuses(verification)["payloads"] == "fail"
    assert _detail(verification, "payloads") == (
        f"1 payload(s) not found in {payloads} with the digest recorded (changed or missing): "
        "submitted/invalid/patient-bad-gender.json"
    )
    assert _statuses(verification)["reproduction"] == "skipped"


def test_a_tampered_statement_fails(supplier: tuple[Path, Path, Path], shared_settings: Settings) -> None:
    path, payloads, public = supplier
    data = load_json(path)
    data["results"]["verdict"] = "conformant"
    path.write_text(json.dumps(data))
    verification = _verify(path, payloads, public, shared_settings)
    assert not verification.ok
    assert _statuses(verification)["signature"] == "fail"
    assert "the statement was changed after signing" in _detail(verification, "signature")
    # Without the signature, re-running the assessment still catches it.
    del data["signature"]
    data["signature"] = None
    path.write_text(json.dumps(data))
    unsigned = _verify(path, payloads, None, shared_settings)
    assert _statuses(unsigned)["signature"] == "skipped"
    assert _statuses(unsigned)["reproduction"] == "fail"
    assert "results.verdict: 'conformant' then, 'non-conformant' now" in _detail(unsigned, "reproduction")


def test_a_wrong_key_fails(
    supplier: tuple[Path, Path, Path], shared_settings: Settings, tmp_path: Path
) -> None:
    path, payloads, _ = supplier
    other = write_key_pair(tmp_path / "someone-else")
    verification = _verify(path, payloads, other, shared_settings)
    assert not verification.ok and _statuses(verification)["signature"] == "fail"
    assert "not with the given key" in _detail(verification, "signature")


def test_a_schema_invalid_statement_fails_first(
    supplier: tuple[Path, Path, Path], shared_settings: Settings
) -> None:
    path, payloads, public = supplier
    data = load_json(path)
    data["subject"]["payload_count"] = "eleven"
    path.write_text(json.dumps(data))
    verification = _verify(path, payloads, public, shared_settings)
    assert [(c.name, c.status) for c in verification.checks] == [("schema", "fail")]
    assert "at subject.payload_count: 'eleven' is not of type 'integer'" in verification.checks[0].detail


def test_an_inconsistent_payload_set_digest_fails(
    supplier: tuple[Path, Path, Path], shared_settings: Settings
) -> None:
    path, payloads, _ = supplier
    data = load_json(path)
    data["signature"] = None
    data["evidence"]["payloads"].pop()
    path.write_text(json.dumps(data))
    verification = _verify(path, payloads, None, shared_settings)
    assert _statuses(verification)["payload set"] == "fail"


def test_without_payloads_only_the_statement_is_checked(
    supplier: tuple[Path, Path, Path], shared_settings: Settings
) -> None:
    path, _, public = supplier
    verification = _verify(path, None, public, shared_settings)
    assert verification.ok
    assert _statuses(verification) == {
        "schema": "pass", "signature": "pass", "payload set": "pass", "payloads": "skipped",
        "reproduction": "skipped",
    }  # fmt: skip


def test_different_package_contents_do_not_reproduce(shared_settings: Settings, tmp_path: Path) -> None:
    packages = tmp_path / "packages"
    shutil.copytree(DRAFT_STANDARD.parents[1] / "packages", packages)
    settings = shared_settings.with_options(package_path=(packages,))
    statement = assess(DRAFT_STANDARD.as_posix(), shared_settings, VALID / "patient-jane-doe.json")
    path = tmp_path / "statement.json"
    write_statement(statement, path)
    assert verify_statement(path, payloads=VALID, settings=settings).ok
    definition = packages / "example.draft#0.1.0" / "package" / "StructureDefinition-DraftPatient.json"
    data: dict[str, Any] = load_json(definition)
    data["differential"]["element"][1]["max"] = "0"  # now a birthDate is forbidden
    definition.write_text(json.dumps(data))
    verification = verify_statement(path, payloads=VALID, settings=settings)
    assert _statuses(verification)["reproduction"] == "fail"
    detail = _detail(verification, "reproduction")
    assert "standard.packages" in detail and "sha256" in detail and "results.verdict" in detail


def test_reproduction_needs_the_packages(supplier: tuple[Path, Path, Path], tmp_path: Path) -> None:
    path, payloads, _ = supplier
    empty = Settings(
        package_path=(tmp_path,), package_cache=tmp_path / "c", work_cache=tmp_path / "w", offline=True
    )
    verification = verify_statement(path, payloads=payloads, settings=empty)
    assert _statuses(verification)["reproduction"] == "fail"
    assert "could not re-run the assessment" in _detail(verification, "reproduction")


# --- the UK Core examples as a pretend supplier ---------------------------------------------------


@pytest.fixture(scope="module")
def ukcore_statement(
    shared_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Statement, Path]:
    if not UKCORE_EXAMPLES.is_dir():
        pytest.skip(f"needs the UK Core examples at {UKCORE_EXAMPLES}")
    statement = assess("uk-core-stu2", shared_settings, UKCORE_EXAMPLES)
    path = tmp_path_factory.mktemp("ukcore") / "statement.json"
    write_statement(statement, path)
    return statement, path


def _expected_profiles() -> set[str]:
    """Every profile that some example is an example of (the map beside the examples says which)."""
    mapped: dict[str, str | None] = load_json(UKCORE_PROFILE_MAP)
    return {url for url in mapped.values() if url}


def test_every_profile_with_examples_is_tested(ukcore_statement: tuple[Statement, Path]) -> None:
    # The examples carry no meta.profile: each is assessed against its type's default profile and against
    # the more specific profiles of its type that it satisfies (the Lab examples reach the Lab profiles).
    statement, _ = ukcore_statement
    tested = {result.url for result in statement.results.profiles if result.tested}
    assert _expected_profiles() <= tested
    assert statement.subject.payload_count == 140
    assert [(o.resource_type, o.count) for o in statement.results.out_of_scope] == [("BodyStructure", 1)]


def test_the_uk_core_statement_reproduces(
    ukcore_statement: tuple[Statement, Path], shared_settings: Settings
) -> None:
    _, path = ukcore_statement
    verification = verify_statement(
        path, payloads=UKCORE_EXAMPLES, settings=with_test_packages(shared_settings)
    )
    assert verification.ok, verification.checks
    assert _statuses(verification)["reproduction"] == "pass"
