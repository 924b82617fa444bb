"""JSON payloads: the FHIR JSON form, positions, duplicate keys, syntax errors and hostile input."""

from __future__ import annotations

import json
import sys
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conformance.errors import InputError, UsageError
from conformance.instance import Limits, Parsed, jsonform, jsonscan, location, parse, parse_file, sniff_format
from conformance.instance.parsed import Format
from conformance.outcome import Severity

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instance"


def summary(parsed: Parsed) -> list[tuple[str, str, str, int | None, int | None]]:
    return [
        (issue.severity.value, issue.message_id, issue.location, issue.line, issue.column)
        for issue in parsed.issues
    ]


def only_issue(parsed: Parsed) -> tuple[str, str, str, int | None, int | None]:
    (found,) = summary(parsed)
    return found


# -- valid payloads ----------------------------------------------------------------------------------------


def test_valid_resource_is_read_into_plain_json_values() -> None:
    parsed = parse_file(FIXTURES / "patient-positions.json")

    assert parsed.ok and parsed.format == "json" and parsed.issues == ()
    assert parsed.resource_type == "Patient"
    assert parsed.resource is not None
    assert parsed.resource["name"] == [{"family": "Smith", "given": ["Ann", "Jo"]}]
    assert parsed.resource["multipleBirthInteger"] == 2
    assert type(parsed.resource["multipleBirthInteger"]) is int


@pytest.mark.parametrize(
    ("path", "position"),
    [
        ((), (1, 1)),
        (("resourceType",), (2, 19)),
        (("id",), (3, 9)),
        (("identifier",), (4, 17)),
        (("identifier", 0), (5, 5)),
        (("identifier", 0, "system"), (6, 17)),
        (("identifier", 0, "value"), (7, 16)),
        (("name", 0), (10, 13)),
        (("name", 0, "family"), (10, 25)),
        (("name", 0, "given"), (10, 43)),
        (("name", 0, "given", 1), (10, 52)),
        (("_birthDate", "extension", 0, "valueDateTime"), (16, 26)),
        (("extension", 0, "valueDecimal"), (22, 59)),
    ],
)
def test_positions_point_at_the_start_of_each_value(path: tuple[Any, ...], position: tuple[int, int]) -> None:
    parsed = parse_file(FIXTURES / "patient-positions.json")

    assert parsed.position(path) == position


def test_position_of_a_path_that_does_not_exist_is_none() -> None:
    parsed = parse_file(FIXTURES / "patient-positions.json")

    assert parsed.position(("telecom", 0)) is None
    assert parsed.position(("name", 5, "family")) is None


def test_positions_are_computed_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counting(text: str, *, repeated_keys: bool = False) -> jsonscan.PathFinder:
        calls.append("finder")
        return jsonscan.PathFinder(text, repeated_keys=repeated_keys)

    def indexing(text: str) -> jsonscan.ValueStarts:
        calls.append("index")
        return jsonscan.value_starts(text)

    monkeypatch.setattr(jsonform, "PathFinder", counting)
    monkeypatch.setattr(jsonform, "value_starts", indexing)
    parsed = parse((FIXTURES / "patient-positions.json").read_bytes())
    assert calls == []

    assert parsed.position(("id",)) == (3, 9)
    assert parsed.position(("name", 0)) == (10, 13)
    assert calls == ["finder"]  # a few positions are found without indexing every value


def test_columns_count_characters_not_bytes() -> None:
    parsed = parse('{"resourceType": "Patient", "name": [{"text": "Zoë"}], "gender": "other"}'.encode())

    assert parsed.position(("gender",)) == (1, 66)  # 67 if bytes were counted


