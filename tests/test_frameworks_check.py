"""`framework check`: which products qualify, and exactly why the others do not, on statements the tests
make with `assess` and sign (tests/register_support.py says who is who)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import InputError
from conformance.frameworks import (
    KnownStandards,
    Qualification,
    Submission,
    load_framework,
    load_trusted_keys,
    qualify,
    take_in,
    take_in_all,
)
from conformance.settings import Settings
from conformance.statements import read_statement, write_statement
from register_support import Made, make_statements
from statements_support import RIVERSIDE as RIVERSIDE_PRODUCT
from statements_support import VALID, assessor

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def made(shared_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Made:
    return make_statements(tmp_path_factory.mktemp("frameworks"), shared_settings)


@pytest.fixture(scope="module")
def submissions(made: Made) -> list[Submission]:
    return take_in_all([made.statements], load_trusted_keys(made.keys))


def by_product(results: tuple[Qualification, ...]) -> dict[str, Qualification]:
    return {result.product.label: result for result in results}


def check(framework: str, made: Made, submissions: list[Submission]) -> dict[str, Qualification]:
    loaded = load_framework(framework, search_path=[made.frameworks])
    return by_product(qualify(loaded, submissions, KnownStandards([made.standards])))


RIVERSIDE = "Riverside EPR 3.1 by Riverside Health Systems"
BROOK = "Brook PAS 2.0 by Brook Systems"
TAMPERED = "Brook PAS 2.1 by Brook Systems"
STRANGER = "Odd Records 1.0 by Stranger Ltd"
CEDAR = "Cedar Record 4.2 by Cedar Health"


def test_each_product_qualifies_or_says_exactly_why_not(made: Made, submissions: list[Submission]) -> None:
    results = check("example-shared-care", made, submissions)
    assert set(results) == {RIVERSIDE, BROOK, TAMPERED, STRANGER, CEDAR}
    assert results[RIVERSIDE].qualifies and results[RIVERSIDE].reasons == ()
    assert [outcome.submission.name for outcome in results[RIVERSIDE].outcomes if outcome.submission] == [
        "riverside.json",
        "riverside-ukcore.json",
    ]
    brook = results[BROOK].reasons
    assert brook[0].startswith(
        "shared-care-record: verdict not conformant: 3 profile(s) have failing payloads"
    )
    assert brook[1] == "uk-core-stu2: no statement against uk-core-stu2"
    assert results[TAMPERED].reasons[0] == (
        "shared-care-record: the statement brook-tampered.json was not accepted: signature: the signature "
        "does not match: the statement was changed after signing"
    )
    assert "which is not one of the trusted keys" in results[STRANGER].reasons[0]
    assert results[CEDAR].reasons[0] == "shared-care-record: no statement against shared-care-record"
    assert not any(results[name].qualifies for name in (BROOK, TAMPERED, STRANGER, CEDAR))


def test_a_statement_against_a_retired_standard_does_not_qualify(
    made: Made, submissions: list[Submission]
) -> None:
    cedar = check("test-retired", made, submissions)[CEDAR]
    assert not cedar.qualifies
    assert cedar.reasons == (
        "retired-care-record: made against retired-care-record 1.0.0, which is retired "
        "(its successor is shared-care-record)",
    )


def _framework(folder: Path, body: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "custom.toml"
    path.write_text(f'format = 1\nid = "custom"\ntitle = "T"\npublisher = "P"\n{body}', encoding="utf-8")
    return str(path)


def test_the_standard_version_must_be_in_the_range(
    made: Made, submissions: list[Submission], tmp_path: Path
) -> None:
    framework = _framework(tmp_path, '[[requires]]\nstandard = "shared-care-record"\nversions = "2.x"\n')
    riverside = check(framework, made, submissions)[RIVERSIDE]
    assert riverside.reasons == (
        "shared-care-record: made against shared-care-record 1.0.0; the framework accepts versions 2.x",
    )
    framework = _framework(tmp_path, '[[requires]]\nstandard = "shared-care-record"\nversions = "~1.0.0"\n')
    assert check(framework, made, submissions)[RIVERSIDE].qualifies


def test_at_most_n_profiles_untested(made: Made, submissions: list[Submission], tmp_path: Path) -> None:
    untested = sum(
        1
        for result in read_statement(made.statement("riverside-ukcore")).results.profiles
        if not result.tested
    )
    body = '[[requires]]\nstandard = "uk-core-stu2"\nmax_not_tested = {}\n'
    strict = check(_framework(tmp_path, body.format(untested - 1)), made, submissions)[RIVERSIDE]
    (reason,) = strict.reasons
    assert reason.startswith(f"uk-core-stu2: {untested} profile(s) not tested (UKCore-")
    assert reason.endswith(f"the framework allows at most {untested - 1}")
    assert check(_framework(tmp_path, body.format(untested)), made, submissions)[RIVERSIDE].qualifies


def test_without_trusted_keys_only_intact_signatures_count(made: Made) -> None:
    taken = {s.name: s for s in take_in_all([made.statements], None)}
    assert taken["stranger.json"].accepted and taken["stranger.json"].signer == (
        "a key not checked against trusted keys"
    )
    assert not taken["brook-tampered.json"].accepted


def test_broken_and_hostile_files_are_not_accepted_with_the_reason(made: Made, tmp_path: Path) -> None:
    keys = load_trusted_keys(made.keys)
    (tmp_path / "other.json").write_text('{"resourceType": "Patient"}', encoding="utf-8")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (tmp_path / "binary.json").write_bytes(b"\x00\xff" * 100)
    for name in ("other.json", "deep.json", "binary.json"):
        submission = take_in(tmp_path / name, keys)
        assert not submission.accepted and submission.statement is None
        assert submission.problem.startswith("not a readable statement:"), submission.problem
    data = json.loads(made.statement("riverside").read_text(encoding="utf-8"))
    del data["signature"]
    (tmp_path / "unsigned.json").write_text(json.dumps(data), encoding="utf-8")
    unsigned = take_in(tmp_path / "unsigned.json", keys)
    assert unsigned.problem == "not signed: only statements signed with a trusted key are accepted"


def test_trusted_keys_must_be_public_keys(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds no public key"):
        load_trusted_keys(tmp_path)
    (tmp_path / "junk.pub").write_text("not a key", encoding="utf-8")
    with pytest.raises(InputError, match="is not a PEM public key"):
        load_trusted_keys(tmp_path)
    with pytest.raises(InputError, match="trusted keys not found"):
        load_trusted_keys(tmp_path / "absent")


def test_cli_framework_check(made: Made, capsys: pytest.CaptureFixture[str]) -> None:
    keys = ["--keys", str(made.keys), "--standards-dir", str(made.standards)]
    assert main(["framework", "check", "example-shared-care", str(made.statements), *keys]) == 1
    out = capsys.readouterr().out
    assert f"qualifies          {RIVERSIDE}" in out
    assert f"does not qualify   {BROOK}" in out
    assert "    - uk-core-stu2: no statement against uk-core-stu2" in out
    assert "not accepted " in out and "brook-tampered.json" in out
    assert "1 of 5 product(s) qualify" in out
    riverside = [str(made.statement("riverside")), str(made.statement("riverside-ukcore"))]
    assert main(["framework", "check", "example-shared-care", *riverside, *keys, "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["products"] == [
        {
            "supplier": "Riverside Health Systems",
            "product": "Riverside EPR",
            "product_version": "3.1",
            "qualifies": True,
            "reasons": [],
            "notes": [],
        }
    ]
    assert main(["framework", "check", "example-shared-care", str(made.root / "absent.json")]) == 2
    assert "statement not found" in capsys.readouterr().err


def test_a_deprecated_standard_still_counts_with_a_note(
    made: Made, shared_settings: Settings, tmp_path: Path
) -> None:
    standards = tmp_path / "standards"
    text = (made.standards / "retired-care-record.toml").read_text(encoding="utf-8")
    standards.mkdir()
    deprecated = standards / "deprecated-care-record.toml"
    deprecated.write_text(
        text.replace('"retired-care-record"', '"deprecated-care-record"').replace(
            '"retired"', '"deprecated"'
        ),
        encoding="utf-8",
    )
    statement = assessor(str(deprecated), shared_settings).assess([VALID], RIVERSIDE_PRODUCT)
    write_statement(statement, tmp_path / "deprecated.json")
    framework = load_framework(
        _framework(tmp_path / "frameworks", '[[requires]]\nstandard = "deprecated-care-record"\n')
    )
    (result,) = qualify(
        framework, take_in_all([tmp_path / "deprecated.json"], None), KnownStandards([standards])
    )
    assert result.qualifies
    assert result.outcomes[0].notes == (
        "deprecated-care-record 1.0.0 is deprecated (its successor is shared-care-record)",
    )
