"""Extensions: known and unknown, modifier extensions, value types, context of use, complex extensions.

Definitions (fixtures/validation/profiles): ext-favourite-colour (valueString, on Patient), ext-name-note
(valueString, on HumanName), ext-complex-consent (sub-extensions status 1..1 valueCode and note 0..1
valueString, closed, on Patient), ext-modifier-flag (a modifier, valueBoolean, on Patient); and core ones
(patient-birthPlace valueAddress on Patient, iso21090-EN-qualifier valueCode on HumanName.given ...).
Unknown extensions use the reserved `.test` domain: example.org URLs are treated as placeholders.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.errors import UsageError
from conformance.fhirversion import FhirVersion
from conformance.validation import ValidationOptions, Validator
from conformance.validation.extensions import ExtensionChecks, _ContextsOfUse
from conformance.validation.report import Loc

if TYPE_CHECKING:
    from conformance.context import Context
    from conformance.definitions.plan import ElementRule, Plan
    from conformance.validation.walker import Frame, Walker
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "validation"


def test_valid_extensions_are_clean(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("extensions/patient-valid.json")
    assert r4_fixtures.problems(outcome) == []


def test_valid_extensions_have_no_errors(r4_fixtures: FixtureRunner) -> None:
    # simple, complex and modifier extensions, on the resource, on a datatype and on a primitive
    outcome = r4_fixtures.validate("extensions/patient-valid.json")
    assert outcome.errors == ()


INVALID = [
    pytest.param(
        "extensions/patient-unknown-modifier.json",
        ["error extension.unknown-not-allowed @ Patient.modifierExtension[0]"],
        id="unknown-modifier",
    ),
    pytest.param(
        "extensions/observation-wrong-context.json",
        [
            "error extension.context @ Observation.extension[0]",  # ext-favourite-colour: Patient only
            "error extension.context @ Observation.extension[1]",  # patient-birthPlace: Patient only
        ],
        id="wrong-resource",
    ),
    pytest.param(
        "extensions/patient-name-note-misplaced.json",
        ["error extension.context @ Patient.extension[0]"],  # ext-name-note: HumanName only
        id="wrong-element",
    ),
    pytest.param(
        "extensions/patient-url-missing.json",
        # as the HL7 validator: the missing url, and Extension.url 1..1
        [
            "error extension.url-missing @ Patient.extension[0]",
            "error cardinality.min @ Patient.extension[0]",
        ],
        id="url-missing",
    ),
    pytest.param(
        "extensions/patient-wrong-value-type.json",
        [
            "error type.choice.not-allowed @ Patient.extension[0].value",  # valueInteger, string expected
            "error type.choice.not-allowed @ Patient.extension[1].value",  # valueString, Address expected
        ],
        id="wrong-value-type",
    ),
    pytest.param(
        "extensions/patient-complex-invalid.json",
        [
            "error slice.min @ Patient.extension[0]",  # the required 'status' sub-extension is missing
            "error slice.no-match @ Patient.extension[0].extension[1]",  # 'bogus': the slicing is closed
        ],
        id="complex",
    ),
]


@pytest.mark.parametrize(("name", "expected"), INVALID)
def test_extension_errors(r4_fixtures: FixtureRunner, name: str, expected: list[str]) -> None:
    outcome = r4_fixtures.validate(name)
    assert r4_fixtures.findings(outcome) == sorted(expected)
    assert not outcome.valid


def test_unknown_extension_is_an_error_by_default(r4_fixtures: FixtureRunner) -> None:
    # as the HL7 validator: an extension must have a definition to be allowed
    outcome = r4_fixtures.validate("extensions/patient-unknown.json")
    assert r4_fixtures.findings(outcome) == ["error extension.unknown-not-allowed @ Patient.extension[0]"]


def test_unknown_extensions_can_be_made_warnings(r4_context: Context) -> None:
    validator = Validator(r4_context, options=ValidationOptions(unknown_extensions="warning"))
    payload = json.loads((FIXTURES / "extensions" / "patient-unknown.json").read_text())
    outcome = validator.validate(payload)
    assert [
        (i.severity.value, i.message_id) for i in outcome.issues if i.message_id.startswith("extension")
    ] == [("warning", "extension.unknown")]
    assert outcome.valid


def test_an_unknown_modifier_extension_is_always_an_error(r4_context: Context) -> None:
    validator = Validator(r4_context, options=ValidationOptions(unknown_extensions="warning"))
    payload = {
        "resourceType": "Patient",
        "modifierExtension": [{"url": "http://unknown.test/m", "valueBoolean": True}],
    }
    assert [i.message_id for i in validator.validate(payload).errors] == ["extension.unknown-not-allowed"]


def test_a_bad_unknown_extension_policy_is_refused() -> None:
    with pytest.raises(UsageError):
        ValidationOptions(unknown_extensions="ignore")


def test_example_org_extensions_are_placeholders(r4_fixtures: FixtureRunner) -> None:
    payload = {
        "resourceType": "Patient",
        "extension": [{"url": "http://example.org/fhir/StructureDefinition/made-up", "valueString": "x"}],
    }
    assert r4_fixtures.findings(r4_fixtures.validate_data(payload)) == []


def test_context_on_an_element_a_profile_unfolds(r4_fixtures: FixtureRunner) -> None:
    # test-patient-types constrains Patient.name.prefix, so the profile's snapshot unfolds HumanName
    outcome = r4_fixtures.validate("extensions/patient-profiled-element-context.json", ["test-patient-types"])
    assert r4_fixtures.findings(outcome) == []


def test_context_on_a_datatype_element_without_a_profile(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate("extensions/patient-profiled-element-context.json")
    assert r4_fixtures.findings(outcome) == []


def _patient_with(extension: dict[str, Any], where: str) -> dict[str, Any]:
    patient: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": "Smith"}]}
    patient["birthDate"] = "1980-01-01"
    if where == "resource":
        patient["extension"] = [extension]
    elif where == "name":
        patient["name"][0]["extension"] = [extension]
    else:
        patient["_birthDate"] = {"extension": [extension]}
    return patient


EXAMPLE = "http://example.org/fhir/StructureDefinition/"
CORE = "http://hl7.org/fhir/StructureDefinition/"
BIRTH_TIME = {"url": CORE + "patient-birthTime", "valueDateTime": "1980-01-01"}
DATA_ABSENT = {"url": CORE + "data-absent-reason", "valueCode": "unknown"}
QUALIFIER = {"url": CORE + "iso21090-EN-qualifier", "valueCode": "CL"}


@pytest.mark.parametrize(
    ("extension", "where", "expected"),
    [
        (BIRTH_TIME, "birthDate", []),  # context Patient.birthDate
        (BIRTH_TIME, "resource", ["error extension.context @ Patient.extension[0]"]),
        # iso21090-EN-qualifier is for HumanName.given, .family, .prefix and .suffix, not HumanName
        (QUALIFIER, "name", ["error extension.context @ Patient.name[0].extension[0]"]),
        (DATA_ABSENT, "birthDate", []),  # context Element: anywhere
        (DATA_ABSENT, "name", []),
    ],
    ids=[
        "birth-time-on-birth-date",
        "birth-time-on-resource",
        "qualifier-on-name",
        "absent-reason-on-date",
        "absent-reason-on-name",
    ],
)
def test_core_extension_contexts(
    r4_fixtures: FixtureRunner, extension: dict[str, Any], where: str, expected: list[str]
) -> None:
    outcome = r4_fixtures.validate_data(_patient_with(extension, where))
    assert r4_fixtures.findings(outcome) == expected


def test_known_modifier_extension_is_accepted_as_modifier(r4_fixtures: FixtureRunner) -> None:
    payload = {
        "resourceType": "Patient",
        "modifierExtension": [{"url": EXAMPLE + "ext-modifier-flag", "valueBoolean": True}],
    }
    assert r4_fixtures.findings(r4_fixtures.validate_data(payload)) == []


def test_extension_definition_rules_apply(r4_fixtures: FixtureRunner) -> None:
    # ext-favourite-colour needs a value (1..1) and allows no sub-extensions (0..0)
    payload = {
        "resourceType": "Patient",
        "extension": [
            {
                "url": EXAMPLE + "ext-favourite-colour",
                "extension": [{"url": "http://unknown.test/x", "valueString": "y"}],
            }
        ],
    }
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.findings(outcome) == sorted(
        [
            "error cardinality.max @ Patient.extension[0].extension[0]",
            "error cardinality.min @ Patient.extension[0]",
            "error extension.unknown-not-allowed @ Patient.extension[0].extension[0]",
        ]
    )


def _canonical_context_extension(expression: str) -> dict[str, Any]:
    url = "http://example.org/fhir/StructureDefinition/ext-on-canonical"
    return {
        "resourceType": "StructureDefinition",
        "url": url,
        "name": "ExtOnCanonical",
        "status": "draft",
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": expression}],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {
            "element": [
                {"id": "Extension", "path": "Extension"},
                {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
                {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "code"}]},
            ]
        },
    }


@pytest.mark.parametrize(
    ("expression", "payload", "refused_at"),
    [
        ("CanonicalResource", {"resourceType": "SearchParameter"}, []),
        ("CanonicalResource", {"resourceType": "ValueSet"}, []),
        ("MetadataResource", {"resourceType": "Questionnaire"}, []),
        ("CanonicalResource", {"resourceType": "Patient"}, ["Patient.extension[0]"]),
        (
            "CanonicalResource",
            {"resourceType": "ValueSet", "contact": [{"name": "x"}]},
            ["ValueSet.contact[0].extension[0]"],
        ),
        ("CanonicalResource.contact", {"resourceType": "ValueSet", "contact": [{"name": "x"}]}, []),
        (
            "CanonicalResource.contact",
            {"resourceType": "Patient", "contact": [{"gender": "male"}]},
            ["Patient.contact[0].extension[0]"],
        ),
    ],
)
def test_r5_canonical_resource_context_means_the_r4_canonical_types(
    r4_context: Context, expression: str, payload: dict[str, Any], refused_at: list[str]
) -> None:
    definition = _canonical_context_extension(expression)
    extension = [{"url": definition["url"], "valueCode": "x"}]
    if "contact" in payload:
        payload["contact"][0]["extension"] = extension
    else:
        payload["extension"] = extension
    outcome = Validator(r4_context.with_resources([definition])).validate(payload)
    assert [
        issue.location for issue in outcome.issues if issue.message_id == "extension.context"
    ] == refused_at


def test_the_extensions_pack_standards_status_is_allowed_on_a_search_parameter(r4_context: Context) -> None:
    payload = {
        "resourceType": "SearchParameter",
        "url": "http://example.org/sp",
        "name": "x",
        "status": "draft",
        "description": "x",
        "code": "x",
        "base": ["Patient"],
        "type": "token",
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
                "valueCode": "normative",
            }
        ],
    }
    outcome = Validator(r4_context).validate(payload)
    assert [i.message_id for i in outcome.issues if i.severity.value == "error"] == []


def test_an_unknown_extension_is_held_to_the_base_rules_under_a_profile_too(
    r4_fixtures: FixtureRunner,
) -> None:
    # Walked by the profile's extension slicing and by the base: each fault is found, and said once.
    payload = r4_fixtures.load("slicing/patient-extension-valid.json")
    payload["extension"].append({"url": "http://unknown.test/x", "valueBoolean": "yes"})
    outcome = r4_fixtures.validate_data(payload, ["test-patient-extension-slices"])
    assert [(i.message_id, i.location) for i in outcome.errors] == [
        ("extension.unknown-not-allowed", "Patient.extension[2]"),
        ("type.json-type", "Patient.extension[2].value"),
    ]


_CONTEXT_NAMES = [
    "Patient",
    "Patient.contact",
    "Patient.extension",
    "Extension",
    "Element",
    "Resource",
    "DomainResource",
    "ValueSet",
    "ValueSet.contact",
    "CanonicalResource",
    "CanonicalResource.contact",
    "MetadataResource",
    "ContactDetail",
    "",
]
_RESOURCE_TYPES = st.sampled_from(["Patient", "ValueSet", "Questionnaire"])
_PATHS = st.sampled_from([None, "", "Patient.contact", "ValueSet.contact", "Extension", "Element.extension"])


@settings(max_examples=300, deadline=None)
@given(
    expressions=st.lists(st.sampled_from(_CONTEXT_NAMES), min_size=1, max_size=3),
    resource_type=_RESOURCE_TYPES,
    on_resource=st.booleans(),
    rule_path=_PATHS,
    base_path=_PATHS,
    type_code=st.sampled_from([None, "ContactDetail", "BackboneElement", "Extension"]),
    extension_rule_path=st.sampled_from(
        ["Patient.extension", "ValueSet.contact.extension", "Extension.extension"]
    ),
)
def test_contexts_met_by_the_elements_own_names_agree_with_the_whole_test(
    *,
    expressions: list[str],
    resource_type: str,
    on_resource: bool,
    rule_path: str | None,
    base_path: str | None,
    type_code: str | None,
    extension_rule_path: str,
) -> None:
    """The quick test (`allow_by_name`, names worked out once per definition) never allows what the whole
    test refuses, and on the resource itself, where it sees every name the whole test does, it agrees."""
    definition = cast(
        "Plan", SimpleNamespace(context=tuple({"type": "element", "expression": e} for e in expressions))
    )
    quick = _ContextsOfUse.of(definition, FhirVersion.R4)
    root = Loc.root(resource_type)
    root.rule_path = root.type_code = resource_type
    holder = root
    if not on_resource:
        holder = root.child("contact", 0)
        holder.rule_path, holder.base_path, holder.type_code = rule_path, base_path, type_code
    rule = cast("ElementRule", SimpleNamespace(path=extension_rule_path))
    candidates = ExtensionChecks._candidates(rule, holder.child("extension", 0), FhirVersion.R4)
    whole = any(
        ExtensionChecks._allows(cast("Walker", None), c, candidates, [], cast("Frame", None))
        for c in definition.context
    )
    fast = quick.anywhere or quick.allow_by_name(rule, holder)
    assert whole or not fast
    if on_resource:
        assert fast == whole
