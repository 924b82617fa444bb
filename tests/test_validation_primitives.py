"""Primitive values checked as the HL7 validator checks them (its whitespace, its OID and UUID rules).

The HL7 validator's whitespace is its own list (Utilities.isWhitespace: ASCII space and controls, the Unicode
space and line separators), not Python's `str.isspace()`; these tests pin the differences.
"""

from __future__ import annotations

import pytest

from conformance.validation.primitives import lexical_problem


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("a b", True),
        ("a\x1cb", True),  # not whitespace to the HL7 validator (Python's isspace() says it is)
        ("a  b", False),
        (" a", False),
        ("a ", False),
        ("a\tb", False),
        ("KIDN\xa0", False),  # a trailing no-break space is whitespace to the HL7 validator
    ],
)
def test_code_whitespace_follows_the_hl7_validator(code: str, valid: bool) -> None:
    assert (lexical_problem("code", code) is None) == valid


@pytest.mark.parametrize(
    ("type_code", "value", "message_id"),
    [
        ("uri", "http://example.org/a b", "type.uri"),  # a space anywhere
        ("uri", "http://example.org/a\u2003", "type.uri"),  # Java whitespace at an end
        ("uri", "http://example.org/a\x1cb", None),
        ("uri", "urn:oid:2.16.840.1.113883", None),
        ("uri", "urn:oid:1.2.3", "type.oid"),  # a root no longer than a registration authority's arcs
        ("uri", "urn:oid:1.3.6", None),  # 1.3.x is accepted all the same
        ("uri", "urn:oid:2.16.840.01", "type.oid"),  # leading zero
        ("uri", "urn:oid:2.16.840.1|4.0.1", "type.oid"),  # a version is not part of a uri's OID
        ("canonical", "urn:oid:2.16.840.1|4.0.1", None),  # but a canonical may carry one
        ("uri", "urn:uuid:5d9588d8-3cd6-4b32-8fb7-ad13694e069d#frag", None),  # the fragment is not the UUID
        ("uri", "urn:uuid:5d9588d8-3cd6-4b32-8fb7-ad13694e069", "type.uuid"),
        ("canonical", "Questionnaire/q1", "type.canonical.relative"),
        ("canonical", "#q1", None),
    ],
)
def test_uri_rules_follow_the_hl7_validator(type_code: str, value: str, message_id: str | None) -> None:
    problem = lexical_problem(type_code, value)
    assert (problem.message_id if problem else None) == message_id
