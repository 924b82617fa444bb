"""Offline syntax checks: UCUM unit expressions, mime types (BCP 13) and language tags (BCP 47)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.terminology import is_valid_language_tag, is_valid_mime_type, is_valid_ucum, ucum_problem
from conformance.terminology.ucum import MAX_DEPTH, is_unit_symbol
from conformance.terminology.ucum_atoms import METRIC_ATOMS, NON_METRIC_ATOMS, PREFIXES
from test_terminology_support import UCUM, fixture_terminology

VALID_UNITS = [
    "1",
    "%",
    "mg",
    "mg/dL",
    "mmol/L",
    "kg/m2",
    "m2",
    "s-1",
    "/min",
    "10*3/uL",
    "10*-3",
    "10^9/L",
    "mm[Hg]",
    "cm[H2O]",
    "[in_i]",
    "[lb_av]",
    "[degF]",
    "Cel",
    "[iU]/mL",
    "[IU]/L",
    "kcal/(kg.d)",
    "mL/min/{1.73_m2}",
    "{score}",
    "{beats}/min",
    "mg{total}",
    "10*3{cells}/uL",
    "ug/(kg.min)",
    "[pH]",
    "B[10.nV]",
    "[m/s2/Hz^(1/2)]",
    "cal_[15]",
    "KiBy",
    "ML",  # mega-litre: a strange unit, but a well-formed one
    "'",
    "''",
    "a",
    "mo",
    "wk",
    "g%",
    "%[slope]",
    "dar",
    "daL",
    "(m.s)2",
]
INVALID_UNITS = [
    "",
    "mgg",
    "MMOL",  # UCUM is case-sensitive: the mole is mol
    "Ki",  # a prefix alone
    "kmin",  # min does not take a prefix
    "2m",
    "m/",
    "/",
    "m..s",
    "(m",
    "m)",
    "{unclosed",
    "{a{b}}",
    "[in_i",
    "mg /dL",
    "µg",
    "-1",
    "m+",
    "furlong",
    "da",
]


@pytest.mark.parametrize("unit", VALID_UNITS)
def test_valid_ucum(unit: str) -> None:
    assert ucum_problem(unit) is None


@pytest.mark.parametrize("unit", INVALID_UNITS)
def test_invalid_ucum_says_why(unit: str) -> None:
    problem = ucum_problem(unit)
    assert problem is not None and problem != ""


def test_position_is_reported() -> None:
    assert ucum_problem("mg/xyz") == "'xyz' at position 4 is not a UCUM unit"


def test_every_atom_alone_and_every_metric_atom_with_every_prefix_is_valid() -> None:
    assert all(is_valid_ucum(atom) for atom in METRIC_ATOMS | NON_METRIC_ATOMS)
    assert all(is_unit_symbol(prefix + atom) for prefix in PREFIXES for atom in METRIC_ATOMS)


def test_non_metric_atoms_never_take_a_prefix() -> None:
    for atom in ("min", "h", "d", "[in_i]", "%"):
        assert not is_unit_symbol("k" + atom), atom


def test_hostile_units_fail_fast_without_recursion_errors() -> None:
    assert "nested too deeply" in (ucum_problem("(" * (MAX_DEPTH + 5) + "m" + ")" * (MAX_DEPTH + 5)) or "")
    assert ucum_problem("(" * 10 + "m" + ")" * 10) is None
    assert ucum_problem("m." * 100_000 + "m") is None
    assert ucum_problem("{" + "x" * 1_000_000) is not None
    assert ucum_problem("[" * 1000) is not None


@given(st.text(max_size=40))
def test_any_text_gets_an_answer(text: str) -> None:
    problem = ucum_problem(text)
    assert problem is None or isinstance(problem, str)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(PREFIXES)), st.sampled_from(sorted(METRIC_ATOMS)), st.integers(-3, 3)
        ),
        min_size=1,
        max_size=4,
    )
)
def test_products_and_quotients_of_prefixed_units_are_valid(parts: list[tuple[str, str, int]]) -> None:
    terms = [
        f"{prefix}{atom}{exponent if exponent not in (0, 1) else ''}" for prefix, atom, exponent in parts
    ]
    assert is_valid_ucum("/".join(terms)), terms
    assert is_valid_ucum(".".join(terms)), terms


def test_the_service_checks_ucum_codes() -> None:
    terminology = fixture_terminology()
    assert terminology.validate_coding_in_codesystem(UCUM, "mg/dL", None).valid
    bad = terminology.validate_coding_in_codesystem(UCUM, "mgg", None)
    assert bad.invalid and bad.message_id == "terminology.ucum.invalid"


# --- mime types --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "text/plain",
        "application/fhir+json",
        "application/fhir+xml;fhirVersion=4.0",
        "text/plain; charset=UTF-8",
        'multipart/form-data; boundary="a b"',
        "image/svg+xml",
        "application/vnd.ms-excel",
    ],
)
def test_valid_mime_types(value: str) -> None:
    assert is_valid_mime_type(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "text",
        "text/",
        "/plain",
        "text/plain/extra",
        "text plain",
        "[%payloadFormat%]",
        "text/plain;",
        "a/b; c",
    ],
)
def test_invalid_mime_types(value: str) -> None:
    assert not is_valid_mime_type(value)


def test_the_service_checks_mime_types_and_languages() -> None:
    terminology = fixture_terminology()
    assert terminology.validate_coding_in_codesystem("urn:ietf:bcp:13", "text/plain", None).valid
    mime = terminology.validate_coding_in_codesystem("urn:ietf:bcp:13", "plain", None)
    assert mime.message_id == "terminology.mimetype.invalid"
    language = terminology.validate_coding_in_codesystem("urn:ietf:bcp:47", "en_GB", None)
    assert language.message_id == "terminology.language.invalid"


# --- language tags -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "en",
        "en-GB",
        "EN-gb",
        "cy",
        "zh-Hant-TW",
        "es-419",
        "de-CH-1901",
        "sl-rozaj-biske",
        "zh-yue-HK",
        "en-a-bbb-x-a-ccc",
        "x-private",
        "i-klingon",
        "en-GB-oed",
    ],
)
def test_valid_language_tags(value: str) -> None:
    assert is_valid_language_tag(value)


@pytest.mark.parametrize(
    "value", ["", "e", "english", "en_GB", "en-", "en-GB-", "en--GB", "123", "en-x", "en-GB-x-toolongvalue"]
)
def test_invalid_language_tags(value: str) -> None:
    assert not is_valid_language_tag(value)
