"""Types: choice elements, type profiles, primitive formats, maxLength, min/max values, the regex extension.

Primitive formats are exercised through a Parameters resource, whose `value[x]` takes every type: one
parameter per rule, so each issue's location says which rule produced it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared

VALUE_TYPES = "test-observation-value"  # value[x] narrowed to Quantity | string
PATIENT_TYPES = "test-patient-types"  # maxLength, minLength, regexes, multipleBirthInteger 1..9


@pytest.mark.parametrize(
    ("name", "profile"),
    [
        ("types/observation-choice-valid.json", VALUE_TYPES),
        ("types/observation-simplequantity-valid.json", None),
        ("types/parameters-primitives-valid.json", None),
        ("types/patient-types-valid.json", PATIENT_TYPES),
    ],
    ids=["choice", "simple-quantity", "primitive-formats", "profile-limits"],
)
def test_valid_payload_is_clean(r4_fixtures: FixtureRunner, name: str, profile: str | None) -> None:
    outcome = r4_fixtures.validate(name, [profile] if profile else [])
    assert r4_fixtures.problems(outcome) == []


def test_every_primitive_format_rule(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("types/parameters-primitives-invalid.json")
    at = "@ Parameters.parameter[{}].value"
    expected = [
        f"error type.date {at.format(0)}",  # 2023-02-30
        f"error type.datetime.timezone {at.format(1)}",  # a time without a timezone
        f"error type.instant {at.format(2)}",  # a date is not an instant
        f"error type.time {at.format(3)}",  # 24:61:00
        f"error type.id {at.format(4)}",  # bad_id
        f"error type.id.length {at.format(5)}",  # 65 characters
        f"error type.uri {at.format(6)}",  # a space in a URI
        f"error type.code {at.format(7)}",  # leading whitespace in a code
        f"error type.json-type {at.format(8)}",  # a decimal written as a JSON string
        f"error type.integer.range {at.format(9)}",  # 2^31
        f"error type.integer {at.format(10)}",  # 1.5 for an integer
        f"error type.base64 {at.format(11)}",
        f"error type.integer.range {at.format(12)}",  # positiveInt 0
        f"error type.integer.range {at.format(13)}",  # unsignedInt -1
        f"error type.oid {at.format(14)}",
        f"error type.uuid {at.format(15)}",
        f"error type.empty-string {at.format(16)}",
        f"error type.json-type {at.format(17)}",  # "true" for a boolean
        f"error attachment.size-mismatch {at.format(18)}.size",  # 3 stated, 5 decoded
    ]
    assert r4_fixtures.findings(outcome) == sorted(expected)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("valueDate", "2024-02-29"),  # leap day
        ("valueDateTime", "2023-06-30T23:59:60Z"),  # leap second
        ("valueDateTime", "2023-06-30T10:00:00.123456+14:00"),
        ("valueInstant", "2023-06-30T10:00:00-05:00"),
        ("valueTime", "00:00:00.5"),
        ("valueDecimal", 1e-7),
        ("valueInteger", 0),
        ("valueCanonical", "http://example.org/fhir/ValueSet/x|1.0"),
        ("valueMarkdown", "*markdown* with\nlines"),
        ("valueBase64Binary", "SGVs\nbG8="),  # whitespace inside base64 is allowed
    ],
)
def test_edge_values_that_are_valid(r4_fixtures: FixtureRunner, key: str, value: object) -> None:
    payload = {"resourceType": "Parameters", "parameter": [{"name": "p", key: value}]}
    assert r4_fixtures.problems(r4_fixtures.validate_data(payload)) == []


@pytest.mark.parametrize(
    ("key", "value", "message_id"),
    [
        ("valueDate", "2023-13-01", "type.date"),
        ("valueDate", "2023-1-01", "type.date"),
        ("valueDate", "2100-02-29", "type.date"),  # not a leap year
        ("valueDateTime", "2023-01-01T25:00:00Z", "type.datetime"),
        # seconds are required with a time: the core dateTime regex is what says so
        ("valueDateTime", "2023-01-01T10:00Z", "type.regex"),
        ("valueInstant", "2023-01-01T10:00:00", "type.datetime.timezone"),
        ("valueTime", "10:00", "type.time"),
        ("valueId", "a b", "type.id"),
        ("valueInteger", -2147483649, "type.integer.range"),
        ("valueUnsignedInt", 2147483648, "type.integer.range"),
        ("valueBoolean", 1, "type.json-type"),
        ("valueString", 12, "type.json-type"),
        ("valueInteger", True, "type.json-type"),
    ],
)
def test_edge_values_that_are_invalid(
    r4_fixtures: FixtureRunner, key: str, value: object, message_id: str
) -> None:
    payload = {"resourceType": "Parameters", "parameter": [{"name": "p", key: value}]}
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.findings(outcome) == [f"error {message_id} @ Parameters.parameter[0].value"]


CHOICE = [
    pytest.param(
        "types/observation-choice-two-variants.json",
        VALUE_TYPES,
        [
            "error type.choice.multiple @ Observation.valueString",
            # both variants count as Observation.value[x], once in the core definition and once in the
            # profile: the HL7 validator reports each definition's error (their messages name it)
            "error cardinality.max @ Observation.value",
            "error cardinality.max @ Observation.value",
        ],
        id="two-variants",
    ),
    pytest.param(
        "types/observation-choice-not-allowed.json",
        VALUE_TYPES,
        ["error type.choice.not-allowed @ Observation.value"],  # valueBoolean where Quantity | string
        id="type-not-allowed-by-profile",
    ),
    pytest.param(
        "types/observation-simplequantity-comparator.json",
        None,
        # SimpleQuantity (the type profile of referenceRange.low) fixes comparator to 0..0; sqty-1 says
        # the same and is checked in test_validation_invariants
        ["error cardinality.max @ Observation.referenceRange[0].low.comparator"],
        id="simple-quantity-comparator",
    ),
]


@pytest.mark.parametrize(("name", "profile", "expected"), CHOICE)
def test_choice_and_type_profiles(
    r4_fixtures: FixtureRunner, name: str, profile: str | None, expected: list[str]
) -> None:
    outcome = r4_fixtures.validate(name, [profile] if profile else [])
    assert r4_fixtures.findings(outcome) == sorted(expected)


def test_a_type_name_the_element_does_not_have_is_unknown(r4_fixtures: FixtureRunner) -> None:
    payload = {"resourceType": "Patient", "deceasedString": "yes"}  # deceased[x] is boolean | dateTime
    outcome = r4_fixtures.validate_data(payload)
    assert [issue.location for issue in outcome.errors] == ["Patient.deceased"]


def test_profile_limits(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("types/patient-types-invalid.json", [PATIENT_TYPES])
    assert r4_fixtures.findings(outcome) == sorted(
        [
            "error type.max-length @ Patient.name[0].family",  # 17 characters, maxLength 10
            "error value.max @ Patient.multipleBirth",  # 10, maxValueInteger 9
            "warning type.regex.invalid @ Patient.name[0].prefix[0]",  # the profile's regex does not compile
            "warning type.regex.too-costly @ Patient.telecom[0].value",  # catastrophic backtracking, stopped
        ]
    )
    assert not outcome.valid


@pytest.mark.parametrize(
    ("suffix", "expected"), [("J", ["error type.min-length @ Patient.name[0].suffix[0]"]), ("Jr", [])]
)
def test_min_length_extension(r4_fixtures: FixtureRunner, suffix: str, expected: list[str]) -> None:
    # test-patient-types puts the minLength extension (2) on Patient.name.suffix
    payload = {"resourceType": "Patient", "name": [{"family": "Smith", "suffix": [suffix]}]}
    outcome = r4_fixtures.validate_data(payload, [PATIENT_TYPES])
    assert r4_fixtures.findings(outcome) == expected


def test_min_value(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("types/patient-types-below-min.json", [PATIENT_TYPES])
    assert r4_fixtures.findings(outcome) == ["error value.min @ Patient.multipleBirth"]


def test_regex_extension_on_the_element(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("types/patient-regex-mismatch.json", [PATIENT_TYPES])
    # the value is an NHS number system's, so the UK identifier rule speaks too
    assert r4_fixtures.findings(outcome) == [
        "error identifier.nhs-number.format @ Patient.identifier[0].value",
        "error type.regex @ Patient.identifier[0].value",
    ]
