"""Slicing: each discriminator type, closed / open / openAtEnd, ordered, no discriminator, extensions by url.

Profiles (fixtures/validation/profiles), named test-<...>:
- observation-category-slices: category, pattern:$this, closed; vitalSigns 1..1, laboratory 0..1
- observation-value-type-slice: value[x], type:$this, open; the valueQuantity slice needs a unit
- bundle-type-slices: entry, type:resource, closed, ordered; patient 1..1, then observation 0..*
- bundle-profile-slices: entry, profile:resource, open; namedPatient 1..1 (conforms to test-patient-named)
- patient-contact-exists: contact, exists:organization, closed; organisation 0..1, person 0..* (with a name)
- patient-telecom-order: telecom, value:system, ordered, openAtEnd; phone, then email
- patient-telecom-open-at-end: telecom, value:system, unordered, openAtEnd; phone
- patient-address-nodisc: address, no discriminator, open; home 1..1 (use fixed to home)
- patient-extension-slices: extension by url; favouriteColour 1..1, consent 0..1 (complex)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pytest

from conformance.validation import Validator
from conformance.validation.report import Loc, Reporter
from conformance.validation.slicing import SlicingChecks, _EntryTests
from conformance.validation.walker import Item, Walker

if TYPE_CHECKING:
    from conformance.context import Context
    from conformance.validation.walker import Frame
    from conftest import FixtureRunner

EXAMPLE = "http://example.org/fhir/StructureDefinition/"

pytestmark = pytest.mark.shared


CATEGORY = "test-observation-category-slices"
VALUE_TYPE = "test-observation-value-type-slice"

VALID = [
    pytest.param("slicing/observation-category-valid.json", CATEGORY, id="pattern"),
    pytest.param("slicing/observation-value-type-valid.json", VALUE_TYPE, id="type-choice"),
    pytest.param("slicing/observation-value-type-other.json", VALUE_TYPE, id="type-open"),
    pytest.param("slicing/bundle-type-valid.json", "test-bundle-type-slices", id="type-resource"),
    pytest.param("slicing/bundle-profile-valid.json", "test-bundle-profile-slices", id="profile"),
    pytest.param("slicing/patient-contact-valid.json", "test-patient-contact-exists", id="exists"),
    pytest.param("slicing/patient-telecom-valid.json", "test-patient-telecom-order", id="ordered"),
    pytest.param("slicing/patient-address-valid.json", "test-patient-address-nodisc", id="no-discriminator"),
    pytest.param(
        "slicing/patient-extension-valid.json",
        "test-patient-extension-slices",
        id="extension-url",
    ),
]


@pytest.mark.parametrize(("name", "profile"), VALID)
def test_valid_payload_is_clean(r4_fixtures: FixtureRunner, name: str, profile: str) -> None:
    outcome = r4_fixtures.validate(name, [profile])
    assert r4_fixtures.problems(outcome) == []


def test_valid_extension_slices_have_no_errors(r4_fixtures: FixtureRunner) -> None:
    # the part of the case above that holds today: the slices match and nothing is an error
    outcome = r4_fixtures.validate("slicing/patient-extension-valid.json", ["test-patient-extension-slices"])
    assert outcome.errors == ()


INVALID = [
    pytest.param(
        "slicing/observation-category-invalid.json",
        CATEGORY,
        ["error slice.min @ Observation", "error slice.no-match @ Observation.category[1]"],  # survey: closed
        id="pattern-closed",
    ),
    pytest.param(
        "slicing/observation-value-type-invalid.json",
        VALUE_TYPE,
        ["error cardinality.min @ Observation.value"],  # valueQuantity is the slice; its unit is missing
        id="type-choice",
    ),
    pytest.param(
        "slicing/bundle-type-invalid.json",
        "test-bundle-type-slices",
        # Observation before Patient in an ordered slicing; an Organization in a closed one
        ["error slice.order @ Bundle.entry[1]", "error slice.no-match @ Bundle.entry[2]"],
        id="type-closed-ordered",
    ),
    pytest.param(
        "slicing/bundle-profile-invalid.json",
        "test-bundle-profile-slices",
        ["error slice.min @ Bundle"],  # the only Patient has no name, so it is not a namedPatient
        id="profile",
    ),
    pytest.param(
        "slicing/patient-contact-invalid.json",
        "test-patient-contact-exists",
        [
            "error slice.max @ Patient",  # two contacts with an organization
            "error cardinality.min @ Patient.contact[2]",  # no organization: a person, who needs a name
        ],
        id="exists",
    ),
    pytest.param(
        "slicing/patient-telecom-out-of-order.json",
        "test-patient-telecom-order",
        ["error slice.order @ Patient.telecom[1]"],  # email before phone
        id="ordered",
    ),
    pytest.param(
        "slicing/patient-telecom-open-at-end.json",
        "test-patient-telecom-open-at-end",
        ["error slice.open-at-end @ Patient.telecom[1]"],  # fax (no slice) before phone
        id="open-at-end",
    ),
    pytest.param(
        "slicing/patient-telecom-open-at-end.json",
        "test-patient-telecom-order",
        ["error slice.open-at-end @ Patient.telecom[1]"],
        id="open-at-end-and-ordered",
    ),
    pytest.param(
        "slicing/patient-address-invalid.json",
        "test-patient-address-nodisc",
        ["error slice.min @ Patient"],  # no address has use=home
        id="no-discriminator",
    ),
    pytest.param(
        "slicing/patient-extension-invalid.json",
        "test-patient-extension-slices",
        ["error slice.min @ Patient"],  # favouriteColour is missing; patient-importance is fine (open)
        id="extension-url-min",
    ),
    pytest.param(
        "slicing/patient-extension-too-many.json",
        "test-patient-extension-slices",
        ["error slice.max @ Patient"],
        id="extension-url-max",
    ),
]


@pytest.mark.parametrize(("name", "profile", "expected"), INVALID)
def test_slicing_violations(r4_fixtures: FixtureRunner, name: str, profile: str, expected: list[str]) -> None:
    outcome = r4_fixtures.validate(name, [profile])
    assert r4_fixtures.findings(outcome) == sorted(expected)
    assert not outcome.valid


def test_closed_identifier_slicing(r4_fixtures: FixtureRunner) -> None:
    # the open profile accepts the third identifier; the closed twin does not
    name = "cardinality/patient-slices-valid.json"
    assert r4_fixtures.findings(r4_fixtures.validate(name, ["test-patient-identifier-slices"])) == []
    closed = r4_fixtures.validate(name, ["test-patient-identifier-closed"])
    assert r4_fixtures.findings(closed) == ["error slice.no-match @ Patient.identifier[2]"]


def test_slice_rules_apply_to_the_items_of_the_slice(r4_fixtures: FixtureRunner) -> None:
    payload = r4_fixtures.load("cardinality/patient-slices-valid.json")
    del payload["identifier"][0]["value"]  # the nhsNumber slice requires a value
    outcome = r4_fixtures.validate_data(payload, ["test-patient-identifier-slices"])
    assert r4_fixtures.findings(outcome) == ["error cardinality.min @ Patient.identifier[0]"]


def test_slice_issues_carry_the_slice_and_profile(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("slicing/observation-category-invalid.json", [CATEGORY])
    described = sorted((issue.message_id, issue.element_id, issue.profile) for issue in outcome.errors)
    profile = "http://example.org/fhir/StructureDefinition/test-observation-category-slices|0.1.0"
    assert described == [
        ("slice.min", "Observation.category:vitalSigns", profile),
        ("slice.no-match", "Observation.category", profile),
    ]


def test_profile_discriminator_does_not_leak_trial_issues(r4_fixtures: FixtureRunner) -> None:
    # matching the unnamed Patient against the namedPatient slice fails; that trial must not be reported
    outcome = r4_fixtures.validate("slicing/bundle-profile-valid.json", ["test-bundle-profile-slices"])
    assert not any(issue.location.startswith("Bundle.entry[0]") for issue in outcome.issues)


def test_one_validator_answers_each_payload_alike_in_any_order(
    r4_fixtures: FixtureRunner, r4_context: Context
) -> None:
    """What slicing works out once per sliced element (paths, targets, fixed values, types) must hold for
    every payload: two validators meeting the same payloads in opposite orders report the same issues."""
    cases = [(str(p.values[0]), str(p.values[1])) for p in (*VALID, *INVALID)]
    runner = type(r4_fixtures)
    forwards, backwards = runner(Validator(r4_context)), runner(Validator(r4_context))

    def issues(fixtures: FixtureRunner, name: str, profile: str) -> list[tuple[str, str, str, str]]:
        outcome = fixtures.validate(name, [profile])
        return [(str(i.severity), i.message_id, i.location, i.message) for i in outcome.issues]

    first = {case: issues(forwards, *case) for case in cases}
    second = {case: issues(backwards, *case) for case in reversed(cases)}
    assert first == second
    assert all(first[(str(p.values[0]), str(p.values[1]))] for p in INVALID)  # each invalid one reports


def _two_slicings_profile() -> dict[str, Any]:
    """A Patient profile slicing two elements of one resource by the same kind of discriminator."""
    url = "http://example.org/fhir/StructureDefinition/test-two-slicings"

    def sliced(path: str) -> dict[str, Any]:
        slicing = {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}
        return {"id": path, "path": path, "slicing": slicing}

    def one_slice(path: str, name: str, system: str, system_type: str) -> list[dict[str, Any]]:
        slice_id = f"{path}:{name}"
        return [
            {"id": slice_id, "path": path, "sliceName": name, "min": 1, "max": "1"},
            {"id": f"{slice_id}.system", "path": f"{path}.system", "min": 1, f"fixed{system_type}": system},
        ]

    elements = [
        {"id": "Patient", "path": "Patient"},
        sliced("Patient.identifier"),
        *one_slice("Patient.identifier", "nhs", "https://fhir.nhs.uk/Id/nhs-number", "Uri"),
        sliced("Patient.telecom"),
        *one_slice("Patient.telecom", "phone", "phone", "Code"),
    ]
    return {
        "resourceType": "StructureDefinition",
        "url": url,
        "name": "TestTwoSlicings",
        "status": "draft",
        "kind": "resource",
        "abstract": False,
        "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "derivation": "constraint",
        "differential": {"element": elements},
    }


def test_each_sliced_element_is_judged_by_its_own_slices(r4_context: Context) -> None:
    profile = _two_slicings_profile()
    validator = Validator(r4_context.with_resources([profile]))
    nhs = {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}
    phone = {"system": "phone", "value": "01234"}
    payloads = {
        "both": {"resourceType": "Patient", "identifier": [nhs], "telecom": [phone]},
        "two-phones": {"resourceType": "Patient", "identifier": [nhs], "telecom": [phone, dict(phone)]},
        "no-nhs": {"resourceType": "Patient", "identifier": [{"value": "x"}], "telecom": [phone]},
    }
    found = {
        name: sorted(
            (i.message_id, i.element_id)
            for i in validator.validate(payload, profiles=[profile["url"]]).errors
            if i.message_id.startswith("slice.")
        )
        for name, payload in payloads.items()
    }
    assert found == {
        "both": [],
        "two-phones": [("slice.max", "Patient.telecom:phone")],
        "no-nhs": [("slice.min", "Patient.identifier:nhs")],
    }


def test_extensions_find_their_slices_by_url_as_testing_each_slice_would(r4_validator: Validator) -> None:
    """Extension slicing by url looks each extension's slices up by its url: whatever the extension holds,
    that lookup finds the slices that testing each slice's url finds."""
    engine = r4_validator.engine
    plan = engine.definitions.plan(EXAMPLE + "test-patient-extension-slices")
    assert plan is not None
    entry = plan.element("Patient.extension")
    assert entry is not None
    tests = _EntryTests(entry, plan)
    assert tests.by_url is not None  # the fixture slices extensions by url
    each_tested = _EntryTests(entry, plan)
    each_tested.by_url = None
    colour = EXAMPLE + "ext-favourite-colour"
    values: list[Any] = [
        {"url": colour, "valueString": "green"},
        {"url": EXAMPLE + "ext-complex-consent"},
        {"url": "http://unknown.test/x"},
        {"valueString": "no url"},
        {"url": [colour]},
        {"url": 7},
        {"urlOther": colour},
        "not an object",
    ]
    checks, walker = SlicingChecks(), Walker(engine, Reporter())
    frame = cast("Frame", None)  # url tests read the value only
    for value in values:
        item = Item(value, None, Loc.root("Patient").child("extension", 0), "extension", None)
        looked_up = [s.slice_name for s in checks._matching(walker, item, tests, frame)]
        tested = [s.slice_name for s in checks._matching(walker, item, each_tested, frame)]
        assert looked_up == tested, value
