"""The narrative rules behind htmlChecks() (txt-1) and htmlChecks2() (txt-2)."""

from __future__ import annotations

import pytest

from conformance.fhirpath.xhtml import check_structure, has_content, structure_ok

NS = 'xmlns="http://www.w3.org/1999/xhtml"'


def div(inner: str, attributes: str = "") -> str:
    return f"<div {NS}{attributes}>{inner}</div>"


@pytest.mark.parametrize(
    "text",
    [
        div("<p>Ann Smith</p>"),
        div(
            "<table><thead><tr><th scope='col'>a</th></tr></thead>"
            "<tbody><tr><td colspan='2'>b</td></tr></tbody></table>"
        ),
        div('<a href="http://example.org">link</a> <a name="here"/> <img src="#p" alt="x" width="10"/>'),
        div("<ul><li><b>b</b> <i>i</i> <code>c</code> <sub>1</sub></li></ul><br/><hr/><pre>x</pre>"),
        div("<span style='color: red' class='x' id='y' title='t' lang='en' xml:lang='en' dir='ltr'>s</span>"),
        div("Ann&nbsp;Smith &copy; 2024 &amp; &lt;ok&gt;"),
        div("<blockquote cite='http://x'>q</blockquote><q cite='http://y'>q</q>"),
        div('<map name="m"><area shape="rect" coords="0,0,1,1" href="#a" alt="a"/></map>'),
    ],
)
def test_allowed_narratives(text: str) -> None:
    assert check_structure(text) == ()
    assert structure_ok(text)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (div("<script>alert(1)</script>"), "element"),
        (div("<form><input name='x'/></form>"), "element"),
        (div("<iframe src='http://x'/>"), "element"),
        (div("<object data='x'/>"), "element"),
        (div("<font color='red'>old</font>"), "element"),
        (div("<center>old</center>"), "element"),
        (div("<style>p {}</style>"), "element"),
        (div("<p onclick='x()'>click</p>"), "attribute"),
        (div("<img src='x' onerror='x()'/>"), "attribute"),
        (div("<p href='x'>wrong element for href</p>"), "attribute"),
        (div("<a href='javascript:alert(1)'>x</a>"), "script-url"),
        (div("<a href=' JavaScript:alert(1)'>x</a>"), "script-url"),
        (div("<svg xmlns='http://www.w3.org/2000/svg'><circle/></svg>"), "element"),
        ("<p xmlns='http://www.w3.org/1999/xhtml'>not a div</p>", "root"),
        (div("<p>unclosed"), "well-formed"),
        (div("&undefinedentity;"), "well-formed"),
        ("", "well-formed"),
        ("plain text", "well-formed"),
        ('<!DOCTYPE div [<!ENTITY x "y">]><div>&x;</div>', "well-formed"),
        ('<!DOCTYPE div SYSTEM "http://example.org/evil.dtd"><div>x</div>', "well-formed"),
    ],
)
def test_refused_narratives(text: str, rule: str) -> None:
    problems = check_structure(text)
    assert rule in {problem.rule for problem in problems}
    assert not structure_ok(text)
    assert all("\n" not in problem.detail for problem in problems)


def test_entity_expansion_attack_is_refused() -> None:
    entities = "".join(f'<!ENTITY l{i} "&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};">' for i in range(1, 12))
    text = f'<!DOCTYPE div [<!ENTITY l0 "lol">{entities}]><div>&l11;</div>'
    assert not structure_ok(text)
    assert not has_content(text)


def test_deep_nesting_does_not_exhaust_the_stack() -> None:
    text = div("<span>" * 20_000 + "x" + "</span>" * 20_000)
    assert structure_ok(text)
    assert has_content(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (div("<p>Ann</p>"), True),
        (div("Ann"), True),
        (div("<p></p>tail text"), True),
        (div("<img src='#x'/>"), True),
        (div("  <p> </p>\n<br/> "), False),
        (div(""), False),
        (div("&nbsp;"), False),
        ("<div>not xhtml namespace, still text</div>", True),
        (div("<p>unclosed"), False),
    ],
)
def test_content_rule(text: str, expected: bool) -> None:
    assert has_content(text) is expected