def test_decimals_keep_their_scale_and_integers_stay_int() -> None:
    parsed = parse(b'{"resourceType": "Observation", "a": 1.50, "b": 10, "c": 1e3, "d": -0.0, "e": 2E-2}')

    assert parsed.resource is not None
    values = {key: parsed.resource[key] for key in "abcde"}
    assert values == {
        "a": Decimal("1.50"),
        "b": 10,
        "c": Decimal("1e3"),
        "d": Decimal("-0.0"),
        "e": Decimal("0.02"),
    }
    assert str(values["a"]) == "1.50"
    assert type(values["b"]) is int
    assert str(values["e"]) == "0.02"


def test_a_leading_byte_order_mark_is_tolerated() -> None:
    with_bom = parse(b'\xef\xbb\xbf{"resourceType": "Patient"}')
    text_bom = parse('\ufeff{"resourceType": "Patient"}')

    assert with_bom.resource == text_bom.resource == {"resourceType": "Patient"}
    assert with_bom.position(("resourceType",)) == (1, 18)


def test_a_dict_is_taken_as_is_without_positions() -> None:
    resource = {"resourceType": "Patient", "id": "x"}

    parsed = parse(resource)

    assert parsed.resource is resource
    assert parsed.issues == ()
    assert parsed.position(("id",)) is None


def test_location_follows_fhirpath_conventions() -> None:
    assert location("Patient", ()) == "Patient"
    assert location("Patient", ("identifier", 0, "system")) == "Patient.identifier[0].system"
    assert location("Patient", ("_birthDate", "extension", 0)) == "Patient.birthDate.extension[0]"
    assert location("Patient", ("name", 0, "_given", 1, "id")) == "Patient.name[0].given[1].id"


# -- duplicate keys ----------------------------------------------------------------------------------------


def test_duplicate_key_is_an_error_and_the_last_value_wins() -> None:
    text = b'{\n  "resourceType": "Patient",\n  "gender": "male",\n  "gender": "female"\n}'

    parsed = parse(text)

    assert parsed.resource == {"resourceType": "Patient", "gender": "female"}
    assert only_issue(parsed) == ("error", "json.duplicate-key", "Patient.gender", 4, 3)
    assert "'gender'" in parsed.issues[0].message


def test_nested_duplicates_are_each_reported_where_they_are() -> None:
    text = b'{"resourceType": "Patient", "name": [{"given": ["a"], "given": ["b"]}], "id": "1", "id": "2"}'

    parsed = parse(text)

    assert parsed.resource == {"resourceType": "Patient", "name": [{"given": ["b"]}], "id": "2"}
    assert summary(parsed) == [
        ("error", "json.duplicate-key", "Patient.name[0].given", 1, 55),
        ("error", "json.duplicate-key", "Patient.id", 1, 84),
    ]


def test_many_duplicates_are_capped_with_a_note() -> None:
    members = ", ".join('"a": 1' for _ in range(30))

    parsed = parse(f'{{"resourceType": "Basic", {members}}}', limits=Limits(max_issues=5))

    ids = [issue.message_id for issue in parsed.issues]
    assert ids == ["json.duplicate-key"] * 5 + ["payload.too-many-issues"]
    assert "24 more" in parsed.issues[-1].message


