"""Java regular expressions (what FHIR's regexes are written for) translated for Python.

Each property compares the translation with the character sets java.util.regex.Pattern documents, written
out here independently of the module: a shorthand class, alone, negated, or inside a class, accepts exactly
the characters Java's definition lists, whatever the character (any code point hypothesis draws).
"""

from __future__ import annotations

import re

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from conformance.fhirpath import _regex
from conformance.fhirpath.errors import FhirPathError
from conformance.fhirpath.javaregex import JavaRegexError, translate
from conformance.validation.primitives import regex_problem, type_regex_problem

# java.util.regex.Pattern, "Predefined character classes" (default flags: US-ASCII meanings).
JAVA_DEFINITIONS = {
    "\\s": set(" \t\n\x0b\f\r"),
    "\\d": set("0123456789"),
    "\\w": {chr(c) for c in range(128) if chr(c).isalnum()} | {"_"},
}
LINE_TERMINATORS = set("\n\r\x85\u2028\u2029")

any_char = st.characters(codec="utf-8")  # every code point but lone surrogates


def _compiled(pattern: str, *, dotall: bool = False) -> regex.Pattern[str]:
    translation = translate(pattern, dotall=dotall)
    flavour = regex.VERSION1 if translation.nested_sets else regex.VERSION0
    return regex.compile(translation.anchored, flavour)


def _accepts(pattern: str, text: str, *, dotall: bool = False) -> bool:
    return _compiled(pattern, dotall=dotall).match(text) is not None


@pytest.mark.parametrize("shorthand", sorted(JAVA_DEFINITIONS))
@given(char=any_char)
def test_shorthand_classes_are_javas(shorthand: str, char: str) -> None:
    members = JAVA_DEFINITIONS[shorthand]
    negated = shorthand.upper()
    assert _accepts(shorthand, char) == (char in members)
    assert _accepts(negated, char) == (char not in members)
    assert _accepts(f"[{shorthand}]", char) == (char in members)
    assert _accepts(f"[^{shorthand}]", char) == (char not in members)
    assert _accepts(f"[^{negated}]", char) == (char in members)
    # a negated shorthand united with other members (FHIR's `string` is [ \r\n\t\S])
    assert _accepts(f"[#{negated}]", char) == (char not in members or char == "#")
    assert _accepts(f"[^#{negated}]", char) == (char in members and char != "#")


@given(char=any_char)
def test_fhir_string_regex_takes_every_character_but_vertical_tab_and_form_feed(char: str) -> None:
    assert _accepts("[ \\r\\n\\t\\S]+", char) == (char not in "\x0b\f")


@given(char=any_char)
def test_dot_takes_everything_but_line_terminators_unless_dotall(char: str) -> None:
    assert _accepts(".", char) == (char not in LINE_TERMINATORS)
    assert _accepts(".", char, dotall=True)


@given(text=st.text(alphabet=st.sampled_from("a_1 é-\n"), max_size=8))
def test_word_boundaries_are_between_ascii_word_and_non_word_characters(text: str) -> None:
    word = JAVA_DEFINITIONS["\\w"]
    expected = [
        index
        for index in range(len(text) + 1)
        if (index > 0 and text[index - 1] in word) != (index < len(text) and text[index] in word)
    ]
    compiled = regex.compile(translate("\\b").pattern)
    assert [m.start() for m in compiled.finditer(text)] == expected
    not_boundary = regex.compile(translate("\\B").pattern)
    assert [m.start() for m in not_boundary.finditer(text)] == sorted(
        set(range(len(text) + 1)) - set(expected)
    )


@given(
    char=any_char,
    posix=st.sampled_from(["Alpha", "Digit", "Alnum", "Upper", "Lower", "Punct", "Space", "XDigit"]),
)
def test_posix_classes_are_ascii_only(char: str, posix: str) -> None:
    definitions = {
        "Alpha": char.isascii() and char.isalpha(),
        "Digit": char in "0123456789",
        "Alnum": char.isascii() and char.isalnum(),
        "Upper": "A" <= char <= "Z",
        "Lower": "a" <= char <= "z",
        "Punct": char in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "Space": char in " \t\n\x0b\f\r",
        "XDigit": char in "0123456789abcdefABCDEF",
    }
    assert _accepts(f"\\p{{{posix}}}", char) == definitions[posix]
    assert _accepts(f"\\P{{{posix}}}", char) == (not definitions[posix])


