"""NHS number and SNOMED CT identifier check digits, and the UK identifier rules kept as data."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.errors import InputError
from conformance.outcome import Severity
from conformance.terminology import IdentifierRules, check_identifier, nhs_number_problem, sctid_problem
from conformance.terminology.checkdigits import nhs_check_digit, verhoeff_check, verhoeff_digit
from conformance.terminology.identifiers import default_rules, default_rules_folder
from test_terminology_support import REPO, fixture_terminology

NHS = "https://fhir.nhs.uk/Id/nhs-number"


# --- NHS number --------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["9000000009", "9434765919", "9912003888", "4010232137"])
def test_valid_nhs_numbers(number: str) -> None:
    assert nhs_number_problem(number) is None


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("9000000008", "check-digit"),
        ("9434765918", "check-digit"),
        ("1234567890", "check-digit"),  # no check digit fits: the computed check is 10
        ("900000000", "format"),
        ("90000000090", "format"),
        ("943 476 5919", "format"),
        ("943476591X", "format"),
        ("٩٠٠٠٠٠٠٠٠٩", "format"),  # Arabic-Indic digits are digits to Python, not to the NHS
        ("", "format"),
    ],
)
def test_invalid_nhs_numbers(number: str, kind: str) -> None:
    problem = nhs_number_problem(number)
    assert problem is not None and problem.kind == kind


digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


@given(digits)
def test_nine_digits_and_their_computed_check_digit_are_valid(first_nine: str) -> None:
    check = nhs_check_digit(first_nine)
    assume(check is not None)
    assert nhs_number_problem(first_nine + str(check)) is None


@given(digits, st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_makes_an_nhs_number_invalid(
    first_nine: str, position: int, shift: int
) -> None:
    check = nhs_check_digit(first_nine)
    assume(check is not None)
    number = first_nine + str(check)
    changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    assert nhs_number_problem(changed) is not None


# --- SNOMED CT identifiers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sctid", ["22298006", "404684003", "138875005", "10245211000001108", "999000011000000103"]
)
def test_valid_concept_ids(sctid: str) -> None:
    assert sctid_problem(sctid) is None


@pytest.mark.parametrize(
    ("sctid", "kind"),
    [
        ("22298007", "check-digit"),
        ("22289006", "check-digit"),  # two adjacent digits swapped
        ("12345", "format"),  # too short
        ("1234567890123456789", "format"),  # too long
        ("022298006", "format"),  # leading zero
        ("2229800a", "format"),
        ("", "format"),
        ("1234501" + str(verhoeff_digit("1234501")), "partition"),  # a well-formed description id
        ("100022", "partition"),  # a well-formed relationship id
    ],
)
def test_invalid_concept_ids(sctid: str, kind: str) -> None:
    problem = sctid_problem(sctid)
    assert problem is not None and problem.kind == kind, problem


def test_the_verhoeff_tables_match_published_examples() -> None:
    assert verhoeff_digit("236") == 3
    assert verhoeff_digit("12345") == 1
    assert verhoeff_check("2363") == 0 and verhoeff_check("2364") != 0


concept_stems = st.builds(
    lambda head, namespace, partition: head + namespace + partition,
    st.from_regex(r"[1-9][0-9]{2,6}", fullmatch=True),
    st.one_of(st.just(""), st.from_regex(r"[0-9]{7}", fullmatch=True)),
    st.sampled_from(["00", "10"]),
)


@given(concept_stems)
def test_random_digits_with_their_computed_check_digit_are_valid(stem: str) -> None:
    assume(len(stem) <= 17)
    assert sctid_problem(stem + str(verhoeff_digit(stem))) is None


@given(concept_stems, st.data())
def test_any_single_digit_change_makes_an_sctid_invalid(stem: str, data: st.DataObject) -> None:
    assume(len(stem) <= 17)
    sctid = stem + str(verhoeff_digit(stem))
    position = data.draw(st.integers(1, len(sctid) - 1))  # the first digit may not become zero: keep it
    shift = data.draw(st.integers(1, 9))
    changed = sctid[:position] + str((int(sctid[position]) + shift) % 10) + sctid[position + 1 :]
    assert verhoeff_check(changed) != 0
    assert sctid_problem(changed) is not None


# --- rules as data -----------------------------------------------------------------------------


def test_the_shipped_rules_load_and_cite_their_sources() -> None:
    rules = default_rules()
    assert default_rules_folder() == REPO / "profiles" / "identifiers"
    ids = {rule.id for rule in rules.rules}
    assert {
        "nhs-number",
        "sct",
        "dmd",
        "gmc-number",
        "gmp-number",
        "gphc-number",
        "nmc-number",
        "hcpc-number",
    } <= ids
    assert all(rule.source.startswith("https://") for rule in rules.rules)


def test_check_identifier_on_nhs_numbers() -> None:
    valid = check_identifier(NHS, "9000000009")
    assert valid is not None and valid.valid
    invalid = check_identifier(NHS, "9000000008")
    assert invalid is not None and invalid.invalid
    assert invalid.message_id == "identifier.nhs-number.check-digit"
    assert invalid.severity_hint is Severity.ERROR
    assert "datadictionary.nhs.uk" in invalid.message
    spaced = check_identifier(NHS, "900 000 0009")
    assert spaced is not None and spaced.message_id == "identifier.nhs-number.format"


def test_the_old_and_oid_nhs_number_systems_are_covered() -> None:
    for system in ("https://fhir.nhs.net/Id/nhs-number", "urn:oid:2.16.840.1.113883.2.1.4.1"):
        result = check_identifier(system, "9000000008")
        assert result is not None and result.message_id == "identifier.nhs-number.check-digit"


@pytest.mark.parametrize(
    ("system", "good", "bad"),
    [
        ("https://fhir.hl7.org.uk/Id/gmc-number", "1122472", "C1122472"),
        ("https://fhir.hl7.org.uk/Id/gmp-number", "G1234567", "1234567"),
        ("https://fhir.hl7.org.uk/Id/gphc-number", "2033467", "1033467"),
        ("https://fhir.hl7.org.uk/Id/nmc-number", "71A2998E", "71A2998"),
        ("https://fhir.hl7.org.uk/Id/hcpc-number", "PH123456", "123456"),
    ],
)
def test_professional_registration_formats_are_warnings(system: str, good: str, bad: str) -> None:
    assert check_identifier(system, good).valid  # type: ignore[union-attr]
    result = check_identifier(system, bad)
    assert result is not None and result.invalid and result.severity_hint is Severity.WARNING
    assert result.message_id.endswith(".format")


def test_snomed_and_dmd_identifiers() -> None:
    assert check_identifier("http://snomed.info/sct", "22298006").valid  # type: ignore[union-attr]
    dmd = check_identifier("https://dmd.nhs.uk", "10245211000001109")
    assert dmd is not None and dmd.message_id == "identifier.sct.check-digit"
    assert check_identifier("https://dmd.nhs.uk", "not-a-number").message_id == "identifier.dmd.format"  # type: ignore[union-attr]


def test_systems_without_a_rule_are_not_checked() -> None:
    assert check_identifier("https://fhir.nhs.uk/Id/ods-organization-code", "anything") is None
    assert check_identifier("http://example.org/mrn", "x") is None


def test_the_service_uses_the_rules() -> None:
    terminology = fixture_terminology()
    result = terminology.check_identifier(NHS, "9000000008")
    assert result is not None and result.message_id == "identifier.nhs-number.check-digit"
    custom = fixture_terminology(identifier_rules=IdentifierRules())
    assert custom.check_identifier(NHS, "9000000008") is None


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_custom_rules_from_a_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[[rule]]
id = "local-mrn"
name = "local MRN"
systems = ["http://example.org/mrn"]
pattern = 'MRN[0-9]{6}'
severity = "information"
source = "https://example.org/mrn-policy"
""",
    )
    rules = IdentifierRules.load(path)
    assert rules.check("http://example.org/mrn", "MRN123456").valid  # type: ignore[union-attr]
    result = rules.check("http://example.org/mrn", "MRN12345")
    assert result is not None and result.message_id == "identifier.local-mrn.format"
    assert result.severity_hint is Severity.INFORMATION
    assert IdentifierRules.load(tmp_path).rules == rules.rules  # a folder loads every *.toml in it


_RULE_START = "[[rule]]\nid='x'\nname='x'\nsystems=['s']\nsource='https://x'\n"


@pytest.mark.parametrize(
    "text",
    [
        "this is not toml = = =",
        "rule = 3",
        "[[rule]]\nid = 'x'",  # incomplete
        _RULE_START + "pattern='('",  # bad regex
        _RULE_START + "pattern='x'\ncheck='luhn'",  # unknown check
        _RULE_START + "pattern='x'\nseverity='fatal!'",  # unknown severity
    ],
)
def test_broken_rule_files_raise_one_line_input_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError) as raised:
        IdentifierRules.load(_write(tmp_path, text))
    assert "\n" not in str(raised.value)


def test_a_missing_rules_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        IdentifierRules.load(tmp_path / "absent.toml")
