"""JSON positions found by reading the text up to the asked value: the same answers as the index of every
value, for any document, path and order of asking, and a bounded cost when many positions are asked."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.instance import Limits, jsonform, jsonscan, parse, textsource
from conformance.instance.jsonform import _NavigatedPositions

Path = tuple[Any, ...]

# A document is built as a tree whose objects are lists of members, so that keys can repeat, and written out
# with random whitespace and string spellings (escaped, or with raw control characters, which the reader
# accepts with a warning), so that the finder meets every layout it can be given.
_KEYS = st.sampled_from(
    ["a", "b", "_a", "id", "resourceType", 'qu"ote', "back\\slash", "\u00e9t\u00e9", "\n", "\x01", ""]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
_TREES = st.recursive(
    _SCALARS.map(lambda value: ("scalar", value)),
    lambda inner: (
        st.lists(inner, max_size=6).map(lambda items: ("array", items))
        | st.lists(st.tuples(_KEYS, inner), max_size=6).map(lambda members: ("object", members))
    ),
    max_leaves=40,
)
_ROOTS = st.lists(st.tuples(_KEYS, _TREES), max_size=8).map(lambda members: ("object", members))
_WHITESPACE = st.text(alphabet=" \t\n\r", max_size=3)
_SPELLINGS: dict[str, Callable[[str], str]] = {
    "ascii": json.dumps,
    "unicode": lambda text: json.dumps(text, ensure_ascii=False),
    "raw controls": lambda text: '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"',
}


def _write(tree: tuple[str, Any], space: Callable[[], str], spell: Callable[[str], str]) -> str:
    kind, content = tree
    if kind == "scalar":
        return spell(content) if isinstance(content, str) else json.dumps(content)
    if kind == "array":
        items = [space() + _write(item, space, spell) + space() for item in content]
        return "[" + ",".join(items) + space() + "]"
    members = [
        space() + spell(key) + space() + ":" + space() + _write(value, space, spell) for key, value in content
    ]
    return "{" + ",".join(members) + space() + "}"


@st.composite
def _documents(draw: st.DrawFn) -> str:
    tree = draw(_ROOTS)
    spell = _SPELLINGS[draw(st.sampled_from(sorted(_SPELLINGS)))]
    return draw(_WHITESPACE) + _write(tree, lambda: draw(_WHITESPACE), spell) + draw(_WHITESPACE)


def _repeats_a_key(text: str) -> bool:
    repeated = False

    def pairs(members: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        repeated = repeated or len({key for key, _ in members}) != len(members)
        return dict(members)

    json.loads(text, object_pairs_hook=pairs, strict=False)
    return repeated


def _index_positions(text: str, root: dict[str, Any], duplicated: bool) -> dict[Path, tuple[int, int] | None]:
    """What the index answers for every path in the text and for missing paths beside them."""
    offsets = jsonscan.value_offsets(text)
    missing: list[Path] = [("nothing",), (0,), (-1,), ("a", 5, "b")]
    for path in offsets:
        missing += [(*path, "nothing"), (*path, 0), (*path, 7), (*path, -1), (*path, "a")]
    index = jsonform._index(text, root, duplicated=duplicated)
    return {path: index.get(path) for path in [*offsets, *missing]}


@settings(max_examples=300, deadline=None)
@given(
    text=_documents(),
    order=st.randoms(use_true_random=False),
    budget=st.sampled_from([0, 1, jsonform._NAVIGATION_BUDGET]),
    mark_every=st.sampled_from([1, 2, jsonscan._ElementMarks.EVERY]),
    line_span=st.sampled_from([1, 3, textsource._LineMarks.SPAN]),
)
def test_navigated_positions_are_the_index_positions(
    text: str, order: Any, budget: int, mark_every: int, line_span: int
) -> None:
    root = json.loads(text, strict=False)
    duplicated = _repeats_a_key(text)
    expected = _index_positions(text, root, duplicated)
    paths = list(expected)
    order.shuffle(paths)

    # Small spans and marks, so that documents of a few lines and elements use them as large ones do.
    with (
        mock.patch.object(jsonscan._ElementMarks, "EVERY", mark_every),
        mock.patch.object(textsource._LineMarks, "SPAN", line_span),
    ):
        navigated = _NavigatedPositions(text, root, duplicated=duplicated, budget=budget)
        for path in paths:
            assert navigated.get(path) == expected[path], path


def test_a_repeated_key_reaches_the_last_value_that_has_the_path() -> None:
    text = '{"a": {"x": 1, "y": [1, 2]},\n "a": {"y": [3]},\n "b": 1, "a": 5}'
    root = json.loads(text)
    navigated = _NavigatedPositions(text, root, duplicated=True)

    assert navigated.get(("a",)) == (3, 15)  # the last `a`
    assert navigated.get(("a", "y")) == (2, 13)  # in the second `a`, the last that has `y`
    assert navigated.get(("a", "y", 1)) == (1, 25)  # only the first `a` has a second element
    assert navigated.get(("a", "x")) == (1, 13)
    assert navigated.get(("a", "z")) is None


def test_keys_with_escapes_whitespace_and_a_bom_are_read_as_the_parser_reads_them() -> None:
    data = '\ufeff {\r\n "q\\"uote" :\t[ 1 ,\n  {"\\u00e9" : "x"} ] ,"_b":{}}'.encode()
    parsed = parse(data)

    assert parsed.position(('q"uote', 1, "\u00e9")) == (3, 15)
    assert parsed.position(('q"uote', 0)) == (2, 16)
    assert parsed.position(("_b",)) == (3, 28)
    assert parsed.position(()) == (1, 2)  # columns do not count the byte order mark
    assert parsed.position(("_b", "x")) is None


def test_raw_control_characters_in_an_escaped_key_are_read_not_a_traceback() -> None:
    text = '{"resourceType": "Pat\x01ient", "k\\n\x02": [1, 2], "k\\n\x02": [3]}'
    parsed = parse(text)

    assert parsed.ok
    assert [issue.message_id for issue in parsed.issues].count("json.control-character") == 3
    assert parsed.position(("k\n\x02", 0)) == (1, 55)  # the last value of the repeated key
    assert parsed.position(("k\n\x02", 1)) == (1, 42)


def _bundle_text(entries: int) -> str:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{i}", "resource": {"resourceType": "Patient", "id": str(i)}}
            for i in range(entries)
        ],
    }
    return json.dumps(bundle, indent=1)


def test_positions_asked_in_text_order_cost_one_pass_over_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _bundle_text(2000)
    indexed: list[int] = []
    monkeypatch.setattr(jsonform, "_index", lambda *args, **kwargs: indexed.append(1))
    navigated = _NavigatedPositions(text, json.loads(text), duplicated=False)

    positions = [navigated.get(("entry", i, "resource", "id")) for i in range(2000)]

    lines = text.split("\n")
    assert all(lines[line - 1][column - 1] == '"' for line, column in positions)  # type: ignore[misc]
    assert indexed == []  # reading from the start for each entry would have passed the budget long before


def test_positions_asked_out_of_order_switch_to_the_index_once(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _bundle_text(2000)
    root = json.loads(text)
    calls: list[str] = []
    index = jsonform._index

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("index")
        return index(*args, **kwargs)

    monkeypatch.setattr(jsonform, "_index", counting)
    navigated = _NavigatedPositions(text, root, duplicated=False)
    offsets = jsonscan.value_offsets(text)
    lines = jsonscan.LineIndex(text)

    for i in reversed(range(2000)):
        path = ("entry", i, "resource", "id")
        assert navigated.get(path) == lines.position(offsets[path])
    assert calls == ["index"]


def test_a_payload_kept_compressed_is_navigated_in_its_text() -> None:
    names = [{"family": f"F{i}", "given": ["G\u00e9"]} for i in range(20_000)]
    text = json.dumps({"resourceType": "Patient", "name": names, "gender": "x"}, indent=1, ensure_ascii=False)
    data = text.encode()
    assert len(data) > jsonform._COMPRESSED_ABOVE
    parsed = jsonform.read_json(data, Limits())
    offsets = jsonscan.value_offsets(text)
    lines = jsonscan.LineIndex(text)

    for path in [("name", 12_345, "given", 0), ("gender",), ("name", 3)]:
        assert parsed.position(path) == lines.position(offsets[path])


@pytest.mark.parametrize("repeat", [False, True])
def test_the_deepest_value_the_reader_accepts_is_found(repeat: bool) -> None:
    depth = Limits().max_depth - 2  # the root object and the inner one are levels too
    inner = '{"a": 1, "a": 2}' if repeat else '{"a": 2}'
    text = '{"resourceType": "Basic", "x": ' + "[" * depth + inner + "]" * depth + "}"
    parsed = parse(text)
    path: tuple[str | int, ...] = ("x", *[0] * depth, "a")

    assert parsed.ok
    assert parsed.position(path) == (1, len(text) - depth - 2)  # the `2` before `}`, the arrays' `]` and `}`


# A payload above a megabyte is kept compressed and its text read in pieces, holding only a window of it.
# Pieces, compressed inputs and look-ahead of a few characters put the window's edges everywhere: inside
# keys, numbers, escapes, whitespace runs and multi-byte characters.


def _streamed(text: str, *, bom: bool = False) -> textsource.StreamedText:
    data = ("\ufeff" if bom else "").encode() + text.encode("utf-8", errors="surrogatepass")
    return textsource.StreamedText(zlib.compress(data), len(data))


@settings(max_examples=300, deadline=None)
@given(
    text=_documents(),
    order=st.sampled_from(["text order", "shuffled"]),
    shuffle=st.randoms(use_true_random=False),
    sizes=st.tuples(st.integers(1, 9), st.integers(1, 7), st.integers(1, 4)),
    bom=st.booleans(),
)
def test_positions_read_in_pieces_are_the_index_positions(
    text: str, order: str, shuffle: Any, sizes: tuple[int, int, int], bom: bool
) -> None:
    piece, compressed_input, ahead = sizes
    root = json.loads(text, strict=False)
    duplicated = _repeats_a_key(text)
    expected = _index_positions(text, root, duplicated)
    paths = list(expected)  # text order: `value_offsets` lists values as they start
    if order == "shuffled":
        shuffle.shuffle(paths)
    with (
        mock.patch.object(textsource.StreamedText, "PIECE", piece),
        mock.patch.object(textsource.StreamedText, "_INPUT", compressed_input),
        mock.patch.object(jsonscan, "_AHEAD", ahead),
    ):
        navigated = _NavigatedPositions(_streamed(text, bom=bom), root, duplicated=duplicated, budget=1000)
        for path in paths:
            assert navigated.get(path) == expected[path], path


def test_positions_asked_in_text_order_hold_a_window_not_the_text() -> None:
    text = _bundle_text(20_000)
    source = _streamed(text)
    navigated = _NavigatedPositions(source, json.loads(text), duplicated=False)
    offsets = jsonscan.value_offsets(text)
    lines = jsonscan.LineIndex(text)
    held = 0
    for i in range(20_000):
        for path in [("entry", i, "resource"), ("entry", i, "resource", "id")]:
            assert navigated.get(path) == lines.position(offsets[path])
        held = max(held, len(source.text))
    assert len(text) > 2_000_000
    assert held <= 3 * textsource.StreamedText.PIECE
    assert navigated.get(("type",)) == lines.position(offsets[("type",)])  # before the window: read again


def test_a_large_payload_is_read_in_pieces_and_gives_its_texts_positions() -> None:
    text = _bundle_text(20_000).replace('"Patient"', '"Pati\u00e9nt"')
    parsed = jsonform.read_json(text.encode(), Limits())
    offsets = jsonscan.value_offsets(text)
    lines = jsonscan.LineIndex(text)
    for path in [("entry", 19_999, "resource", "id"), ("entry", 0, "fullUrl"), ("resourceType",)]:
        assert parsed.position(path) == lines.position(offsets[path])


@pytest.mark.parametrize(
    ("payload", "root"),
    [
        (b'{"resourceType": "Patient"}', (1, 1)),
        (b'\xef\xbb\xbf{"resourceType": "Patient"}', (1, 1)),
        (b'\r\n  \t{"resourceType": "Patient"}', (2, 4)),
        ('\n\n {"resourceType": "Patient"}', (3, 2)),
    ],
)
def test_the_root_position_is_the_same_known_at_once_or_read(payload: bytes | str, root: Path) -> None:
    parsed = parse(payload)
    assert parsed.position(()) == root
    assert parsed.position(("resourceType",)) is not None


def test_a_text_that_starts_with_its_object_answers_the_root_without_reading_positions() -> None:
    with mock.patch.object(jsonform, "_positions", side_effect=AssertionError("positions were read")):
        parsed = parse(b'{"resourceType": "Patient", "id": "a"}')
        assert parsed.position(()) == (1, 1)
        with pytest.raises(AssertionError, match="positions were read"):
            parsed.position(("id",))
