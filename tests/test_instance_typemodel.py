"""TypeModel: element layout from base StructureDefinitions (a small hand-made set, then the real cores)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from conformance.context import Context
from conformance.definitions.typemodel import TypeModel, is_primitive_type
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings

FHIR_TYPE = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


def element(path: str, *codes: str, max: str = "1", **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"path": path, "min": 0, "max": max, **extra}
    if codes:
        found["type"] = [{"code": code} for code in codes]
    return found


def definition(type_name: str, kind: str, *elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "type": type_name,
        "kind": kind,
        "derivation": "specialization",
        "snapshot": {"element": [element(type_name), *elements]},
        **extra,
    }


WIDGET = definition(
    "Widget",
    "resource",
    element(
        "Widget.id",
        type=[
            {
                "code": "http://hl7.org/fhirpath/System.String",
                "extension": [{"url": FHIR_TYPE, "valueUrl": "id"}],
            }
        ],
    ),
    element("Widget.text", "Narrative"),
    element("Widget.contained", "Resource", max="*"),
    element("Widget.part", "BackboneElement", max="1", base={"path": "Widget.part", "min": 0, "max": "*"}),
    element("Widget.part.label", "string"),
    element("Widget.part.sub", max="*", contentReference="#Widget.part"),
    element("Widget.part", "BackboneElement", max="1", sliceName="first"),
    element("Widget.part.secret", "string", sliceName="first"),
    element("Widget.value[x]", "string", "Quantity"),
    element("Widget.valueSet", "canonical"),
    element("Widget.note", type=[{"code": "http://hl7.org/fhirpath/System.String"}]),
)
STRING = definition(
    "string",
    "primitive-type",
    element("string.id", "string", representation=["xmlAttr"]),
    element("string.extension", "Extension", max="*"),
    element("string.value", representation=["xmlAttr"]),
)
QUANTITY = definition("Quantity", "complex-type", element("Quantity.value", "decimal"))
SIMPLE_QUANTITY = {
    **definition("Quantity", "complex-type", element("Quantity.value", "decimal")),
    "derivation": "constraint",
    "name": "SimpleQuantity",
}


class Definitions:
    """A DefinitionSource over a dict, counting the look-ups."""

    def __init__(self, definitions: Mapping[str, dict[str, Any]]) -> None:
        self.definitions = definitions
        self.asked: Counter[str] = Counter()

    def structure_definition(self, url_or_type: str) -> Mapping[str, Any] | None:
        self.asked[url_or_type] += 1
        return self.definitions.get(url_or_type)


@pytest.fixture
def model() -> TypeModel:
    return TypeModel(
        Definitions(
            {"Widget": WIDGET, "string": STRING, "Quantity": QUANTITY, "SimpleQuantity": SIMPLE_QUANTITY}
        )
    )


def test_children_of_a_type_and_of_a_backbone_element(model: TypeModel) -> None:
    part = model.child("Widget", "Widget", "part")
    assert part is not None
    assert (part.path, part.repeats, part.type_codes) == ("Widget.part", True, ("BackboneElement",))
    assert (part.element_type, part.element_path) == ("Widget", "Widget.part")

    label = model.child(part.element_type, part.element_path, "label")
    assert label is not None
    assert (label.path, label.repeats, label.is_primitive) == ("Widget.part.label", False, True)
    assert (label.element_type, label.element_path) == ("string", "string")


def test_repetition_follows_the_base_cardinality(model: TypeModel) -> None:
    part = model.child("Widget", "Widget", "part")

    assert part is not None and part.repeats  # max 1 in the snapshot, but base.max is *


def test_sliced_elements_are_not_children(model: TypeModel) -> None:
    assert model.child("Widget", "Widget.part", "secret") is None


def test_choice_names_resolve_to_their_type(model: TypeModel) -> None:
    quantity = model.child("Widget", "Widget", "valueQuantity")
    string = model.child("Widget", "Widget", "valueString")

    assert quantity is not None and string is not None
    assert (quantity.path, quantity.choice_type, quantity.type_code, quantity.is_primitive) == (
        "Widget.value[x]",
        "Quantity",
        "Quantity",
        False,
    )
    assert (quantity.element_type, quantity.element_path) == ("Quantity", "Quantity")
    assert (string.choice_type, string.is_primitive) == ("string", True)


def test_a_stem_that_prefixes_another_element_is_not_confused(model: TypeModel) -> None:
    value_set = model.child("Widget", "Widget", "valueSet")

    assert value_set is not None
    assert (value_set.path, value_set.choice_type, value_set.type_code) == (
        "Widget.valueSet",
        None,
        "canonical",
    )
    assert model.child("Widget", "Widget", "value") is None
    assert model.child("Widget", "Widget", "valueBoolean") is None
    assert model.child("Widget", "Widget", "valuequantity") is None


def test_content_references_point_back_at_the_referenced_element(model: TypeModel) -> None:
    sub = model.child("Widget", "Widget.part", "sub")

    assert sub is not None
    assert (sub.content_reference, sub.repeats) == ("#Widget.part", True)
    assert (sub.element_type, sub.element_path) == ("Widget", "Widget.part")
    assert model.child(sub.element_type, sub.element_path, "label") is not None


def test_fhirpath_system_types_are_fhir_primitives(model: TypeModel) -> None:
    identity = model.child("Widget", "Widget", "id")
    note = model.child("Widget", "Widget", "note")

    assert identity is not None and note is not None
    assert (identity.type_codes, identity.is_primitive) == (("id",), True)
    assert (note.type_codes, note.is_primitive) == (("string",), True)


def test_xml_representation_is_reported(model: TypeModel) -> None:
    identity = model.child("string", "string", "id")
    extension = model.child("string", "string", "extension")

    assert identity is not None and identity.is_xml_attribute
    assert extension is not None and not extension.is_xml_attribute


def test_constraints_use_their_base_type_layout(model: TypeModel) -> None:
    value = model.child("SimpleQuantity", "SimpleQuantity", "value")

    assert value is not None and value.path == "Quantity.value"


def test_unknown_types_and_names(model: TypeModel) -> None:
    assert model.child("Gadget", "Gadget", "id") is None
    assert model.child("Widget", "Widget", "nothing") is None
    assert model.child("Widget", "Widget.nowhere", "label") is None
    assert not model.has_type("Gadget")
    assert model.has_type("Widget")
    assert model.is_resource("Widget")
    assert not model.is_resource("Quantity")


def test_each_type_is_read_once() -> None:
    source = Definitions({"Widget": WIDGET, "string": STRING})
    model = TypeModel(source)

    for _ in range(3):
        model.child("Widget", "Widget", "part")
        model.child("Widget", "Widget.part", "label")
        model.child("Gadget", "Gadget", "x")

    assert source.asked == Counter({"Widget": 1, "Gadget": 1})


def test_broken_definitions_give_no_children() -> None:
    model = TypeModel(
        Definitions(
            {
                "NoSnapshot": {"resourceType": "StructureDefinition", "kind": "resource"},
                "BadElements": {"snapshot": {"element": "not a list"}},
                "BadMax": definition("BadMax", "resource", element("BadMax.a", "string", max="many")),
            }
        )
    )

    assert model.child("NoSnapshot", "NoSnapshot", "id") is None
    assert model.child("BadElements", "BadElements", "id") is None
    bad_max = model.child("BadMax", "BadMax", "a")
    assert bad_max is not None and not bad_max.repeats


def test_primitive_codes_start_lower_case() -> None:
    assert is_primitive_type("dateTime") and is_primitive_type("xhtml")
    assert not is_primitive_type("HumanName") and not is_primitive_type("")


# -- the real core definitions ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def r4_model(shared_settings: Settings) -> TypeModel:
    return TypeModel(Context.build(shared_settings, FhirVersion.R4, implicit_packages=False))


@pytest.fixture(scope="module")
def stu3_model(shared_settings: Settings) -> TypeModel:
    return TypeModel(Context.build(shared_settings, FhirVersion.STU3, implicit_packages=False))


@pytest.mark.shared
@pytest.mark.parametrize("version", ["r4", "stu3"])
def test_core_layout_in_both_versions(version: str, request: pytest.FixtureRequest) -> None:
    model: TypeModel = request.getfixturevalue(f"{version}_model")

    name = model.child("Patient", "Patient", "name")
    assert name is not None and name.repeats and name.element_type == "HumanName"
    resource_id = model.child("Patient", "Patient", "id")
    assert resource_id is not None and resource_id.is_primitive and not resource_id.is_xml_attribute
    element_id = model.child("HumanName", "HumanName", "id")
    assert element_id is not None and element_id.is_xml_attribute
    url = model.child("Extension", "Extension", "url")
    assert url is not None and url.is_xml_attribute
    div = model.child("Narrative", "Narrative", "div")
    assert div is not None and div.is_xhtml
    nested = model.child("Questionnaire", "Questionnaire.item", "item")
    assert nested is not None and (nested.element_type, nested.element_path) == (
        "Questionnaire",
        "Questionnaire.item",
    )
    entry_resource = model.child("Bundle", "Bundle.entry", "resource")
    assert entry_resource is not None and entry_resource.type_code is not None
    assert model.is_resource(entry_resource.type_code)
    quantity = model.child("Observation", "Observation", "valueQuantity")
    assert quantity is not None and quantity.choice_type == "Quantity" and not quantity.repeats


@pytest.mark.shared
def test_version_differences_come_from_the_definitions(r4_model: TypeModel, stu3_model: TypeModel) -> None:
    assert stu3_model.child("Observation", "Observation", "valueAttachment") is not None
    assert r4_model.child("Observation", "Observation", "valueAttachment") is None
    assert r4_model.child("Observation", "Observation", "valueInteger") is not None
    assert stu3_model.child("Observation", "Observation", "valueInteger") is None
    boolean_value = r4_model.child("boolean", "boolean", "value")
    assert boolean_value is not None and boolean_value.type_codes == ("boolean",)
