"""Structure: unknown elements, JSON types, arrays, resourceType, empty values, `_name` siblings, Resource.id.

Payloads are in fixtures/validation/structure; every test states the exact issues (severity, message id,
location) the engine must report. See conftest.py for how outcomes are turned into those strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared

UNKNOWN_URL = "http://unknown.test/fhir/StructureDefinition/x"


def test_valid_patient_with_primitive_siblings_is_clean(r4_fixtures: FixtureRunner) -> None:
    # ids and extensions on primitives, nulls aligning `given` with `_given`, an extension on birthDate
    outcome = r4_fixtures.validate("structure/patient-valid.json")
    assert r4_fixtures.problems(outcome) == []
    assert outcome.valid


INVALID = [
    pytest.param(
        "structure/patient-unknown-elements.json",
        [
            "error structure.unknown-property @ Patient.foo",
            "error structure.unknown-property @ Patient.name[0].nickname",
        ],
        id="unknown-elements",
    ),
    pytest.param(
        "structure/patient-wrong-json-types.json",
        [
            "error type.json-type @ Patient.active",  # "true" for a boolean
            "error type.json-type @ Patient.birthDate",  # an object for a primitive
            "error type.json-type @ Patient.maritalStatus",  # a string for a complex type
            "error type.json-type @ Patient.multipleBirth",  # "2" for an integer
            "error type.json-type @ Patient.name[0].family",  # 42 for a string
        ],
        id="wrong-json-types",
    ),
    pytest.param(
        "structure/patient-array-mismatch.json",
        [
            "error structure.array-not-allowed @ Patient.gender",  # a list where one value is allowed
            "error structure.array-expected @ Patient.name",  # one object where a list is required
        ],
        id="array-mismatch",
    ),
    pytest.param(
        "structure/unknown-resource-type.json",
        ["error resource.type-unknown @ Patinet"],
        id="unknown-resource-type",
    ),
    pytest.param(
        "structure/patient-empty-values.json",
        [
            "error structure.empty-array @ Patient.identifier",
            "error structure.empty-object @ Patient.name[0]",
            "error type.empty-string @ Patient.telecom[0].value",
        ],
        id="empty-values",
    ),
    pytest.param(
        "structure/patient-primitive-siblings.json",
        [
            "error structure.null @ Patient.name[0].given[1]",  # null with no `_given` to explain it
            "error structure.empty-object @ Patient.gender",  # `_gender: {}`
            "error type.json-type @ Patient.birthDate",  # `_birthDate` is a string, not an object
        ],
        id="primitive-siblings",
    ),
    pytest.param(
        "structure/patient-id-extension.json",
        [
            "error structure.resource-id-extension @ Patient.id",
            "error extension.unknown-not-allowed @ Patient.id.extension[0]",
        ],
        id="resource-id-extension",
    ),
    pytest.param(
        "structure/patient-bad-contained.json",
        ["error type.json-type @ Patient.contained[0]", "error resource.type-missing @ Patient.contained[1]"],
        id="bad-contained",
    ),
]


@pytest.mark.parametrize(("name", "expected"), INVALID)
def test_invalid_structure(r4_fixtures: FixtureRunner, name: str, expected: list[str]) -> None:
    outcome = r4_fixtures.validate(name)
    assert r4_fixtures.findings(outcome) == sorted(expected)
    assert not outcome.valid


def test_missing_resource_type_is_one_error(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("structure/no-resource-type.json")
    assert [issue.message_id for issue in outcome.errors] == ["resource.type-missing"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # an extension-only primitive: `_given` longer than `given` is fine
        (
            {"given": ["Ann"], "_given": [None, {"extension": [{"url": UNKNOWN_URL, "valueString": "y"}]}]},
            ["error extension.unknown-not-allowed @ Patient.name[0].given[1].extension[0]"],
        ),
        # a `_name` sibling of a complex element is not FHIR JSON
        (
            {"_period": {"id": "p"}, "period": {"start": "2020-01-01"}},
            ["error structure.unknown-property @ Patient.name[0].period"],
        ),
        # an id alone is no content (ele-1 is an invariant; the shape itself is accepted)
        ({"_family": {"id": "f1"}, "family": "Smith"}, []),
    ],
    ids=["extension-only-primitive", "sibling-of-complex", "id-only-sibling"],
)
def test_name_siblings(r4_fixtures: FixtureRunner, extra: dict[str, Any], expected: list[str]) -> None:
    payload = {"resourceType": "Patient", "id": "siblings", "name": [{"family": "Smith", **extra}]}
    assert r4_fixtures.findings(r4_fixtures.validate_data(payload)) == sorted(expected)


def test_nested_resource_without_type_is_reported_where_it_is(r4_fixtures: FixtureRunner) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "resource": {"id": "x"}}],
    }
    outcome = r4_fixtures.validate_data(bundle)
    assert r4_fixtures.findings(outcome) == ["error resource.type-missing @ Bundle.entry[0].resource"]


def test_file_path_gives_positions(r4_fixtures: FixtureRunner) -> None:
    name = "structure/patient-unknown-elements.json"
    outcome = r4_fixtures.validate_file(name)
    positions = {issue.location: (issue.line, issue.column) for issue in outcome.errors}
    source_lines = r4_fixtures.path(name).read_text(encoding="utf-8").splitlines()
    for location, key in (("Patient.foo", '"foo"'), ("Patient.name[0].nickname", '"nickname"')):
        line, column = positions[location]
        assert line is not None and column is not None
        assert key in source_lines[line - 1]


def test_json_file_and_dict_agree(r4_fixtures: FixtureRunner) -> None:
    name = "structure/patient-wrong-json-types.json"
    from_file = r4_fixtures.findings(r4_fixtures.validate_file(name))
    assert from_file == r4_fixtures.findings(r4_fixtures.validate(name))


@pytest.mark.parametrize(
    ("xml_name", "json_name", "profile"),
    [
        ("structure/patient-valid.xml", "structure/patient-valid.json", None),
        ("cardinality/patient-invalid.xml", "cardinality/patient-invalid.json", "test-patient-cardinality"),
        (
            "references/observation-contained-missing.xml",
            "references/observation-contained-missing.json",
            None,
        ),
    ],
    ids=["valid-patient", "cardinality", "contained-reference"],
)
def test_xml_twin_validates_like_json(
    r4_fixtures: FixtureRunner, xml_name: str, json_name: str, profile: str | None
) -> None:
    profiles = [profile] if profile else []
    from_xml = r4_fixtures.validate_file(xml_name, profiles)
    from_json = r4_fixtures.validate_file(json_name, profiles)
    assert r4_fixtures.findings(from_xml, invariants=True) == r4_fixtures.findings(from_json, invariants=True)
    assert all(issue.line is not None for issue in from_xml.errors)
