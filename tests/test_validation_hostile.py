"""Hostile input: deep nesting, duplicate keys, huge payloads, XML bombs, broken bytes.

Whatever arrives, `validate` returns an Outcome (never raises, never hangs, never expands entities) and the
outcome says what was wrong. Parse-level message ids come from conformance.instance (json.*, xml.*,
payload.*).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.outcome import Severity

if TYPE_CHECKING:
    from conftest import FixtureRunner

pytestmark = pytest.mark.shared

MB = 1024 * 1024
SECRET = "fhir-conformance-secret-marker"


def _ids(issues: Any) -> list[tuple[str, str]]:
    return [(issue.severity.value, issue.message_id) for issue in issues]


def _deep_json() -> bytes:
    return b'{"resourceType": "Patient", "extension": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"


def _deep_xml() -> bytes:
    return b'<Patient xmlns="http://hl7.org/fhir">' + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</Patient>"


def _huge_json() -> bytes:
    return b'{"resourceType": "Patient", "id": "' + b"a" * (100 * MB) + b'"}'


def _billion_laughs() -> bytes:
    # each entity is ten of the one before: &j; would expand to 10^10 characters
    lines = [f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)]
    entities = "\n".join(lines).encode() + b"\n"
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE Patient [\n<!ENTITY a "aaaaaaaaaa">\n'
        + entities
        + b']>\n<Patient xmlns="http://hl7.org/fhir"><id value="&j;"/></Patient>'
    )


HOSTILE = [
    pytest.param(_deep_json, "json.too-deep", id="json-nested-10000"),
    pytest.param(_deep_xml, "xml.too-deep", id="xml-nested-10000"),
    pytest.param(_huge_json, "payload.too-large", id="json-100-MB"),
    pytest.param(_billion_laughs, "xml.dtd-forbidden", id="xml-billion-laughs"),
    pytest.param(lambda: b"", "json.syntax", id="empty"),
    pytest.param(lambda: b'{"resourceType": "Patient",', "json.syntax", id="truncated-json"),
    pytest.param(lambda: b'{"resourceType": "Observation", "valueInteger": NaN}', "json.syntax", id="nan"),
    pytest.param(lambda: b"[]", "json.not-object", id="json-array"),
    pytest.param(lambda: b"\xff\xfe{}", "payload.encoding", id="not-utf8"),
    pytest.param(lambda: b'<Patient xmlns="http://hl7.org/fhir"><id value="x"/>', "xml.syntax", id="open"),
]


@pytest.mark.parametrize(("build", "message_id"), HOSTILE)
def test_hostile_payload_is_one_fatal_issue(
    r4_fixtures: FixtureRunner, build: Callable[[], bytes], message_id: str
) -> None:
    outcome = r4_fixtures.validate_data(build())
    assert _ids(outcome.issues) == [("fatal", message_id)]
    assert not outcome.valid


def test_duplicate_keys_are_errors_and_the_last_value_wins(r4_fixtures: FixtureRunner) -> None:
    payload = b'{"resourceType": "Patient", "id": "a", "gender": "male", "gender": "nonsense", "id": "b"}'
    outcome = r4_fixtures.validate_data(payload)
    duplicates = [issue for issue in outcome.issues if issue.message_id == "json.duplicate-key"]
    second_gender = payload.index(b'"gender"', payload.index(b'"gender"') + 1)
    second_id = payload.rindex(b'"id"')
    assert sorted((issue.location, issue.line, issue.column) for issue in duplicates) == [
        ("Patient.gender", 1, second_gender + 1),
        ("Patient.id", 1, second_id + 1),
    ]
    # the validation went on with the last values: 'nonsense' is not an AdministrativeGender code
    assert "binding.required.not-in-valueset" in {issue.message_id for issue in outcome.errors}


def test_hundred_megabyte_file_is_refused(r4_fixtures: FixtureRunner, tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as stream:
        stream.write(b'{"resourceType": "Patient", "id": "')
        stream.truncate(100 * MB)  # sparse: the test does not write 100 MB
    outcome = r4_fixtures.validator.validate(path)
    assert _ids(outcome.issues) == [("fatal", "payload.too-large")]


def test_a_string_over_one_megabyte_is_an_error(r4_fixtures: FixtureRunner) -> None:
    payload = {"resourceType": "Patient", "name": [{"family": "x" * (MB + 1)}]}
    outcome = r4_fixtures.validate_data(payload)
    assert r4_fixtures.findings(outcome) == ["error type.string.too-long @ Patient.name[0].family"]


def test_deep_but_legal_nesting_does_not_exhaust_the_stack(r4_fixtures: FixtureRunner) -> None:
    # 95 levels of extensions is about 190 levels of JSON, inside the parser's limit of 200
    extension: dict[str, Any] = {"url": "http://unknown.test/x", "valueString": "leaf"}
    for _ in range(95):
        extension = {"url": "http://unknown.test/x", "extension": [extension]}
    outcome = r4_fixtures.validate_data(json.dumps({"resourceType": "Patient", "extension": [extension]}))
    assert {issue.message_id for issue in outcome.issues if issue.severity is not Severity.INFORMATION} <= {
        "extension.unknown",
        "extension.unknown-not-allowed",
        "invariant.failed",  # dom-6: no narrative
    }


def test_nested_bundles_are_validated(r4_fixtures: FixtureRunner) -> None:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": "p", "gender": "nonsense"}
    for depth in range(40):
        entry = {"fullUrl": f"urn:uuid:c757873d-ec9a-4326-a141-{depth:012d}", "resource": resource}
        resource = {"resourceType": "Bundle", "type": "collection", "entry": [entry]}
    outcome = r4_fixtures.validate_data(resource)
    assert {issue.location for issue in outcome.errors} == {"Bundle" + ".entry[0].resource" * 40 + ".gender"}
    assert "binding.required.not-in-valueset" in {issue.message_id for issue in outcome.errors}


def test_many_issues_are_all_reported(r4_fixtures: FixtureRunner) -> None:
    payload = {"resourceType": "Patient", **{f"unknown{i}": i for i in range(5000)}}
    outcome = r4_fixtures.validate_data(payload)
    assert sum(issue.message_id == "structure.unknown-property" for issue in outcome.issues) == 5000


EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Patient [<!ENTITY secret SYSTEM "file://SECRET_FILE">]>\n'
    b'<Patient xmlns="http://hl7.org/fhir"><id value="&secret;"/></Patient>'
)
EXTERNAL_DTD = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Patient SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
    b'<Patient xmlns="http://hl7.org/fhir"><id value="x"/></Patient>'
)
PARAMETER_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Patient [<!ENTITY % remote SYSTEM "file://SECRET_FILE"> %remote;]>\n'
    b'<Patient xmlns="http://hl7.org/fhir"><id value="x"/></Patient>'
)


@pytest.mark.parametrize(
    "payload",
    [EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["external-entity", "external-dtd", "parameter-entity"],
)
def test_xml_entities_are_never_resolved(r4_fixtures: FixtureRunner, tmp_path: Path, payload: bytes) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    outcome = r4_fixtures.validate_data(payload.replace(b"SECRET_FILE", str(secret).encode()))
    assert _ids(outcome.issues) == [("fatal", "xml.dtd-forbidden")]
    assert SECRET not in outcome.to_json()


def _wrong_shapes(node: Any, path: tuple[str | int, ...] = ()) -> Any:
    """(path, replacement) for every value: a scalar as an array and as an object, an object as a string."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _reshaped(child, (*path, key))
    elif isinstance(node, list):
        for position, child in enumerate(node):
            yield from _reshaped(child, (*path, position))