# -- syntax errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ('{"resourceType": "Patient", // note\n"id": "1"}', (1, 29), "comments are not allowed"),
        ('{"resourceType": "Patient" /* note */}', (1, 28), "comments are not allowed"),
        ('{"resourceType": "Patient", "id": "1",}', (1, 39), "trailing comma"),
        ('{"resourceType": "Patient", "name": [{"text": "a"},]}', (1, 52), "trailing comma"),
        ("{'resourceType': 'Patient'}", (1, 2), "double quotes, not single quotes"),
        ('{"resourceType": "Observation", "valueDecimal": NaN}', (1, 49), "NaN and Infinity"),
        ('{"resourceType": "Observation", "valueDecimal": Infinity}', (1, 49), "NaN and Infinity"),
        ('{"resourceType": "Observation", "valueDecimal": -Infinity}', (1, 49), "NaN and Infinity"),
        ('{resourceType: "Patient"}', (1, 2), "property name 'resourceType' must be in double quotes"),
        ('{"resourceType": "Patient"\n "id": "1"}', (2, 2), "a comma may be missing"),
        ('{"resourceType" "Patient"}', (1, 17), "expected ':'"),
        ('{"resourceType": "Patient", "id": "1', (1, 35), "invalid string"),
        ('{"resourceType": "Patient", "id": "a\\qb"}', (1, 35), "invalid string"),
        ('{"resourceType": "Observation", "valueInteger": 0x1F}', (1, 49), "invalid number"),
        ('{"resourceType": "Observation", "valueInteger": +1}', (1, 49), "invalid number"),
        ('{"resourceType": "Observation", "valueInteger": 007}', (1, 49), "invalid number"),
        (
            '{"resourceType": "Observation", "valueString": undefined}',
            (1, 48),
            "'undefined' is not a JSON value",
        ),
        (
            '{"resourceType": "Patient"} {"resourceType": "Patient"}',
            (1, 29),
            "after the end of the JSON value",
        ),
        ('{"resourceType": "Patient"', (1, 27), "ends before the JSON is complete"),
    ],
)
def test_syntax_errors_are_fatal_with_a_position_and_a_reason(
    text: str, position: tuple[int, int], reason: str
) -> None:
    parsed = parse(text.encode())

    assert parsed.resource is None
    (issue,) = parsed.issues
    assert (issue.severity, issue.code, issue.message_id) == (Severity.FATAL, "invalid", "json.syntax")
    assert (issue.line, issue.column) == position
    assert reason in issue.message


def test_a_syntax_error_is_located_inside_the_resource() -> None:
    text = b'{"resourceType": "Patient", "name": [{"given": ["Sarah" "Mary"]}]}'

    assert only_issue(parse(text)) == ("fatal", "json.syntax", "Patient.name[0].given", 1, 57)


@pytest.mark.parametrize("text", ["", "   \n\t ", "\ufeff"])
def test_an_empty_payload_is_fatal(text: str) -> None:
    parsed = parse(text)

    assert parsed.resource is None
    assert only_issue(parsed)[:2] == ("fatal", "json.syntax")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[1, 2]", "an array"),
        ('"Patient"', "a string"),
        ("42", "a number"),
        ("null", "null"),
        ("true", "a boolean"),
    ],
)
def test_a_top_level_value_that_is_not_an_object_is_fatal(text: str, kind: str) -> None:
    parsed = parse(text)

    assert parsed.resource is None
    assert only_issue(parsed) == ("fatal", "json.not-object", "", 1, 1)
    assert kind in parsed.issues[0].message


def test_invalid_utf8_is_fatal_with_the_position_of_the_bad_byte() -> None:
    parsed = parse(b'{"resourceType": "Patient",\n "name": [{"text": "Zo\xeb"}]}')

    assert parsed.resource is None
    assert only_issue(parsed) == ("fatal", "payload.encoding", "", 2, 23)
    assert "0xEB" in parsed.issues[0].message


def test_utf16_is_refused_as_not_utf8() -> None:
    parsed = parse('{"resourceType": "Patient"}'.encode("utf-16"))

    assert only_issue(parsed)[:2] == ("fatal", "payload.encoding")


def test_raw_control_characters_in_strings_are_read_with_a_warning() -> None:
    text = '{"resourceType": "Patient",\n "name": [{"text": "Ann\tSmith"}]}'

    parsed = parse(text.encode())

    assert parsed.resource is not None
    assert parsed.resource["name"] == [{"text": "Ann\tSmith"}]
    assert only_issue(parsed) == ("warning", "json.control-character", "Patient.name[0].text", 2, 24)
    assert parsed.position(("name", 0, "text")) == (2, 20)


def test_an_integer_too_long_to_convert_is_fatal_not_an_exception() -> None:
    digits = "9" * (sys.get_int_max_str_digits() + 10)

    parsed = parse(f'{{"resourceType": "Observation", "valueInteger": {digits}}}')

    assert only_issue(parsed) == ("fatal", "json.number-too-large", "", 1, 49)


