"""Narrative controls a profile can put on an element of type Narrative.

`narrative-language-control` asks for (or forbids) language sections in the XHTML, or a section for the
resource's own language; `narrative-source-control` asks that every piece of text says where it came
from (class boilerplate, generated or original).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from defusedxml.ElementTree import fromstring

from conformance.definitions.plan import ElementRule, Plan

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Frame, Walker

LANGUAGE_CONTROL = "http://hl7.org/fhir/StructureDefinition/narrative-language-control"
SOURCE_CONTROL = "http://hl7.org/fhir/StructureDefinition/narrative-source-control"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SOURCE_CLASSES = frozenset({"boilerplate", "generated", "original"})


def _control(rule: ElementRule, url: str) -> str | None:
    for extension in rule.raw.get("extension", ()) or ():
        if isinstance(extension, Mapping) and extension.get("url") == url:
            value = extension.get("valueCode")
            return value if isinstance(value, str) else None
    return None


def _parse(div: Any) -> ET.Element | None:
    if not isinstance(div, str):
        return None
    try:
        parsed: ET.Element = fromstring(div)
    except Exception:  # malformed XHTML is reported by the xhtml checks, not here
        return None
    return parsed


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def language_sections(root: ET.Element) -> list[str]:
    return [
        str(child.get("lang") or child.get(XML_LANG))
        for child in root
        if _local(child.tag) == "div" and (child.get("lang") or child.get(XML_LANG))
    ]


def unsourced_text(root: ET.Element) -> Iterator[str]:
    """Text not inside any element that says (by class) where it came from."""

    def visit(element: ET.Element, sourced: bool) -> Iterator[str]:
        classes = set((element.get("class") or "").split())
        here = sourced or bool(classes & SOURCE_CLASSES)
        if not here and element.text and element.text.strip():
            yield element.text.strip()
        for child in element:
            yield from visit(child, here)
            if not here and child.tail and child.tail.strip():
                yield child.tail.strip()

    yield from visit(root, False)


class NarrativeChecks:
    def check(
        self, walker: Walker, value: Mapping[str, Any], rule: ElementRule, loc: Loc, plan: Plan, frame: Frame
    ) -> None:
        language = _control(rule, LANGUAGE_CONTROL)
        source = _control(rule, SOURCE_CONTROL)
        if language is None and source is None:
            return
        root = _parse(value.get("div"))
        if root is None:
            return
        where = loc.child("div")
        profile = f"StructureDefinition[{plan.url}]"
        if language is not None:
            self._languages(walker, root, language, frame, where, profile, rule)
        if source is not None:
            for text in unsourced_text(root):
                walker.report.error(
                    "business-rule",
                    "narrative.source-missing",
                    f"The xhtml node at '{text[:60]}' does not have a class attribute to indicate its source "
                    f"(boilerplate, generated, or original) and this is required by the profile {profile}",
                    where,
                    element_id=rule.id,
                )

    @staticmethod
    def _languages(
        walker: Walker,
        root: ET.Element,
        control: str,
        frame: Frame,
        where: Loc,
        profile: str,
        rule: ElementRule,
    ) -> None:
        sections = language_sections(root)
        shown = ", ".join(sorted(sections))
        message: str | None = None
        if control == "_yes" and not sections:
            message = (
                "The xhtml has no language sections, but language sections are required in this context "
                f"by the profile {profile}"
            )
        elif control == "_no" and sections:
            message = (
                f"The xhtml has some language sections ({shown}), but language sections are prohibited "
                f"in this context by the profile {profile}"
            )
        elif control == "_resource":
            language = frame.resource.get("language")
            if isinstance(language, str) and language not in sections:
                message = (
                    f"The profile {profile} requires a section in the narrative for the resource language "
                    f"({language}), but it was not found (found {shown})"
                )
        if message is not None:
            walker.report.error(
                "business-rule", "narrative.language-sections", message, where, element_id=rule.id
            )
