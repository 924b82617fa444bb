"""XML payloads: conversion to the FHIR JSON form, positions, FHIR XML rules and hostile input."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.context import Context
from conformance.definitions.typemodel import TypeModel
from conformance.fhirversion import FhirVersion
from conformance.instance import Limits, Parsed, parse, parse_file
from conformance.outcome import Severity
from conformance.settings import Settings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "instance"
EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "fhir-packages" / "_examples"
FHIR = 'xmlns="http://hl7.org/fhir"'


def summary(parsed: Parsed) -> list[tuple[str, str, str, int | None, int | None]]:
    return [
        (issue.severity.value, issue.message_id, issue.location, issue.line, issue.column)
        for issue in parsed.issues
    ]


def canonical(value: Any) -> str:
    """Order-free, type-strict text of a JSON form (a Decimal and an int or a string never compare equal)."""
    return json.dumps(value, sort_keys=True, default=repr, indent=1)


def examples_or_skip(folder: str) -> Path:
    path = EXAMPLES / folder
    if not path.is_dir():
        pytest.skip(f"needs the shared example instances at {path} (absent from this checkout)")
    return path


class NoDefinitions:
    def structure_definition(self, url_or_type: str) -> Mapping[str, Any] | None:
        return None


@pytest.fixture(scope="module")
def r4(shared_settings: Settings) -> TypeModel:
    return TypeModel(Context.build(shared_settings, FhirVersion.R4, implicit_packages=False))


@pytest.fixture(scope="module")
def stu3(shared_settings: Settings) -> TypeModel:
    return TypeModel(Context.build(shared_settings, FhirVersion.STU3, implicit_packages=False))


def patient(body: str, root_attributes: str = FHIR) -> bytes:
    return f"<Patient {root_attributes}>{body}</Patient>".encode()


# -- hostile input (no definitions needed: refused before any element is converted) -------------------------


@pytest.mark.parametrize(
    ("fixture", "position"),
    [("billion-laughs.xml", (2, 1)), ("external-entity.xml", (2, 1)), ("parameter-entity.xml", (2, 1))],
)
def test_documents_with_a_dtd_are_refused(fixture: str, position: tuple[int, int]) -> None:
    tracemalloc.start()
    try:
        parsed = parse_file(FIXTURES / fixture, model=TypeModel(NoDefinitions()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert parsed.resource is None
    (issue,) = parsed.issues
    assert (issue.severity, issue.code, issue.message_id) == (Severity.FATAL, "security", "xml.dtd-forbidden")
    assert issue.line == position[0]
    assert peak < 512 * 1024  # the entities were never expanded


def test_an_external_dtd_is_refused_and_never_fetched() -> None:
    parsed = parse_file(FIXTURES / "external-dtd.xml", model=TypeModel(NoDefinitions()))

    assert [issue.message_id for issue in parsed.issues] == ["xml.dtd-forbidden"]
    assert "http://127.0.0.1:9/fhir.dtd" in parsed.issues[0].message


def test_the_secret_of_an_external_entity_appears_nowhere() -> None:
    parsed = parse_file(FIXTURES / "external-entity.xml", model=TypeModel(NoDefinitions()))

    assert parsed.resource is None
    assert "root:" not in repr(parsed)


@pytest.mark.parametrize("wrap", ["<a>", '<extension url="u">'])
def test_ten_thousand_levels_of_nesting_are_fatal(wrap: str) -> None:
    closing = "</" + wrap[1:].split(" ", maxsplit=1)[0].rstrip(">") + ">"
    deep = patient(wrap * 10_000 + closing * 10_000)

    parsed = parse(deep, model=TypeModel(NoDefinitions()))

    assert parsed.resource is None
    assert [(i.severity.value, i.code, i.message_id) for i in parsed.issues] == [
        ("fatal", "too-costly", "xml.too-deep")
    ]


def test_nesting_limit_counts_elements() -> None:
    model = TypeModel(NoDefinitions())
    five_deep = patient("<a><b><c><d/></c></b></a>")

    assert parse(five_deep, model=model, limits=Limits(max_depth=5)).ok
    assert not parse(five_deep, model=model, limits=Limits(max_depth=4)).ok


def test_too_many_elements_are_fatal() -> None:
    many = patient("<a/>" * 100)

    parsed = parse(many, model=TypeModel(NoDefinitions()), limits=Limits(max_nodes=50))

    assert [issue.message_id for issue in parsed.issues] == ["payload.too-many-nodes"]


def test_an_xml_payload_over_the_byte_limit_is_refused() -> None:
    parsed = parse(patient("<a/>" * 100), model=TypeModel(NoDefinitions()), limits=Limits(max_bytes=64))

    assert [issue.message_id for issue in parsed.issues] == ["payload.too-large"]


@pytest.mark.parametrize(
    ("payload", "position", "reason"),
    [
        (b"<Patient xmlns='http://hl7.org/fhir'><name>", (1, 44), "no element found"),
        (b"<Patient xmlns='http://hl7.org/fhir'><name></Patient>", (1, 46), "mismatched tag"),
        (
            b"<Patient xmlns='http://hl7.org/fhir'><text value='&reg;'/></Patient>",
            (1, 38),
            "undefined entity",
        ),
        (b"<Patient xmlns='http://hl7.org/fhir'><text value='Zo\xeb'/></Patient>", (1, 53), "invalid token"),
        (b"<Patient xmlns='http://hl7.org/fhir'/><Patient/>", (1, 39), "junk after document element"),
        (b"  <?xml version='1.0'?><Patient/>", (1, 3), "XML or text declaration not at start of entity"),
    ],
)
def test_malformed_xml_is_fatal_with_a_position(
    payload: bytes, position: tuple[int, int], reason: str
) -> None:
    parsed = parse(payload, model=TypeModel(NoDefinitions()))

    assert parsed.resource is None
    (issue,) = parsed.issues
    assert (issue.severity, issue.code, issue.message_id) == (Severity.FATAL, "invalid", "xml.syntax")
    assert (issue.line, issue.column) == position
    assert reason in issue.message


def test_without_definitions_everything_is_kept_as_unknown() -> None:
    parsed = parse(patient('<name><given value="Ann"/></name>'), model=TypeModel(NoDefinitions()))

    assert parsed.resource == {"resourceType": "Patient", "name": {"given": "Ann"}}


# -- conversion, against the real core definitions --------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize("name", ["patient-features", "bundle-features"])
def test_fixture_converts_to_the_json_written_by_hand(name: str, r4: TypeModel) -> None:
    from_xml = parse_file(FIXTURES / f"{name}.xml", model=r4)
    from_json = parse_file(FIXTURES / f"{name}.json")

    assert from_xml.issues == ()
    assert canonical(from_xml.resource) == canonical(from_json.resource)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("path", "position"),
    [
        ((), (3, 1)),
        (("id",), (4, 3)),
        (("text", "div"), (10, 5)),
        (("contained", 0), (13, 5)),
        (("contained", 0, "name"), (15, 7)),
        (("extension", 1, "extension", 1, "valueInteger"), (26, 7)),
        (("identifier", 0, "id"), (29, 3)),
        (("name", 0, "given", 2), (42, 5)),
        (("name", 0, "_given", 1, "extension", 0), (38, 7)),
        (("name", 0, "_given", 2, "id"), (42, 5)),
        (("_birthDate", "extension", 0, "valueDateTime"), (47, 7)),
        (("generalPractitioner", 0, "reference"), (52, 5)),
    ],
)
def test_positions_are_the_start_tags(
    path: tuple[Any, ...], position: tuple[int, int], r4: TypeModel
) -> None:
    parsed = parse_file(FIXTURES / "patient-features.xml", model=r4)

    assert parsed.position(path) == position


@pytest.mark.shared
def test_uk_core_xml_examples_convert_to_their_json_twins(r4: TypeModel) -> None:
    twins = {}
    for path in examples_or_skip("ukcore-stu2").glob("*.json"):
        resource = parse_file(path).resource
        assert resource is not None
        twins[resource["resourceType"], resource.get("id")] = resource
    without_namespace = []

    for path in sorted(examples_or_skip("ukcore-stu2-xml").glob("*.xml")):
        parsed = parse_file(path, model=r4)
        assert parsed.resource is not None, (path.name, parsed.issues)
        twin = twins[parsed.resource["resourceType"], parsed.resource.get("id")]
        assert canonical(parsed.resource) == canonical(twin), path.name
        if parsed.issues:
            root_line = 2 if path.read_bytes().startswith(b"<?xml") else 1
            assert summary(parsed) == [("error", "xml.namespace", parsed.resource_type, root_line, 1)]
            without_namespace.append(path.name)

    assert len(without_namespace) == 9  # as SOURCES.md says: nine examples lack the FHIR namespace


def to_xml(resource: dict[str, Any]) -> str:
    """A plain FHIR JSON to XML writer, for round trips: the reverse of the conversion under test."""
    kind = resource["resourceType"]
    return f"<{kind} {FHIR}>{''.join(_members(resource))}</{kind}>"


def _members(obj: dict[str, Any]) -> list[str]:
    written: list[str] = []
    for key in obj:
        name = key.removeprefix("_")
        if key == "resourceType" or (key != name and name in obj):
            continue  # a `_name` is written with its `name`
        written.extend(_occurrences(name, obj.get(name), obj.get("_" + name)))
    return written


def _occurrences(name: str, values: Any, extras: Any) -> list[str]:
    if not isinstance(values, list) and not isinstance(extras, list):
        return [_element(name, values, extras)]
    count = len(values) if isinstance(values, list) else len(extras)
    items = values if isinstance(values, list) else [None] * count
    extra_items = extras if isinstance(extras, list) else [None] * count
    return [_element(name, item, extra) for item, extra in zip(items, extra_items, strict=True)]


def _element(name: str, value: Any, extras: dict[str, Any] | None) -> str:
    if name == "div":
        return str(value)
    if isinstance(value, dict) and "resourceType" in value:
        return f"<{name}>{to_xml(value)}</{name}>"
    if isinstance(value, dict):
        return _complex(name, value)
    attributes = "" if value is None else f" value={quoteattr(_literal(value))}"
    extras = extras or {}
    if "id" in extras:
        attributes += f" id={quoteattr(extras['id'])}"
    body = "".join(_members({key: item for key, item in extras.items() if key != "id"}))
    return f"<{name}{attributes}>{body}</{name}>"


def _complex(name: str, value: dict[str, Any]) -> str:
    attribute_names = ("id", "url") if name in ("extension", "modifierExtension") else ("id",)
    attributes = "".join(f" {key}={quoteattr(value[key])}" for key in attribute_names if key in value)
    members = {key: item for key, item in value.items() if key not in attribute_names}
    return f"<{name}{attributes}>{''.join(_members(members))}</{name}>"


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Source defects of the shared Care Connect examples, where the JSON is not a valid FHIR JSON form:
_CARE_CONNECT_DEFECTS = {
    "Audit-Practitioner-Example-1b.json": "practitionerRole is not an STU3 Practitioner element",
    "DCH-BirthDetails-Bundle-Example-1.json": "integers and decimals written as JSON strings",
    "DCH-PhysicalExamination-Bundle-Example-1.json": "empty strings, which XML attributes cannot carry",
    "DCH-PhysicalExamination-Bundle-Example-1.xml.json": "empty strings, which XML attributes cannot carry",
    "DCH-Referral-Bundle-Example-1.json": "an empty string, which XML attributes cannot carry",
}


def _without_comments(value: Any) -> Any:
    """Drop DSTU2-style `fhir_comments`, and `_name` objects left empty by that."""
    if isinstance(value, list):
        return [_without_comments(item) for item in value]
    if not isinstance(value, dict):
        return value
    kept = {key: _without_comments(item) for key, item in value.items() if key != "fhir_comments"}
    return {key: item for key, item in kept.items() if not (key.startswith("_") and item == {})}


@pytest.mark.shared
def test_care_connect_stu3_examples_survive_a_round_trip_through_xml(stu3: TypeModel) -> None:
    checked = 0
    for path in sorted(examples_or_skip("careconnect-stu3").glob("*.json")):
        if path.name in _CARE_CONNECT_DEFECTS:
            continue
        original = _without_comments(parse_file(path).resource)

        back = parse(to_xml(original).encode(), model=stu3)

        assert back.issues == (), path.name
        assert canonical(back.resource) == canonical(original), path.name
        checked += 1
    assert checked > 150


@pytest.mark.shared
def test_stu3_layout_is_used_for_stu3_payloads(stu3: TypeModel, r4: TypeModel) -> None:
    payload = (
        f'<Observation {FHIR}><status value="final"/><valueAttachment><url value="http://x"/></valueAttachment>'
        '<component><valueInteger value="1"/></component></Observation>'
    ).encode()

    stu3_form = parse(payload, model=stu3).resource
    r4_form = parse(payload, model=r4).resource

    assert stu3_form == {
        "resourceType": "Observation",
        "status": "final",
        "valueAttachment": {"url": "http://x"},
        "component": [{"valueInteger": "1"}],  # unknown in STU3: kept as found, for the validator to report
    }
    assert r4_form is not None and r4_form["component"] == [{"valueInteger": 1}]


# -- FHIR XML rules --------------------------------------------------------------------------------


@pytest.mark.shared
def test_wrong_namespace_is_reported_once_where_it_starts_and_still_converts(r4: TypeModel) -> None:
    parsed = parse(
        patient('<name xmlns="urn:other"><given value="Ann"/></name><gender value="male"/>', 'xmlns="urn:x"'),
        model=r4,
    )

    assert parsed.resource == {"resourceType": "Patient", "name": [{"given": ["Ann"]}], "gender": "male"}
    assert summary(parsed) == [("error", "xml.namespace", "Patient", 1, 1)]
    assert "'urn:x'" in parsed.issues[0].message


@pytest.mark.shared
def test_a_foreign_namespace_inside_fhir_is_reported(r4: TypeModel) -> None:
    parsed = parse(patient('<name><given xmlns="urn:other" value="Ann"/></name>'), model=r4)

    assert summary(parsed) == [("error", "xml.namespace", "Patient.name[0].given[0]", 1, 44)]


@pytest.mark.shared
def test_a_missing_namespace_is_reported(r4: TypeModel) -> None:
    parsed = parse(b'<Patient><active value="true"/></Patient>', model=r4)

    assert parsed.resource == {"resourceType": "Patient", "active": True}
    assert summary(parsed) == [("error", "xml.namespace", "Patient", 1, 1)]
    assert "no namespace" in parsed.issues[0].message


@pytest.mark.shared
def test_narrative_outside_the_xhtml_namespace_is_reported(r4: TypeModel) -> None:
    parsed = parse(patient('<text><status value="generated"/><div>hi</div></text>'), model=r4)

    div = '<div xmlns="http://hl7.org/fhir">hi</div>'  # as written: the div inherited the FHIR namespace
    assert parsed.resource == {"resourceType": "Patient", "text": {"status": "generated", "div": div}}
    assert [(issue.message_id, issue.location) for issue in parsed.issues] == [
        ("xml.namespace", "Patient.text.div")
    ]
    assert "http://www.w3.org/1999/xhtml" in parsed.issues[0].message


@pytest.mark.shared
@pytest.mark.parametrize("empty", ['""', '"   "'])
def test_empty_attributes_are_errors(empty: str, r4: TypeModel) -> None:
    parsed = parse(
        patient(f'<gender value={empty}/><name id={empty}><family value="Smith"/></name>'), model=r4
    )

    assert parsed.resource == {"resourceType": "Patient", "name": [{"family": "Smith"}]}
    assert summary(parsed) == [
        ("error", "xml.empty-attribute", "Patient.gender", 1, 38),
        ("error", "xml.empty-attribute", "Patient.name[0]", 1, 38 + 16 + len(empty)),
    ]


@pytest.mark.shared
def test_a_primitive_without_value_or_extensions_is_an_error(r4: TypeModel) -> None:
    parsed = parse(patient('<birthDate/><gender id="g"/><active value="true"/>'), model=r4)

    assert parsed.resource == {"resourceType": "Patient", "active": True}
    assert summary(parsed) == [
        ("error", "xml.value-missing", "Patient.birthDate", 1, 38),
        ("error", "xml.value-missing", "Patient.gender", 1, 50),
    ]


@pytest.mark.shared
def test_unknown_elements_are_kept_with_positions(r4: TypeModel) -> None:
    parsed = parse(
        patient('<nickname value="Annie"/><hobby><kind value="chess"/><since value="1999"/></hobby>'),
        model=r4,
    )

    assert parsed.resource == {
        "resourceType": "Patient",
        "nickname": "Annie",
        "hobby": {"kind": "chess", "since": "1999"},
    }
    assert parsed.issues == ()
    assert parsed.position(("nickname",)) == (1, 38)
    assert parsed.position(("hobby", "since")) == (1, 91)


@pytest.mark.shared
def test_unknown_attributes_are_errors(r4: TypeModel) -> None:
    schema = (
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://hl7.org/fhir x.xsd"'
    )
    root = f"{FHIR} {schema}"
    parsed = parse(patient('<gender value="male" something="else"/>', root), model=r4)

    assert parsed.resource == {"resourceType": "Patient", "gender": "male"}
    assert [(issue.message_id, issue.location) for issue in parsed.issues] == [
        ("xml.unknown-attribute", "Patient"),
        ("xml.unknown-attribute", "Patient.gender"),
    ]
    assert "'xsi:schemaLocation'" in parsed.issues[0].message


@pytest.mark.shared
def test_an_attribute_written_as_an_element_is_an_error(r4: TypeModel) -> None:
    parsed = parse(
        patient('<extension><url value="http://x"/><valueBoolean value="true"/></extension>'), model=r4
    )

    assert parsed.resource == {"resourceType": "Patient", "extension": [{"valueBoolean": True}]}
    assert summary(parsed) == [("error", "xml.attribute-as-element", "Patient.extension[0]", 1, 49)]


@pytest.mark.shared
def test_text_is_not_allowed_outside_narrative(r4: TypeModel) -> None:
    parsed = parse(
        patient('\n  <active value="true"/> stray text\n  <name><![CDATA[more]]></name>\n'), model=r4
    )

    assert parsed.resource == {"resourceType": "Patient", "active": True, "name": [{}]}
    assert summary(parsed) == [
        ("error", "xml.text-not-allowed", "Patient", 2, 25),
        ("error", "xml.text-not-allowed", "Patient.name[0]", 3, 18),  # where the CDATA text starts
    ]
    assert "stray text" in parsed.issues[0].message


@pytest.mark.shared
def test_a_single_element_given_twice_becomes_an_array_for_the_validator(r4: TypeModel) -> None:
    parsed = parse(
        patient('<gender value="male"/><gender value="female"/><birthDate value="2000"/>'), model=r4
    )

    assert parsed.resource == {"resourceType": "Patient", "gender": ["male", "female"], "birthDate": "2000"}
    assert parsed.position(("gender", 0)) == (1, 38)
    assert parsed.position(("gender", 1)) == (1, 60)


@pytest.mark.shared
def test_primitive_values_get_json_types_and_bad_literals_stay_strings(r4: TypeModel) -> None:
    payload = (
        f'<Observation {FHIR}><component><valueBoolean value="yes"/></component>'
        '<component><valueInteger value="007"/></component><component><valueInteger value="-12"/></component>'
        '<component><valueQuantity><value value="2.50E-3"/></valueQuantity></component>'
        '<component><valueQuantity><value value="12"/></valueQuantity></component>'
        '<component><valueQuantity><value value="1.2.3"/></valueQuantity></component></Observation>'
    ).encode()

    parsed = parse(payload, model=r4)

    assert parsed.resource is not None
    values = [next(iter(component.values())) for component in parsed.resource["component"]]
    expected = ["yes", "007", -12, {"value": Decimal("2.50E-3")}, {"value": 12}, {"value": "1.2.3"}]
    assert canonical(values) == canonical(expected)


@pytest.mark.shared
def test_narrative_is_reserialised_with_the_xhtml_namespace(r4: TypeModel) -> None:
    div = (
        '<h:div xmlns:h="http://www.w3.org/1999/xhtml" xmlns:svg="http://www.w3.org/2000/svg">'
        '<h:p xml:space="preserve" title="a &quot;b&quot;">1 &lt; 2 &amp; <![CDATA[<raw>]]></h:p>'
        "<svg:svg><svg:circle r='1'/></svg:svg><!--note--><h:br/></h:div>"
    )

    parsed = parse(patient(f'<text><status value="generated"/>{div}</text>'), model=r4)

    assert parsed.issues == ()
    assert parsed.resource is not None
    assert parsed.resource["text"]["div"] == (
        '<div xmlns="http://www.w3.org/1999/xhtml"><p xml:space="preserve" title="a &quot;b&quot;">'
        '1 &lt; 2 &amp; &lt;raw&gt;</p><svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>'
        "<!--note--><br/></div>"
    )


@pytest.mark.shared
def test_resource_wrappers_hold_exactly_one_resource(r4: TypeModel) -> None:
    parsed = parse(
        patient("<contained/><contained><Organization/><Basic/></contained><active value='true'/>"), model=r4
    )

    assert parsed.resource == {
        "resourceType": "Patient",
        "contained": [None, {"resourceType": "Organization"}],
        "active": True,
    }
    assert summary(parsed) == [
        ("error", "xml.resource-expected", "Patient.contained[0]", 1, 38),
        ("error", "xml.resource-expected", "Patient.contained[1]", 1, 76),
    ]


@pytest.mark.shared
def test_text_input_is_accepted(r4: TypeModel) -> None:
    parsed = parse(f'<Patient {FHIR}><name><text value="Zoë"/></name></Patient>', model=r4)

    assert parsed.resource == {"resourceType": "Patient", "name": [{"text": "Zoë"}]}
    assert parsed.format == "xml"


@pytest.mark.shared
def test_declared_encodings_are_honoured(r4: TypeModel) -> None:
    declaration = '<?xml version="1.0" encoding="ISO-8859-1"?>'
    payload = f'{declaration}<Patient {FHIR}><name><text value="Zo\xeb"/></name></Patient>'

    parsed = parse(payload.encode("latin-1"), model=r4)

    assert parsed.resource == {"resourceType": "Patient", "name": [{"text": "Zoë"}]}


# -- robustness --------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    parsed = parse(b"<" + data, format="xml", model=TypeModel(NoDefinitions()))

    assert (parsed.resource is None) == any(issue.severity is Severity.FATAL for issue in parsed.issues)


_NAMES = st.sampled_from(
    [
        "name",
        "given",
        "family",
        "extension",
        "url",
        "value",
        "valueString",
        "valueBoolean",
        "contained",
        "Organization",
        "text",
        "div",
        "p",
        "id",
        "active",
        "gender",
        "birthDate",
        "foo",
        "resource",
        "identifier",
    ]
)
_ATTRIBUTES = st.dictionaries(
    st.sampled_from(["value", "id", "url", "foo"]),
    st.sampled_from(["", " ", "true", "1", "x&amp;y"]),
    max_size=2,
)


def _xml_elements(depth: int) -> st.SearchStrategy[str]:
    def element(parts: tuple[str, dict[str, str], list[str], str]) -> str:
        name, attributes, children, text = parts
        written = "".join(f' {key}="{value}"' for key, value in attributes.items())
        return f"<{name}{written}>{text}{''.join(children)}</{name}>"

    children = st.lists(_xml_elements(depth - 1), max_size=3) if depth else st.just([])
    return st.tuples(_NAMES, _ATTRIBUTES, children, st.sampled_from(["", " ", "t"])).map(element)


@pytest.mark.shared
@settings(max_examples=60, deadline=None)
@given(children=st.lists(_xml_elements(3), max_size=4))
def test_random_fhir_like_documents_convert_with_positions_inside_the_text(
    children: list[str], r4: TypeModel
) -> None:
    payload = f"<Patient {FHIR}>{''.join(children)}</Patient>"

    parsed = parse(payload, model=r4)

    assert parsed.resource is not None, parsed.issues
    assert all(issue.severity is Severity.ERROR for issue in parsed.issues)
    for path, value in _paths(parsed.resource):
        position = parsed.position(path)
        if position is not None:
            line, column = position
            assert line == 1 and payload[column - 1] == "<", (path, value)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(path, value)]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found.extend(_paths(child, (*path, key)))
    return found


@pytest.mark.shared
def test_positions_are_looked_up_only_for_values_that_came_from_an_element(r4: TypeModel) -> None:
    parsed = parse_file(FIXTURES / "patient-features.xml", model=r4)
    text = (FIXTURES / "patient-features.xml").read_text(encoding="utf-8").splitlines()

    assert parsed.resource is not None
    found = 0
    for path, value in _paths(parsed.resource):
        position = parsed.position(path)
        if isinstance(value, list):
            assert position is None, path  # a repeating element's items have positions, the list none
        elif position is not None:
            line, column = position
            assert text[line - 1][column - 1] == "<", path
            found += 1
    assert found > 40
    for missing in [("nothing",), ("name", 9), ("name", "0"), ("id", "x"), ("name", 0, "given", 2, "x")]:
        assert parsed.position(missing) is None