# -- limits and hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(("opener", "closer"), [('{"a":', "}"), ("[", "]")])
def test_ten_thousand_levels_of_nesting_are_fatal_without_recursion_errors(opener: str, closer: str) -> None:
    deep = '{"resourceType": "Basic", "x": ' + opener * 10_000 + "1" + closer * 10_000 + "}"

    parsed = parse(deep)

    assert parsed.resource is None
    (issue,) = parsed.issues
    assert (issue.severity, issue.code, issue.message_id) == (Severity.FATAL, "too-costly", "json.too-deep")
    assert issue.line == 1


def test_nesting_limit_is_exact() -> None:
    def nested(levels: int) -> str:
        return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)

    assert parse(nested(200)).ok
    too_deep = parse(nested(201))
    assert only_issue(too_deep) == ("fatal", "json.too-deep", "", 1, 1001)
    assert parse(nested(6), limits=Limits(max_depth=6)).ok
    assert not parse(nested(7), limits=Limits(max_depth=6)).ok


def test_deep_nesting_is_found_even_in_the_largest_payloads() -> None:
    # Past 2 * max_nodes characters the structure is checked before parsing; brackets in strings do not count.
    noise = '"pad": "' + "[{" * 50 + '\\" [[ \\\\", '
    shallow = '{"resourceType": "Basic", ' + noise + '"x": ' + "[" * 5 + "]" * 5 + "}"
    deep = '{"resourceType": "Basic", ' + noise + '"x": ' + "[" * 12 + "]" * 12 + "}"
    limits = Limits(max_depth=10, max_nodes=20)

    assert parse(shallow, limits=limits).ok
    assert only_issue(parse(deep, limits=limits))[:2] == ("fatal", "json.too-deep")


def test_too_many_values_are_refused_before_building_them() -> None:
    items = ",".join('{"a": 1}' for _ in range(60))
    # 123 values: the root, its 2 members, 60 objects and their 60 numbers
    text = f'{{"resourceType": "Basic", "x": [{items}]}}'

    assert only_issue(parse(text, limits=Limits(max_nodes=122)))[:2] == ("fatal", "payload.too-many-nodes")
    assert parse(text, limits=Limits(max_nodes=123)).ok


def test_a_payload_over_the_byte_limit_is_refused() -> None:
    text = b'{"resourceType": "Basic", "pad": "' + b"x" * 200 + b'"}'

    parsed = parse(text, limits=Limits(max_bytes=100))

    assert parsed.resource is None
    assert only_issue(parsed)[:2] == ("fatal", "payload.too-large")
    assert parse(text, limits=Limits(max_bytes=len(text))).ok


def test_a_file_over_the_byte_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as stream:
        stream.write(b'{"resourceType": "Binary", "data": "')
        stream.truncate(80 * 1024 * 1024)  # sparse: 80 MB on paper, nothing written

    tracemalloc.start()
    try:
        parsed = parse_file(huge)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert only_issue(parsed)[:2] == ("fatal", "payload.too-large")
    assert "80" in parsed.issues[0].message or str(80 * 1024 * 1024) in parsed.issues[0].message
    assert peak < 1024 * 1024


def test_limits_must_be_positive() -> None:
    with pytest.raises(UsageError):
        Limits(max_depth=0)
    with pytest.raises(UsageError):
        Limits(max_bytes=-1)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    parsed = parse(data, format="json")

    assert (parsed.resource is None) == any(issue.severity is Severity.FATAL for issue in parsed.issues)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=25,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(path, value)]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found.extend(_paths(child, (*path, key)))
    return found