@pytest.mark.parametrize(
    ("pattern", "text", "whole", "anywhere"),
    [
        ("a|ab", "ab", True, True),  # Java's matches() backtracks into the alternation
        ("b", "abc", False, True),
        ("a$", "a\n", False, True),  # `$` before a final line terminator, but the terminator is not matched
        ("a$", "a\r\n", False, True),
        ("a\\Z", "a\u2028", False, True),
        ("a\\z", "a\n", False, False),
        ("^b", "ab", False, False),
        ("[a-z&&[^aeiou]]+", "bcd", True, True),  # intersection
        ("[a-z&&[^aeiou]]+", "bad", False, True),
        ("[a[0-9]]+", "a1a", True, True),  # union
        ("\\Q[.]\\E", "[.]", True, True),
        ("(?<year>[0-9]{2})\\k<year>", "1212", True, True),
        ("\\x{1F600}", "\U0001f600", True, True),
        ("\\0101\\u0042\\cA\\e", "AB\x01\x1b", True, True),
        ("\\p{L}+", "Ωé", True, True),
        ("(?s)a.b", "a\nb", True, True),
        ("(?i)abc", "ABC", True, True),
        ("[-a]+", "-a", True, True),
    ],
)
def test_java_constructs_and_anchoring(pattern: str, text: str, whole: bool, anywhere: bool) -> None:
    assert _accepts(pattern, text) == whole
    translation = translate(pattern)
    flavour = regex.VERSION1 if translation.nested_sets else regex.VERSION0
    assert (regex.compile(translation.pattern, flavour).search(text) is not None) == anywhere


@pytest.mark.parametrize("pattern", ["[a", "a\\", "[z-a]", "\\x{zz}", "[]"])
def test_malformed_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(JavaRegexError):
        translate(pattern)


@pytest.mark.parametrize(
    "pattern", ["[ \\r\\n\\t\\S]+", "[^\\s]+(\\s[^\\s]+)*", "[A-Za-z0-9\\-\\.]{1,64}", "-?(0|[1-9][0-9]*)"]
)
def test_core_type_regexes_keep_the_standard_library_engine(pattern: str) -> None:
    # the core primitive regexes run on every value: none of them needs the `regex` package's nested sets
    translation = translate(pattern)
    assert not translation.nested_sets
    assert re.compile(translation.anchored).match("1") is not None


def test_primitive_values_are_checked_with_java_semantics() -> None:
    # a no-break space is a string character in Java (\S); Python's \S would refuse it
    assert type_regex_problem("[ \\r\\n\\t\\S]+", "Sean\xa0Stover", "string") is None
    assert type_regex_problem("[ \\r\\n\\t\\S]+", "form\ffeed", "string") is not None
    # code: no leading or trailing whitespace, single inner spaces; U+2003 is not Java whitespace
    assert type_regex_problem("[^\\s]+(\\s[^\\s]+)*", "a\u2003b", "code") is None
    assert type_regex_problem("[^\\s]+(\\s[^\\s]+)*", "a  b", "code") is not None
    # a profile's regex: ASCII digits only
    assert regex_problem("\\d{3}", "١٢٣", "string") is not None
    assert regex_problem("\\d{3}", "123", "string") is None
    problem = regex_problem("[a", "x", "string")
    assert problem is not None
    assert problem.message_id == "type.regex.invalid"


def test_fhirpath_matches_uses_java_semantics() -> None:
    assert _regex.search("^\\d+$", "١٢٣", 1.0) is False
    assert _regex.full_match("\\S+", "a\xa0b", 1.0) is True
    assert _regex.search("a.b", "a\nb", 1.0) is True  # the HL7 validator's FHIRPath runs with DOTALL
    with pytest.raises(FhirPathError):
        _regex.search("[unterminated", "x", 1.0)
