"""`conformance assess`, `verify`, `compare`, `keygen` and `sample` through the command-line entry point."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.settings import ENV_OFFLINE, ENV_PACKAGE_PATH, ENV_WORK_CACHE, Settings
from conformance.statements import read_statement
from statements_support import FIXTURES, INVALID, TEST_PACKAGES, VALID, load_json, shared_packages_or_skip

pytestmark = pytest.mark.shared


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, shared_settings: Settings, tmp_path: Path) -> list[str]:
    """A clean environment (the session's work cache, no package path, no terminology server) in tmp_path;
    returns the package options every command gets."""
    for name in list(os.environ):
        if name.startswith("CONFORMANCE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv(ENV_WORK_CACHE, str(shared_settings.work_cache))
    monkeypatch.setenv("CONFORMANCE_PACKAGE_CACHE", str(tmp_path / "package-cache"))
    monkeypatch.chdir(tmp_path)
    return [
        "--package-path",
        str(shared_packages_or_skip()),
        "--package-path",
        str(TEST_PACKAGES),
        "--offline",
    ]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assess(capsys: pytest.CaptureFixture[str], options: list[str], *extra: str) -> tuple[int, str, str]:
    return _run(
        capsys, "assess", "--standard", "shared-care-record", "--supplier", "Riverside",
        "--product", "Riverside EPR", "--product-version", "3.1", *options, *extra,
    )  # fmt: skip


def test_keygen_assess_sign_and_verify(
    env: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(capsys, "keygen", "--out", "signer")
    assert (code, err) == (0, "")
    assert "public key:  signer.pub" in out and "key id:      sha256:" in out
    assert stat.S_IMODE(Path("signer").stat().st_mode) == 0o600
    payloads = tmp_path / "submitted"
    shutil.copytree(VALID, payloads)
    code, out, err = _assess(
        capsys, env, "--sign", "signer", "--out", "statement.json", "--html", "statement.html",
        "--markdown", "statement.md", "--fhir", "reports.json", str(payloads),
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert "Conformant: 8 profile(s) tested, all conformant" in out
    for name in ("statement.json", "statement.html", "statement.md", "reports.json"):
        assert f"wrote {name}" in out and Path(name).is_file()
    statement = read_statement(Path("statement.json"))
    assert statement.signature is not None
    assert statement.provenance.command.startswith(
        "conformance assess --standard shared-care-record --supplier Riverside --product 'Riverside EPR' "
        "--product-version 3.1 --package-path "
    )
    assert statement.provenance.command.endswith(f"--fhir reports.json {payloads}")
    assert load_json(Path("reports.json"))["resourceType"] == "Bundle"

    code, out, err = _run(
        capsys, "verify", "statement.json", "--payloads", str(payloads), "--public-key", "signer.pub", *env
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "verified: statement.json"
    assert "pass    reproduction" in out


def test_verify_fails_on_a_tampered_payload_and_a_wrong_key(
    env: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    payloads = tmp_path / "submitted"
    shutil.copytree(VALID, payloads)
    _run(capsys, "keygen", "--out", "signer")
    _run(capsys, "keygen", "--out", "stranger")
    assert _assess(capsys, env, "--sign", "signer", "--out", "statement.json", str(payloads))[0] == 0

    code, out, _ = _run(capsys, "verify", "statement.json", "--public-key", "stranger.pub", *env)
    assert code == 1 and "fail    signature: signed with key sha256:" in out and "NOT verified" in out

    weight = payloads / "observation-body-weight.json"
    weight.write_text(weight.read_text().replace('"value": 68', '"value": 86'))
    code, out, _ = _run(
        capsys, "verify", "statement.json", "--payloads", str(payloads), "--public-key", "signer.pub", *env
    )
    assert code == 1
    assert (
        "fail    payloads: 1 payload(s) not found" in out and "submitted/observation-body-weight.json" in out
    )


def test_verify_fails_on_a_tampered_or_schema_invalid_statement(
    env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "keygen", "--out", "signer")
    assert _assess(capsys, env, "--sign", "signer", "--out", "statement.json", str(VALID))[0] == 0
    data = load_json(Path("statement.json"))
    data["subject"]["supplier"] = "Someone Else"
    Path("tampered.json").write_text(json.dumps(data))
    code, out, _ = _run(capsys, "verify", "tampered.json", "--public-key", "signer.pub", *env)
    assert code == 1 and "the statement was changed after signing" in out

    data["results"]["verdict"] = "excellent"
    Path("invalid.json").write_text(json.dumps(data))
    code, out, _ = _run(capsys, "verify", "invalid.json", *env)
    assert code == 1
    assert "fail    schema: invalid.json: does not match the statement schema at results.verdict" in out

    code, out, err = _run(capsys, "verify", "absent.json", *env)
    assert (code, out) == (2, "") and err == "conformance: error: statement not found: absent.json\n"


def test_assess_exits_1_when_not_conformant_but_writes_the_statement(
    env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _assess(capsys, env, "--out", "statement.json", str(VALID), str(INVALID))
    assert (code, err) == (1, "")
    assert "Not conformant" in out
    assert read_statement(Path("statement.json")).results.verdict == "non-conformant"


def test_assess_records_suppressions(env: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    suppressions = FIXTURES / "suppressions.toml"
    argv = ("--suppressions", str(suppressions), "--fhir-version", "R4", "--out", "s.json", str(VALID))
    code, _, err = _assess(capsys, env, *argv)
    assert (code, err) == (0, "")
    (rule,) = read_statement(Path("s.json")).environment.suppressions
    assert (rule.message_id, rule.constraint) == ("invariant.failed", "dom-6")
    assert rule.rationale.startswith("Narrative is generated by the shared care record")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--standard", "nope"), "unknown standard 'nope'"),
        (("--extra-resources", "x.json"), "assess takes no --extra-resources"),
        (("--fhir-version", "3.0"), "standard shared-care-record is for FHIR R4, not 3.0"),
        (("--fhir-version", "5.0"), "unknown FHIR version '5.0'"),
    ],
)
def test_assess_usage_errors(
    env: list[str], capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = _assess(capsys, env, "--out", "s.json", *argv, str(VALID))
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1
    assert not Path("s.json").exists()


def test_assess_missing_payload_and_missing_options(
    env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _assess(capsys, env, "--out", "s.json", "absent")
    assert code == 2 and "payload file or folder not found: absent" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["assess", "--standard", "uk-core-stu2", "payload.json"])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --supplier" in capsys.readouterr().err


def test_keygen_does_not_overwrite(env: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "keygen", "--out", "k")[0] == 0
    code, _, err = _run(capsys, "keygen", "--out", "k")
    assert code == 2 and "k exists" in err
    assert _run(capsys, "keygen", "--out", "k", "--force")[0] == 0


def test_compare_prints_suppliers_side_by_side(env: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _assess(capsys, env, "--out", "a.json", str(VALID))[0] == 0
    assert _assess(capsys, env, "--out", "b.json", str(VALID), str(INVALID))[0] == 1
    code, out, err = _run(capsys, "compare", "a.json", "b.json")
    assert (code, err) == (0, "")
    assert "OVERALL" in out and "Conformant (8/8)" in out and "Not conformant" in out
    code, out, _ = _run(capsys, "compare", "a.json", "b.json", "--format", "html", "--out", "c.html")
    assert code == 0 and out == "" and '<table id="comparison">' in Path("c.html").read_text()
    code, out, _ = _run(capsys, "compare", "--format", "markdown", "a.json")
    assert code == 0 and out.startswith("# Shared care record feed")


def test_compare_refuses_other_standards_and_broken_statements(
    env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _assess(capsys, env, "--out", "a.json", str(VALID))[0] == 0
    uk = ["--standard", "uk-core-stu2", "--supplier", "X", "--product", "Y", "--product-version", "1"]
    assert _run(capsys, "assess", *uk, *env, "--out", "u.json", str(VALID))[0] == 0
    code, out, err = _run(capsys, "compare", "a.json", "u.json")
    assert code == 2 and out == "" and "statements are for different standards" in err
    Path("broken.json").write_text("{}")
    code, _, err = _run(capsys, "compare", "a.json", "broken.json")
    assert code == 2 and "broken.json: does not match the statement schema" in err


def test_sample_writes_the_statement_and_its_page(
    env: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_PACKAGE_PATH, str(shared_packages_or_skip()))
    monkeypatch.setenv(ENV_OFFLINE, "1")
    code, out, err = _run(capsys, "sample")
    assert (code, err) == (0, "")
    assert "wrote out/sample-statement.json" in out and "wrote out/sample-statement.html" in out
    statement = read_statement(Path("out/sample-statement.json"))
    assert statement.standard.id == "uk-core-stu2"
    assert statement.results.verdict == "non-conformant"  # the sample has invalid payloads on purpose
    assert statement.subject.payload_count == 15
    assert '<table id="verdicts">' in Path("out/sample-statement.html").read_text()
    code, out, _ = _run(capsys, "sample", "--out-dir", "elsewhere", "--payloads", str(VALID))
    assert (
        code == 0 and read_statement(Path("elsewhere/sample-statement.json")).results.verdict == "conformant"
    )


def test_sample_without_packages_is_a_clear_error(env: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "sample", "--out-dir", "nowhere")
    assert code == 2 and "the UK Core sample needs fhir.r4.ukcore.stu2#2.0.2" in err
    assert not Path("nowhere").exists()


def test_recorded_terminology_answers_are_named_and_needed_to_reproduce(
    env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    standard = ["--standard", str(FIXTURES / "standards" / "draft-example.toml")]
    who = ["--supplier", "R", "--product", "P", "--product-version", "1"]
    assert (
        _run(
            capsys,
            "assess",
            *standard,
            *who,
            *env,
            "--tx-record",
            "answers.json",
            "--out",
            "a.json",
            str(VALID),
        )[0]
        == 0
    )
    assert Path("answers.json").is_file()
    code, _, err = _run(
        capsys, "assess", *standard, *who, *env, "--tx-replay", "answers.json", "--out", "b.json", str(VALID)
    )
    assert (code, err) == (0, "")
    source = read_statement(Path("b.json")).environment.terminology
    assert (source.kind, source.answers_file) == ("recorded-answers", "answers.json")
    assert source.answers_sha256 == hashlib.sha256(Path("answers.json").read_bytes()).hexdigest()

    code, out, _ = _run(capsys, "verify", "b.json", "--payloads", str(VALID), *env)
    assert code == 1 and "give --tx-replay with the recording" in out
    code, out, _ = _run(
        capsys, "verify", "b.json", "--payloads", str(VALID), *env, "--tx-replay", "answers.json"
    )
    assert code == 0 and "pass    reproduction" in out
    Path("other.json").write_bytes(Path("answers.json").read_bytes().replace(b"}", b"} ", 1))
    code, out, _ = _run(
        capsys, "verify", "b.json", "--payloads", str(VALID), *env, "--tx-replay", "other.json"
    )
    assert code == 1 and "is not the one assessed with (answers.json" in out