def _first_character(value: Any) -> str:
    return str(value)[0] if isinstance(value, Decimal) else json.dumps(value, default=float)[0]


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _JSON_VALUES, max_size=5), st.sampled_from([None, 1, 3]))
def test_random_documents_read_back_with_a_position_for_every_value(
    document: dict[str, Any], indent: int | None
) -> None:
    text = json.dumps(document, indent=indent, default=float)
    expected = json.loads(text, parse_float=Decimal)

    parsed = parse(text)

    assert parsed.resource == expected
    lines = text.split("\n")
    for path, value in _paths(expected):
        line, column = parsed.position(path) or (0, 0)
        assert lines[line - 1][column - 1] == _first_character(value), path


# -- entry points --------------------------------------------------------------------------------------------


def test_format_is_sniffed_from_the_first_character() -> None:
    assert sniff_format(b'  \n{"resourceType": "Patient"}') == "json"
    assert sniff_format(b"\xef\xbb\xbf  <Patient/>") == "xml"
    assert sniff_format("<?xml version='1.0'?><Patient/>") == "xml"
    assert sniff_format(b"   ", "xml") == "xml"
    assert sniff_format(b"", None) == "json"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    head=st.lists(
        st.sampled_from([b" ", b"\t", b"\r\n", b"\xef\xbb\xbf", b"\xef\xbb", b"\xff", b"\xc2\xa0"])
    ),
    rest=st.sampled_from([b"", b"<Patient/>", b'{"a": 1}', b"x", b"\xe2\x80\x8b<a/>"]),
    padding=st.sampled_from([0, 4090, 4093, 4095]),
    hint=st.sampled_from([None, "xml", "json"]),
)
@example(head=[b"\xef\xbb\xbf"], rest=b"", padding=4095, hint="xml")  # a mark cut by the 4096 bytes read
def test_bytes_are_sniffed_as_their_text_would_be(
    head: list[bytes], rest: bytes, padding: int, hint: Format | None
) -> None:
    payload = b" " * padding + b"".join(head) + rest
    as_text = payload[:4096].decode("utf-8", errors="replace")
    assert sniff_format(payload, hint) == sniff_format(as_text, hint)


def test_xml_without_a_type_model_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="TypeModel"):
        parse(b'<Patient xmlns="http://hl7.org/fhir"/>')


def test_unknown_format_or_source_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="yaml"):
        parse(b"{}", format="yaml")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        parse(42)  # type: ignore[arg-type]


def test_unreadable_files_raise_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.json"):
        parse_file(tmp_path / "missing.json")
    with pytest.raises(InputError):
        parse_file(tmp_path)