def _reshaped(child: Any, path: tuple[str | int, ...]) -> Any:
    if isinstance(child, dict | list):
        yield path, "text"
        yield from _wrong_shapes(child, path)
    else:
        yield path, [child]
        yield path, {"value": child}


def _replaced(payload: Any, path: tuple[str | int, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(payload))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    "name",
    [
        "bundles/document-valid.json",
        "bundles/collection-valid.json",
        "bundles/transaction-valid.json",
        "invariants/patient-contained-referenced.json",
        "references/observation-contained-valid.json",
    ],
)
def test_a_wrongly_shaped_value_anywhere_is_an_error_never_a_crash(
    r4_fixtures: FixtureRunner, name: str
) -> None:
    payload = r4_fixtures.load(name)
    assert r4_fixtures.validate_data(payload).valid
    accepted = []
    for path, value in _wrong_shapes(payload):
        outcome = r4_fixtures.validate_data(_replaced(payload, path, value))
        if outcome.valid:
            accepted.append(f"{path} = {value!r}")
    assert accepted == []


def _self_containing() -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "http://example.org/x"}
    extension["extension"] = [extension]  # a dict that contains itself: no JSON text can say this
    return {"resourceType": "Patient", "extension": [extension]}


def _deep_dict() -> dict[str, Any]:
    nested: Any = []
    for _ in range(10_000):
        nested = [nested]
    return {"resourceType": "Patient", "extension": nested}


@pytest.mark.parametrize(
    ("make", "message_id"),
    [
        pytest.param(lambda: {"resourceType": "Patient", 1: "x"}, "json.syntax", id="int-key"),
        pytest.param(
            lambda: {"resourceType": "Patient", "name": [{("a",): 1}]}, "json.syntax", id="tuple-key"
        ),
        pytest.param(_self_containing, "json.too-deep", id="contains-itself"),
        pytest.param(_deep_dict, "json.too-deep", id="deep"),
    ],
)
def test_a_caller_dict_unlike_any_json_is_one_fatal_issue(
    r4_fixtures: FixtureRunner, make: Callable[[], dict[Any, Any]], message_id: str
) -> None:
    outcome = r4_fixtures.validate_data(make())
    assert _ids(outcome.issues) == [("fatal", message_id)]
    assert not outcome.valid


def test_a_caller_dict_within_the_limits_is_validated(r4_fixtures: FixtureRunner) -> None:
    outcome = r4_fixtures.validate_data({"resourceType": "Patient", "gender": "nonsense", "active": True})
    assert "binding.required.not-in-valueset" in [issue.message_id for issue in outcome.errors]
    assert all(issue.severity is not Severity.FATAL for issue in outcome.issues)
