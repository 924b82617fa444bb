"""ValueSet expansion from compose, and membership checks (`validate_code`, `check_codeable_concept`)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.outcome import Severity
from conformance.terminology import CodeCheck, LocalTerminology
from test_terminology_support import (
    COLOURS,
    EX_CS,
    EX_VS,
    SHAPES,
    SNOMED,
    UCUM,
    fixture_terminology,
    in_set,
    member_codes,
)

ALL_COLOURS_V2 = {"colour", "red", "crimson", "scarlet", "blue", "navy", "sky", "teal", "green", "mauve"}


@pytest.fixture(scope="module")
def terminology() -> LocalTerminology:
    return fixture_terminology()


# --- expansion ---------------------------------------------------------------------------------


def test_a_whole_local_system_expands_completely(terminology: LocalTerminology) -> None:
    expansion = terminology.expand(EX_VS + "all-colours")
    assert expansion is not None and expansion.complete and expansion.decidable
    assert {c.code for c in expansion.contains} == ALL_COLOURS_V2
    red = expansion.lookup(COLOURS, "red")
    assert red is not None and red.display == "Red" and red.version == "2.0.0" and red.local
    colour = expansion.lookup(COLOURS, "colour")
    assert colour is not None and colour.abstract


def test_versions_of_code_systems_and_value_sets_are_honoured(terminology: LocalTerminology) -> None:
    assert "teal" not in member_codes(terminology, "colours-v1")
    assert "teal" in member_codes(terminology, "all-colours")
    versioned = terminology.expand(EX_VS + "all-colours|1.0.0")
    assert versioned is not None and versioned.version == "1.0.0"
    assert "|1.0.0" in versioned.label
    assert terminology.expand(EX_VS + "all-colours|7.0") is None


def test_a_missing_code_system_version_uses_the_loaded_one_and_says_so(terminology: LocalTerminology) -> None:
    expansion = terminology.expand(EX_VS + "colours-in-missing-version")
    assert expansion is not None and "teal" in {c.code for c in expansion.contains}
    assert any("9.9.9" in note for note in expansion.notes)


@pytest.mark.parametrize(
    ("value_set", "codes"),
    [
        ("reds", {"red", "crimson", "scarlet"}),
        ("below-red", {"crimson", "scarlet"}),
        ("not-blue", ALL_COLOURS_V2 - {"blue", "navy", "sky", "teal"}),
        ("sky-lineage", {"sky", "blue", "colour"}),
        ("warm-colours", {"red", "crimson", "scarlet"}),
        ("ish-hues", {"red", "blue"}),
        ("three-letter-codes", {"red", "sky"}),
        ("listed-in", {"red", "blue"}),
        ("listed-not-in", ALL_COLOURS_V2 - {"red", "blue"}),
        ("with-hue", {"red", "blue"}),
        ("without-hue", ALL_COLOURS_V2 - {"red", "blue"}),
        ("warm-reds", {"red", "crimson", "scarlet"}),
        ("polygons", {"polygon", "triangle", "square"}),
        ("round-shapes", {"circle", "oval"}),
    ],
)
def test_filters_on_local_systems(terminology: LocalTerminology, value_set: str, codes: set[str]) -> None:
    expansion = terminology.expand(EX_VS + value_set)
    assert expansion is not None and expansion.complete
    assert {c.code for c in expansion.contains} == codes


def test_an_unknown_filter_operation_makes_the_set_undecidable(terminology: LocalTerminology) -> None:
    assert terminology.expand(EX_VS + "unknown-filter-op") is None
    result = in_set(terminology, "unknown-filter-op")("crimson")
    assert result.unknown and "child-of" in result.message
    assert result.message_id == "terminology.not-checked.valueset"


def test_concept_lists_keep_value_set_displays_and_drop_undefined_codes(
    terminology: LocalTerminology,
) -> None:
    expansion = terminology.expand(EX_VS + "listed-colours")
    assert expansion is not None and {c.code for c in expansion.contains} == {"red", "sky"}
    assert any("not-a-colour" in note for note in expansion.notes)
    check = in_set(terminology, "listed-colours")
    assert check("red", "Red colour").issues == ()  # the value set's own display
    assert check("red", "Red").issues == ()  # the code system's display
    assert check("sky", "Azure").issues == ()  # a value set designation
    assert check("sky", "Crimson").issues[0].message_id == "terminology.display-mismatch"


def test_several_includes_are_a_union_and_excludes_remove(terminology: LocalTerminology) -> None:
    assert member_codes(terminology, "colours-and-shapes") == {
        "red", "blue", "polygon", "triangle", "square", "circle", "oval"
    }  # fmt: skip
    assert member_codes(terminology, "colours-but-blue") == ALL_COLOURS_V2 - {"blue", "navy", "sky", "teal"}


def test_inactive_false_leaves_inactive_codes_out(terminology: LocalTerminology) -> None:
    assert member_codes(terminology, "active-colours") == ALL_COLOURS_V2 - {"scarlet", "green"}
    assert in_set(terminology, "active-colours")("scarlet").invalid


def test_imported_value_sets_are_intersected(terminology: LocalTerminology) -> None:
    assert member_codes(terminology, "warm-of-all") == {"red", "crimson", "scarlet"}
    assert member_codes(terminology, "reds-by-import") == {"red", "crimson", "scarlet"}


def test_cycles_and_missing_imports_are_unknown_not_errors(terminology: LocalTerminology) -> None:
    for name in ("cycle-a", "missing-import"):
        result = in_set(terminology, name)("red")
        assert result.unknown, name
    assert in_set(terminology, "cycle-b")("mauve").valid
    assert any("does-not-exist" in note for note in terminology.expansion_of(EX_VS + "missing-import").notes)  # type: ignore[union-attr]


def test_a_value_set_without_definition_is_unknown(terminology: LocalTerminology) -> None:
    assert in_set(terminology, "no-definition")("red").unknown


# --- validate_code -----------------------------------------------------------------------------


def test_member_and_non_member(terminology: LocalTerminology) -> None:
    check = in_set(terminology, "reds")
    inside = check("crimson", "Crimson")
    assert inside.status is CodeCheck.VALID and inside.message_id == "terminology.in-valueset"
    assert inside.issues == () and inside.system == COLOURS
    outside = check("navy")
    assert outside.status is CodeCheck.INVALID and outside.message_id == "terminology.not-in-valueset"
    assert EX_VS + "reds" in outside.message and "checked locally" in outside.message
    assert outside.severity_hint is None  # the binding strength decides
    assert outside.issues[0].message_id == "terminology.deprecated"  # navy's own finding comes along


def test_a_code_unknown_to_its_system_is_said_so(terminology: LocalTerminology) -> None:
    result = in_set(terminology, "reds")("purple")
    assert result.message_ids == ("terminology.not-in-valueset", "terminology.unknown-code")
    assert result.issues[0].severity is Severity.ERROR


def test_findings_of_a_member_come_with_the_answer(terminology: LocalTerminology) -> None:
    check = in_set(terminology, "reds")
    scarlet = check("scarlet", "Scarlet")
    assert scarlet.valid and [f.message_id for f in scarlet.issues] == ["terminology.inactive"]
    wrong = check("crimson", "Scarlet")
    assert wrong.valid and wrong.issues[0].message_id == "terminology.display-mismatch"


def test_a_code_without_system_is_found_by_code(terminology: LocalTerminology) -> None:
    found = in_set(terminology, "reds", system=None)("crimson")
    assert found.valid and found.system == COLOURS
    missing = in_set(terminology, "reds", system=None)("purple")
    assert missing.message_ids == ("terminology.not-in-valueset", "terminology.system-undetermined")


def test_a_case_insensitive_system_accepts_other_case_with_information(terminology: LocalTerminology) -> None:
    result = in_set(terminology, "polygons", system=SHAPES)("SQUARE")
    assert result.valid and result.issues[0].message_id == "terminology.code-case"


def test_unknown_value_set(terminology: LocalTerminology) -> None:
    result = terminology.validate_code(EX_VS + "nope", system=COLOURS, code="purple")
    assert result.unknown and result.message_id == "terminology.valueset-not-found"
    assert result.severity_hint is Severity.WARNING
    assert [f.message_id for f in result.issues] == ["terminology.unknown-code"]


def test_empty_code(terminology: LocalTerminology) -> None:
    assert in_set(terminology, "reds")("").message_id == "terminology.no-code"


# --- systems that are not local ----------------------------------------------------------------


def test_snomed_filters_are_unknown_never_invalid(terminology: LocalTerminology) -> None:
    assert terminology.expand(EX_VS + "snomed-disorders") is None
    check = in_set(terminology, "snomed-disorders", system=SNOMED)
    maybe = check("22298006", "Heart attack")
    assert maybe.unknown and maybe.severity_hint is None and maybe.issues == ()
    assert maybe.message_id == "terminology.not-checked.external"
    assert check("22298007").message_ids == ("terminology.not-in-valueset", "identifier.sct.check-digit")
    assert in_set(terminology, "snomed-disorders")("red").invalid  # another system: certainly not a member


def test_implicit_snomed_and_loinc_value_sets_are_not_checked_rather_than_missing(
    terminology: LocalTerminology,
) -> None:
    implicit = "http://snomed.info/sct?fhir_vs=isa/404684003"
    result = terminology.validate_code(implicit, system=SNOMED, code="22298006")
    assert result.unknown and result.message_id == "terminology.not-checked.external"
    assert terminology.validate_code(implicit, system=SNOMED, code="22298007").invalid
    loinc = terminology.validate_code("http://loinc.org/vs/LL379-9", system="http://loinc.org", code="LA1-0")
    assert loinc.unknown and loinc.severity_hint is None


def test_mixed_local_and_external_includes(terminology: LocalTerminology) -> None:
    expansion = terminology.expand(EX_VS + "colours-or-snomed")
    assert expansion is not None and not expansion.complete and "red" in {c.code for c in expansion.contains}
    check = in_set(terminology, "colours-or-snomed")
    assert check("red").valid
    assert check("purple").invalid
    assert in_set(terminology, "colours-or-snomed", system=SNOMED)("22298006").unknown


def test_an_exclude_that_cannot_be_evaluated_makes_its_system_unknown(terminology: LocalTerminology) -> None:
    assert in_set(terminology, "colours-but-snomed-ish")("red").valid
    assert in_set(terminology, "colours-but-snomed-ish", system=SNOMED)("22298006").unknown


def test_listed_snomed_codes_are_members_without_a_display_check(terminology: LocalTerminology) -> None:
    check = in_set(terminology, "snomed-listed", system=SNOMED)
    assert check("22298006", "Heart attack").issues == ()
    assert check("22298006").valid
    assert check("44054006").invalid


def test_a_published_expansion_lists_what_compose_cannot(terminology: LocalTerminology) -> None:
    expansion = terminology.expand(EX_VS + "snomed-published")
    assert expansion is not None and not expansion.complete
    assert {c.code for c in expansion.contains} == {"22298006", "44054006"}
    check = in_set(terminology, "snomed-published", system=SNOMED)
    assert check("44054006").valid
    assert check("73211009").unknown  # the expansion may predate the SNOMED CT edition in use


def test_an_expansion_only_value_set_is_decided_by_its_expansion(terminology: LocalTerminology) -> None:
    expansion = terminology.expand(EX_VS + "expansion-only")
    assert expansion is not None and expansion.complete
    assert {c.code for c in expansion.contains} == {"colour", "red", "u1"}
    check = in_set(terminology, "expansion-only")
    assert check("red").valid
    assert check("blue").invalid
    # the concept is enriched from the colours CodeSystem, so its display is checked
    assert check("red", "Wrong").issues[0].message_id == "terminology.display-mismatch"


def test_a_partial_expansion_is_not_complete(terminology: LocalTerminology) -> None:
    assert in_set(terminology, "partial-expansion")("red").valid
    assert in_set(terminology, "partial-expansion")("blue").unknown


def test_code_systems_that_are_fragments_or_absent(terminology: LocalTerminology) -> None:
    fragment = in_set(terminology, "fragment-things", system=EX_CS + "fragment-things")
    assert fragment("known").valid
    other = fragment("other")
    assert other.unknown and other.issues[0].message_id == "terminology.unknown-code.fragment"
    assert in_set(terminology, "fragment-listed", system=EX_CS + "fragment-things")("elsewhere").valid
    assert in_set(terminology, "example-things", system=EX_CS + "example-things")("whatever").unknown
    unloaded = in_set(terminology, "unloaded-system", system=EX_CS + "unloaded")("x")
    assert unloaded.unknown and unloaded.issues[0].message_id == "terminology.codesystem-not-found"


# --- systems decided by syntax -----------------------------------------------------------------


def test_ucum_value_sets(terminology: LocalTerminology) -> None:
    everything_but_mm = in_set(terminology, "ucum-but-mm", system=UCUM)
    assert everything_but_mm("mg/dL").valid
    assert everything_but_mm("mm").invalid
    bad = everything_but_mm("mgg")
    assert bad.message_ids == ("terminology.not-in-valueset", "terminology.ucum.invalid")
    assert terminology.expand(EX_VS + "ucum-but-mm") is None  # decidable, but not listable
    time_units = in_set(terminology, "ucum-time", system=UCUM)
    assert time_units("min").unknown
    assert time_units("furlong").invalid
    ages = in_set(terminology, "age-units", system=UCUM)
    assert ages("a", "anything").valid  # no display check for UCUM
    assert ages("m").invalid


def test_languages_and_mime_types(terminology: LocalTerminology) -> None:
    assert in_set(terminology, "all-languages", system=None)("en-GB").valid
    assert in_set(terminology, "all-languages", system="urn:ietf:bcp:47")("english").invalid
    mime = in_set(terminology, "all-mime-types", system=None)
    assert mime("application/fhir+json").valid
    assert mime("[%payloadFormat%]").invalid


# --- CodeableConcept ---------------------------------------------------------------------------


def _coding(system: str | None, code: Any, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    return {**coding, "display": display} if display else coding


def test_one_member_coding_is_enough(terminology: LocalTerminology) -> None:
    codings = [_coding(SNOMED, "22298006"), _coding(COLOURS, "crimson", "Crimson")]
    result = terminology.check_codeable_concept(EX_VS + "reds", codings)
    assert result.valid and result.system == COLOURS


def test_no_member_coding(terminology: LocalTerminology) -> None:
    codings = [_coding(COLOURS, "navy"), _coding(COLOURS, "purple")]
    result = terminology.check_codeable_concept(EX_VS + "reds", codings)
    assert result.invalid and result.message_id == "terminology.none-in-valueset"
    assert {f.message_id for f in result.issues} == {"terminology.deprecated", "terminology.unknown-code"}


def test_an_undecidable_coding_makes_the_answer_unknown(terminology: LocalTerminology) -> None:
    codings = [_coding(COLOURS, "navy"), _coding(SNOMED, "22298006")]
    assert terminology.check_codeable_concept(EX_VS + "colours-or-snomed", codings).valid
    assert terminology.check_codeable_concept(EX_VS + "snomed-disorders", codings).unknown


def test_a_coding_without_system_is_never_a_member(terminology: LocalTerminology) -> None:
    result = terminology.check_codeable_concept(EX_VS + "reds", [_coding(None, "crimson")])
    assert result.invalid and result.message_id == "terminology.none-in-valueset"
    assert in_set(terminology, "reds", system=None)("crimson").valid  # a bare code element is looked up


def test_findings_of_other_codings_are_kept(terminology: LocalTerminology) -> None:
    codings = [_coding(COLOURS, "red"), _coding(COLOURS, "sky", "Crimson")]
    result = terminology.check_codeable_concept(EX_VS + "reds", codings)
    assert result.valid and [f.message_id for f in result.issues] == ["terminology.display-mismatch"]


@pytest.mark.parametrize("codings", [[], [{"system": COLOURS}], [{"code": 3}], ["not a mapping"]])
def test_no_code_at_all(terminology: LocalTerminology, codings: list[Any]) -> None:
    result = terminology.check_codeable_concept(EX_VS + "reds", codings)
    assert result.invalid and result.message_id == "terminology.no-code"


# --- caching and hostile definitions -----------------------------------------------------------


def test_expansions_are_cached(terminology: LocalTerminology) -> None:
    assert terminology.expand(EX_VS + "reds") is terminology.expand(EX_VS + "reds")


def test_a_catastrophic_regex_filter_gives_up_instead_of_hanging() -> None:
    many = [{"code": "a" * 40 + f"!{n}"} for n in range(3)]
    cs = {"resourceType": "CodeSystem", "url": "http://x/cs", "content": "complete", "concept": many}
    vs = {
        "resourceType": "ValueSet",
        "url": "http://x/vs",
        "compose": {
            "include": [
                {
                    "system": "http://x/cs",
                    "filter": [{"property": "code", "op": "regex", "value": "(a|aa)+c"}],
                }
            ]
        },
    }
    terminology = fixture_terminology(cs, vs)
    result = terminology.validate_code("http://x/vs", system="http://x/cs", code=many[0]["code"])
    assert result.unknown


@pytest.mark.parametrize(
    "compose",
    [
        "not a mapping",
        {"include": "not a list"},
        {"include": [{"system": 42, "concept": "x"}]},
        {"include": [{"filter": [{"op": "is-a"}]}]},
        {
            "include": [
                {"system": "http://x/cs", "filter": ["junk", {"property": 1, "op": [], "value": None}]}
            ]
        },
        {"include": [{"valueSet": [None, ""]}], "exclude": [{}]},
    ],
)
def test_malformed_compose_never_raises(compose: Any) -> None:
    terminology = fixture_terminology({"resourceType": "ValueSet", "url": "http://x/vs", "compose": compose})
    result = terminology.validate_code("http://x/vs", system=COLOURS, code="red")
    assert result.status in (CodeCheck.INVALID, CodeCheck.UNKNOWN)


def _import_chain(length: int) -> list[dict[str, Any]]:
    """vs0 imports vs1 ... imports vs<length>, which holds the colours."""
    links = [
        {
            "resourceType": "ValueSet",
            "url": f"http://x/vs{n}",
            "compose": {"include": [{"valueSet": [f"http://x/vs{n + 1}"]}]},
        }
        for n in range(length)
    ]
    end = {
        "resourceType": "ValueSet",
        "url": f"http://x/vs{length}",
        "compose": {"include": [{"system": COLOURS}]},
    }
    return [*links, end]


def test_a_very_long_import_chain_is_cut_short_instead_of_overflowing_the_stack() -> None:
    terminology = fixture_terminology(*_import_chain(2000))
    assert terminology.validate_code("http://x/vs0", system=COLOURS, code="red").unknown
    assert terminology.validate_code("http://x/vs1990", system=COLOURS, code="red").valid


def test_a_value_set_cut_short_for_its_caller_is_not_cached_as_cut() -> None:
    terminology = fixture_terminology(*_import_chain(60))
    assert terminology.validate_code("http://x/vs0", system=COLOURS, code="red").unknown
    # vs30 was reached from vs0 and cut short there (too deep from vs0), but on its own it is fine
    assert terminology.validate_code("http://x/vs30", system=COLOURS, code="red").valid


def test_a_huge_value_set_is_a_dictionary_lookup() -> None:
    concepts = [{"code": f"c{n}", "display": f"Concept {n}"} for n in range(50_000)]
    cs = {"resourceType": "CodeSystem", "url": "http://x/big", "content": "complete", "concept": concepts}
    vs = {
        "resourceType": "ValueSet",
        "url": "http://x/big-vs",
        "compose": {"include": [{"system": "http://x/big"}]},
    }
    terminology = fixture_terminology(cs, vs)
    assert terminology.validate_code("http://x/big-vs", system="http://x/big", code="c49999").valid
    expansion = terminology.expand("http://x/big-vs")
    assert expansion is not None and len(expansion) == 50_000
