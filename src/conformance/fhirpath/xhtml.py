"""The FHIR narrative rules behind `htmlChecks()` (txt-1) and the content rule (txt-2).

A narrative `div` is XHTML limited to the basic formatting of HTML 4.0 (chapters 7 to
11, without ins/del, and 15), links, images and image maps, with inline style. It
may not hold a document head or body, scripts, forms, frames, objects, deprecated
presentational elements or event attributes (`onclick`...), and links may not use the
`javascript:` scheme. txt-2 asks for some non-whitespace text (or an image).

The text is parsed with defusedxml, so a DOCTYPE, entity declarations and external
entities are refused outright. Named HTML entities such as `&nbsp;` are accepted (they
are common in narratives and harmless): they are turned into character references
before parsing.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from xml.etree import ElementTree

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"

ALLOWED_ELEMENTS = frozenset(
    {
        # text structure and phrases (HTML 4.0 chapters 7 to 9)
        "div", "span", "p", "br", "hr", "pre", "blockquote", "q", "address", "bdo",
        "h1", "h2", "h3", "h4", "h5", "h6",
        "em", "strong", "dfn", "code", "samp", "kbd", "var", "cite", "abbr", "acronym", "sub", "sup",
        # font styles that chapter 15 keeps (not the deprecated font, center, u, s, strike)
        "tt", "i", "b", "big", "small",
        # lists and tables (chapters 10 and 11)
        "ul", "ol", "li", "dl", "dt", "dd",
        "table", "caption", "thead", "tfoot", "tbody", "colgroup", "col", "tr", "th", "td",
        # links, images and client-side image maps
        "a", "img", "map", "area",
    }
)  # fmt: skip

GLOBAL_ATTRIBUTES = frozenset(
    {
        "id", "class", "style", "title", "lang", "xml:lang", "dir", "xml:space", "accesskey", "tabindex",
        # cell and column layout, accepted on any table part
        "span", "width", "align", "valign", "char", "charoff", "abbr", "axis", "headers", "scope",
        "rowspan", "colspan",
    }
)  # fmt: skip

ELEMENT_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "name", "charset", "type", "hreflang", "rel", "rev", "shape", "coords"}),
    "img": frozenset({"src", "alt", "longdesc", "height", "width", "usemap", "ismap", "border"}),
    "area": frozenset({"shape", "coords", "href", "nohref", "alt"}),
    "map": frozenset({"name"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "table": frozenset({"summary", "width", "border", "frame", "rules", "cellspacing", "cellpadding"}),
    "td": frozenset({"nowrap"}),
    "th": frozenset({"nowrap"}),
}

_URL_ATTRIBUTES = frozenset({"href", "src", "longdesc", "usemap", "cite"})
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


@dataclass(frozen=True)
class NarrativeProblem:
    """One breach of the narrative rules: what, and where (element name)."""

    rule: str  # "well-formed", "element", "attribute", "script-url", "root"
    detail: str


def check_structure(text: str) -> tuple[NarrativeProblem, ...]:
    """Breaches of the element and attribute rules (txt-1); () when the div is acceptable."""
    return _analyse(text)[0]


def has_content(text: str) -> bool:
    """txt-2: some non-whitespace text, or an image."""
    return _analyse(text)[1]


def structure_ok(text: str) -> bool:
    return not check_structure(text)


# txt-1 and txt-2 look at the same div one after the other: parse it once.
@lru_cache(maxsize=64)
def _analyse(text: str) -> tuple[tuple[NarrativeProblem, ...], bool]:
    root = _parse(text)
    if isinstance(root, NarrativeProblem):
        return (root,), False
    problems: list[NarrativeProblem] = []
    if _local_name(root.tag) != "div":
        problems.append(
            NarrativeProblem("root", f"the narrative root is <{_local_name(root.tag)}>, not <div>")
        )
    content = False
    for element in root.iter():
        problems.extend(_element_problems(element))
        content = content or _carries_content(element)
    return tuple(problems), content


def _parse(text: str) -> ElementTree.Element | NarrativeProblem:
    prepared = _NAMED_ENTITY.sub(_entity_to_reference, text)
    try:
        root: ElementTree.Element = SafeElementTree.fromstring(prepared, forbid_dtd=True)
    except DefusedXmlException as exc:
        return NarrativeProblem("well-formed", f"forbidden XML construct ({type(exc).__name__})")
    except ElementTree.ParseError as exc:
        return NarrativeProblem("well-formed", f"not well-formed XHTML ({exc})")
    return root


def _entity_to_reference(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES:
        return match.group(0)
    codepoint = html.entities.name2codepoint.get(name)
    return match.group(0) if codepoint is None else f"&#{codepoint};"


def _element_problems(element: ElementTree.Element) -> Iterator[NarrativeProblem]:
    namespace, name = _split_tag(element.tag)
    if namespace not in (None, XHTML_NAMESPACE) or name not in ALLOWED_ELEMENTS:
        yield NarrativeProblem("element", f"element <{name}> is not allowed in a narrative")
        return
    allowed_here = ELEMENT_ATTRIBUTES.get(name, frozenset())
    for raw_name, value in element.attrib.items():
        attribute = _attribute_name(raw_name)
        if attribute.startswith("xmlns"):
            continue
        if attribute not in GLOBAL_ATTRIBUTES and attribute not in allowed_here:
            yield NarrativeProblem("attribute", f"attribute {attribute} is not allowed on <{name}>")
        elif attribute in _URL_ATTRIBUTES and value.strip().lower().startswith(_SCRIPT_SCHEMES):
            yield NarrativeProblem("script-url", f"attribute {attribute} on <{name}> holds a script URL")


def _carries_content(element: ElementTree.Element) -> bool:
    if _local_name(element.tag) == "img":
        return True
    return bool((element.text or "").strip() or (element.tail or "").strip())


def _split_tag(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def _local_name(tag: str) -> str:
    return _split_tag(tag)[1]


def _attribute_name(raw: str) -> str:
    namespace, name = _split_tag(raw)
    if namespace == _XML_NAMESPACE:
        return f"xml:{name}"
    if namespace is not None:
        return f"{{{namespace}}}{name}"
    return name
