"""Element ids are unique within a resource; nested resources and a snapshot are scopes of their own."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.instance import parse
from conformance.validation import Validator
from conformance.validation.element_ids import _has_repeated_id, _scoped_duplicates, duplicate_ids


def test_a_repeated_element_id_is_found_at_its_second_use() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "a",
        "name": [{"id": "n1", "family": "A"}, {"id": "n1", "family": "B"}],
        "_gender": {"id": "n2"},
        "birthDate": "2000",
        "_birthDate": {"id": "n2"},
    }
    assert duplicate_ids(patient) == [("n1", ("name", 1)), ("n2", ("birthDate",))]


def test_distinct_ids_and_the_resource_id_are_not_duplicates() -> None:
    patient = {"resourceType": "Patient", "id": "x", "name": [{"id": "x"}, {"id": "y"}]}
    assert duplicate_ids(patient) == []


def test_nested_resources_are_their_own_scope() -> None:
    patient = {
        "resourceType": "Patient",
        "contained": [{"resourceType": "Organization", "id": "o", "name": "O", "telecom": [{"id": "t"}]}],
        "telecom": [{"id": "t", "system": "phone", "value": "1"}],
    }
    assert duplicate_ids(patient) == []


def test_a_snapshot_repeats_the_differential_ids() -> None:
    element = {"id": "Patient.name", "path": "Patient.name"}
    definition: dict[str, Any] = {
        "resourceType": "StructureDefinition",
        "snapshot": {"element": [element]},
        "differential": {"element": [element, dict(element)]},
    }
    assert duplicate_ids(definition) == [("Patient.name", ("differential", "element", 1))]


@pytest.mark.shared
def test_the_validator_reports_a_duplicate_id(r4_validator: Validator) -> None:
    patient = {"resourceType": "Patient", "name": [{"id": "n", "family": "A"}, {"id": "n", "family": "B"}]}
    outcome = r4_validator.validate(patient)
    assert [(i.message_id, i.location) for i in outcome.errors] == [
        ("structure.duplicate-id", "Patient.name[1]")
    ]


_IDS = st.sampled_from(["a", "b", "c", ""]) | st.integers(0, 2)
_KEYS = st.sampled_from(["id", "resourceType", "snapshot", "x", "_y"])


def _trees(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON values over these leaves, with objects keyed by the names the id scan cares about."""
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
        max_leaves=25,
    )


_JSON = _trees(st.none() | st.booleans() | _IDS)
_RESOURCES = st.dictionaries(_KEYS, _JSON, max_size=5)


@settings(max_examples=400, deadline=None)
@given(_RESOURCES)
def test_the_quick_answer_never_hides_a_duplicate(resource: dict[str, Any]) -> None:
    """The whole-tree scan that skips the path building must only ever say "maybe" where one exists."""
    assert duplicate_ids(resource) == _scoped_duplicates(resource)


class _Items(list[Any]):
    """An array that is a subclass of list (as a caller's own payload may hold)."""


def _other_containers(value: Any) -> Any:
    """The same tree with read-only mappings for objects and a list subclass for arrays."""
    if isinstance(value, dict):
        return MappingProxyType({key: _other_containers(item) for key, item in value.items()})
    if isinstance(value, list):
        return _Items(_other_containers(item) for item in value)
    return value


_NUMBERS = st.decimals(allow_nan=False, allow_infinity=False, places=2) | st.floats(allow_nan=False)
_ANY_JSON = _trees(st.none() | st.booleans() | _IDS | _NUMBERS)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _ANY_JSON, max_size=5))
def test_any_mapping_and_list_type_is_walked_as_dicts_and_lists_are(resource: dict[str, Any]) -> None:
    """The quick scan tells JSON's own dicts and scalars by their exact types: other mappings and list
    types (a caller's payload) must still be looked into, and give the same answers."""
    other = _other_containers(resource)
    assert _has_repeated_id(other) == _has_repeated_id(resource)
    assert duplicate_ids(other) == duplicate_ids(resource)


@settings(max_examples=300, deadline=None)
@given(_RESOURCES)
def test_a_text_that_rules_out_repeated_ids_has_none(resource: dict[str, Any]) -> None:
    """The parse's hint (the key `id` written at most once) never hides a duplicate the scan would find."""
    for text in (json.dumps(resource), json.dumps(resource, indent=1, ensure_ascii=False)):
        parsed = parse(text.encode())
        assert parsed.resource is not None
        if not parsed.ids_may_repeat:
            assert _scoped_duplicates(parsed.resource) == []


def test_a_key_spelt_with_escapes_still_counts() -> None:
    text = '{"resourceType": "Patient", "name": [{"\\u0069d": "n"}, {"i\\u0064": "n"}]}'
    assert parse(text.encode()).ids_may_repeat
    assert not parse(b'{"resourceType": "Patient", "id": "p", "name": [{"family": "A"}]}').ids_may_repeat
    # A value that reads like the key only makes the answer cautious.
    assert parse(b'{"resourceType": "Patient", "id": "p", "name": [{"family": "id"}]}').ids_may_repeat


@pytest.mark.shared
def test_escaped_duplicate_ids_are_reported_from_a_text(r4_validator: Validator) -> None:
    text = (
        '{"resourceType": "Patient", "name": [{"\\u0069d": "n", "family": "A"}, {"id": "n", "family": "B"}]}'
    )
    outcome = r4_validator.validate(text.encode())
    assert [(i.message_id, i.location) for i in outcome.errors] == [
        ("structure.duplicate-id", "Patient.name[1]")
    ]