def test_a_path_source_is_read_as_a_file(tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    payload.write_bytes(b'{"resourceType": "Patient", "active": true}')

    assert parse(payload).resource == {"resourceType": "Patient", "active": True}


# -- the compact position index ----------------------------------------------------------------------------

_KEYS = st.sampled_from(["a", "b", "id", "_x", "name", 'qu"ote', "\u00e9t\u00e9", "k\\"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=20) | st.dictionaries(_KEYS, inner, max_size=20),
    max_leaves=60,
)


@settings(max_examples=150, deadline=None)
@given(value=st.dictionaries(_KEYS, _JSON, max_size=20), indent=st.sampled_from([None, 0, 1, 2]))
def test_the_compact_index_finds_every_value_where_the_path_index_does(
    value: dict[str, Any], indent: int | None
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    offsets = jsonscan.value_offsets(text)
    starts = jsonscan.value_starts(text)
    assert len(starts.starts) == len(offsets)
    for path, offset in offsets.items():
        assert starts.offset(value, path) == offset
    missing: list[tuple[str | int, ...]] = [("nothing",), (0,)]
    missing += [(*path, "nothing") for path in offsets] + [(*path, 99) for path in offsets]
    for path in missing:
        assert starts.offset(value, path) is None


def test_a_large_array_and_object_are_indexed_by_child_tables() -> None:
    value = {"entry": [{"k": i} for i in range(100)], **{f"key{i}": i for i in range(40)}}
    text = json.dumps(value, indent=1)
    offsets = jsonscan.value_offsets(text)
    starts = jsonscan.value_starts(text)
    for path in [
        ("entry", 99, "k"),
        ("entry", 17),
        ("key39",),
        ("key0",),
        ("entry", 50, "k"),
        ("entry", 99, "k"),
    ]:
        assert starts.offset(value, path) == offsets[path]


def test_a_repeated_key_is_placed_at_its_last_value() -> None:
    parsed = parse(b'{"resourceType": "Patient",\n "gender": "male",\n "gender": "female", "id": "x"}')
    assert parsed.position(("gender",)) == (3, 12)
    assert parsed.position(("id",)) == (3, 28)


def _skeleton_whole(data: bytes) -> bytes:
    """The structural characters outside strings, from the whole text at once (the definition)."""
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(
        data.translate(None, b"".join(bytes([b]) for b in range(256) if b not in b'{}[],"')).split(b'"')[::2]
    )


@settings(max_examples=200, deadline=None)
@given(value=_JSON, chunk_size=st.integers(min_value=1, max_value=9))
def test_the_skeleton_read_in_chunks_is_the_skeleton_of_the_whole(value: Any, chunk_size: int) -> None:
    data = json.dumps(value, ensure_ascii=False).encode()
    assert jsonform._skeleton(data, chunk_size) == _skeleton_whole(data)


@pytest.mark.parametrize(
    "text", ['{"a": "x\\\\\\"y,[", "b": ["\\\\\\\\", "\\\\\\\\\\"", {}]}', '["\\\\", "{", 1]']
)
def test_the_skeleton_keeps_escaped_quotes_and_backslashes_inside_strings(text: str) -> None:
    data = text.encode()
    json.loads(text)  # the examples are JSON
    for size in range(1, len(data) + 1):
        assert jsonform._skeleton(data, size) == _skeleton_whole(data)


def test_positions_of_a_payload_kept_compressed_are_those_of_its_text() -> None:
    names = [{"family": f"F{i}", "given": ["G\u00e9"]} for i in range(20_000)]
    text = json.dumps({"resourceType": "Patient", "name": names, "gender": "x"}, indent=1, ensure_ascii=False)
    data = text.encode()
    assert len(data) > jsonform._COMPRESSED_ABOVE
    parsed = parse(data)
    offsets = jsonscan.value_offsets(text)
    lines = jsonscan.LineIndex(text)
    for path in [("gender",), ("name", 19_999, "given", 0), ("name", 0), ()]:
        assert parsed.position(path) == lines.position(offsets[path])


def _large_bundle_text(entries: int) -> str:
    resource = {"resourceType": "Patient", "gender": "female", "birthDate": "2000-01-01", "weight": 1.5}
    entry = [{"fullUrl": f"urn:uuid:{n}", "resource": dict(resource)} for n in range(entries)]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entry})


def test_a_large_payload_reads_alike_and_shares_its_short_strings() -> None:
    text = _large_bundle_text(1000)
    assert len(text) > jsonform._INTERNED_ABOVE  # past the size where the tree's memory matters

    parsed = parse(text.encode())

    assert parsed.issues == ()
    assert parsed.resource == json.loads(text, parse_float=Decimal)
    entries = parsed.resource["entry"] if parsed.resource else []
    assert len({id(entry["resource"]["gender"]) for entry in entries}) == 1  # one copy of "female"


def test_a_duplicate_key_in_a_large_payload_is_found_and_the_last_value_wins() -> None:
    text = _large_bundle_text(1000).removesuffix("}") + ', "type": "batch"}'
    assert len(text) > jsonform._INTERNED_ABOVE

    parsed = parse(text.encode())

    assert parsed.resource is not None and parsed.resource["type"] == "batch"
    assert [(issue.message_id, issue.location) for issue in parsed.issues] == [
        ("json.duplicate-key", "Bundle.type")
    ]
