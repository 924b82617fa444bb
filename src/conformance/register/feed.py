"""The register's Atom feed (RFC 4287): one entry per accepted statement, newest first.

Entry ids are derived from the statement file's sha256, so a statement keeps its id across rebuilds and
a changed statement is a new entry. Links are relative to the feed unless a base URL is given.
"""

from __future__ import annotations

import uuid
from xml.etree import ElementTree as ET

from conformance.register.model import Entry, Register
from conformance.statements.view import VERDICT_LABELS

ATOM = "http://www.w3.org/2005/Atom"
FEED_FILE = "feed.xml"


def _uuid_urn(text: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, text).urn


def _link(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/{path}" if base_url else path


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def atom_feed(register: Register, base_url: str = "") -> bytes:
    """The feed as UTF-8 XML."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", _uuid_urn(f"fhir-conformance:register:{base_url or register.title}"))
    _add(feed, "title", register.title)
    _add(feed, "subtitle", "Conformance statements accepted by the register, newest first")
    newest = register.statements[0].generated_at if register.statements else register.generated_at
    _add(feed, "updated", newest)
    _add(feed, "link", rel="self", href=_link(base_url, FEED_FILE))
    _add(feed, "link", rel="alternate", type="text/html", href=_link(base_url, "index.html"))
    _add(feed, "generator", register.generator)
    for entry in register.statements:
        _entry(feed, entry, base_url)
    ET.indent(feed)
    text: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return text + b"\n"


def _entry(feed: ET.Element, entry: Entry, base_url: str) -> None:
    element = _add(feed, "entry")
    verdict = VERDICT_LABELS.get(entry.verdict, entry.verdict)
    _add(element, "id", _uuid_urn(f"fhir-conformance:statement:{entry.sha256}"))
    _add(
        element,
        "title",
        f"{entry.product} {entry.product_version} by {entry.supplier}: {verdict} ({entry.standard.title})",
    )
    _add(element, "updated", entry.generated_at)
    _add(element, "published", entry.generated_at)
    author = _add(element, "author")
    _add(author, "name", entry.supplier)
    _add(element, "link", rel="alternate", type="text/html", href=_link(base_url, entry.page))
    _add(
        element, "link", rel="enclosure", type="application/json", href=_link(base_url, entry.statement_file)
    )
    _add(element, "category", term=entry.standard.id, label=entry.standard.title)
    _add(
        element,
        "summary",
        f"{verdict}: {entry.reason}. Signed by {entry.signer.name}; verified by the register.",
    )
