"""Bundle rules no invariant expresses: fullUrl form and consistency, first entries, document reachability."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conformance.validation.versionrules import rules_for

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Frame, Walker

NO_FULLURL_NEEDED = frozenset({"transaction", "batch", "transaction-response", "batch-response", "history"})
# Navigation links name one page each; other relations (stylesheet...) may repeat.
SINGLE_LINKS = frozenset({"self", "first", "previous", "prev", "next", "last"})
FIRST_ENTRY = {"document": "Composition", "message": "MessageHeader"}
_RESTFUL = re.compile(r"(https?://.+/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/.*)?")


def _reference_strings(node: Any) -> list[str]:
    found: list[str] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if key == "reference" and isinstance(value, str):
                    found.append(value)
                else:
                    pending.append(value)
        elif isinstance(current, list):
            pending.extend(current)
    return found


def _absolute(reference: str, full_url: Any) -> str:
    reference = reference.split("/_history/", maxsplit=1)[0]
    if ":" in reference or not isinstance(full_url, str):
        return reference
    match = _RESTFUL.fullmatch(full_url)
    return match.group(1) + reference if match else reference


def _links_of(entry: Any, urls: list[Any], index: int) -> set[int]:
    resource = entry.get("resource") if isinstance(entry, Mapping) else None
    if not isinstance(resource, Mapping):
        return set()
    targets = {_absolute(ref, urls[index]) for ref in _reference_strings(resource)}
    return {i for i, url in enumerate(urls) if isinstance(url, str) and url in targets}


def _reachable_from(start: int, links: list[set[int]]) -> set[int]:
    """Forward through references, and backward from anything that references a reachable entry."""
    reachable = {start}
    changed = True
    while changed:
        changed = False
        for index, targets in enumerate(links):
            if index in reachable:
                new = targets - reachable
            elif targets & reachable:
                new = {index}
            else:
                continue
            if new:
                reachable |= new
                changed = True
    return reachable


class BundleChecks:
    def check(self, walker: Walker, resource: Mapping[str, Any], loc: Loc, frame: Frame) -> None:
        if resource.get("resourceType") != "Bundle":
            return
        entries = resource.get("entry")
        if not isinstance(entries, list):
            return
        self._links(walker, resource, loc)
        bundle_type = resource.get("type")
        for index, entry in enumerate(entries):
            if isinstance(entry, Mapping):
                self._entry(walker, entry, bundle_type, loc.child("entry", index))
        self._first_entry(walker, entries, bundle_type, loc)
        if bundle_type == "document":
            self._reachability(walker, entries, loc)
            self._document_date(walker, resource, loc)

    @staticmethod
    def _document_date(walker: Walker, bundle: Mapping[str, Any], loc: Loc) -> None:
        where = rules_for(walker.engine.context.fhir_version).document_date
        if where is None:
            return
        value: Any = bundle
        for step in where:
            value = value.get(step) if isinstance(value, Mapping) else None
        if value is None:
            walker.report.error(
                "invariant",
                "bundle.document-date",
                f"A document must have a date (Bundle.{'.'.join(where)})",
                loc,
            )

    @staticmethod
    def _reachability(walker: Walker, entries: list[Any], loc: Loc) -> None:
        """Every entry of a document must be reachable from its Composition through references."""
        urls = [e.get("fullUrl") if isinstance(e, Mapping) else None for e in entries]
        links = [_links_of(entry, urls, index) for index, entry in enumerate(entries)]
        reachable = _reachable_from(0, links)
        for index, url in enumerate(urls):
            if index in reachable or not isinstance(url, str):
                continue
            walker.report.error(
                "invalid",
                "bundle.document-unreachable",
                f"Entry '{url}' isn't reachable by traversing links (forward or backward) "
                "from the Composition",
                loc.child("entry", index),
            )

    @staticmethod
    def _links(walker: Walker, resource: Mapping[str, Any], loc: Loc) -> None:
        links = resource.get("link")
        if not isinstance(links, list):
            return
        seen: set[str] = set()
        for index, link in enumerate(links):
            relation = link.get("relation") if isinstance(link, Mapping) else None
            if not isinstance(relation, str) or relation not in SINGLE_LINKS:
                continue
            if relation in seen:
                walker.report.error(
                    "invalid",
                    "bundle.link-relation-repeated",
                    f"The link relationship type '{relation}' can only occur once",
                    loc.child("link", index),
                )
            seen.add(relation)

    def _entry(self, walker: Walker, entry: Mapping[str, Any], bundle_type: Any, loc: Loc) -> None:
        resource = entry.get("resource")
        full_url = entry.get("fullUrl")
        if not isinstance(resource, Mapping):
            return
        if full_url is None:
            if bundle_type not in NO_FULLURL_NEEDED:
                walker.report.error(
                    "invalid",
                    "bundle.fullurl-missing",
                    "Except for transactions and batches, each entry in a Bundle must have a fullUrl "
                    "which is the identity of the resource in the entry",
                    loc,
                )
            return
        if not isinstance(full_url, str):
            return
        if ":" not in full_url:
            walker.report.error(
                "invalid",
                "bundle.fullurl-relative",
                f"The fullUrl must be an absolute URL (not '{full_url}')",
                loc.child("fullUrl"),
            )
            return
        self._restful_identity(walker, full_url, resource, loc)

    @staticmethod
    def _restful_identity(walker: Walker, full_url: str, resource: Mapping[str, Any], loc: Loc) -> None:
        match = _RESTFUL.fullmatch(full_url)
        if match is None:
            return
        resource_type, resource_id = resource.get("resourceType"), resource.get("id")
        if match.group(2) == resource_type and match.group(3) == resource_id:
            return
        named_type = walker.definitions.type_plan(match.group(2))
        if named_type is None or named_type.kind != "resource":
            return  # the URL does not name a resource type, so it is not a RESTful identity
        if not isinstance(resource_id, str):
            walker.report.error(
                "invalid",
                "bundle.fullurl-no-id",
                f"The fullUrl '{full_url}' looks like a RESTful server URL, but the resource has no id",
                loc.child("fullUrl"),
            )
            return
        walker.report.error(
            "invalid",
            "bundle.fullurl-mismatch",
            f"The fullUrl '{full_url}' looks like a RESTful server URL, so it must end with the correct type "
            f"and id (/{resource_type}/{resource_id})",
            loc.child("fullUrl"),
        )

    @staticmethod
    def _first_entry(walker: Walker, entries: list[Any], bundle_type: Any, loc: Loc) -> None:
        wanted = FIRST_ENTRY.get(bundle_type) if isinstance(bundle_type, str) else None
        if wanted is None or not entries:
            return
        first = entries[0]
        resource = first.get("resource") if isinstance(first, Mapping) else None
        found = resource.get("resourceType") if isinstance(resource, Mapping) else None
        if found != wanted:
            walker.report.error(
                "invalid",
                "bundle.first-entry",
                f"The first entry in a {bundle_type} must be a {wanted}, not {found or 'nothing'}",
                loc.child("entry", 0),
            )


# ---- resolving references inside a Bundle (what the entries themselves do not say)

# Where a document or message must carry what it references: the HL7 validator requires these references of
# the Composition (documents) and the MessageHeader (messages) to resolve inside the Bundle; other
# references in the entries need not (FHIR documents page, "Document content"; messaging page).
MUST_RESOLVE_IN_DOCUMENT = frozenset(
    {
        "Composition.subject",
        "Composition.author",
        "Composition.encounter",
        "Composition.custodian",
        "Composition.attester.party",
        "Composition.event.detail",
        "Composition.section.author",
        "Composition.section.focus",
        "Composition.section.entry",
    }
)
MUST_RESOLVE_IN_MESSAGE = frozenset({"MessageHeader.focus"})
_SLICE_NAMES = re.compile(r":[^.]+")
_NESTED_SECTIONS = re.compile(r"(?:\.section)+")


def must_resolve_in_bundle(element_id: str, bundle_type: str) -> bool:
    """Must a reference at this element (its id, slice names allowed) resolve inside a Bundle of this type?"""
    path = _NESTED_SECTIONS.sub(".section", _SLICE_NAMES.sub("", element_id))
    if bundle_type == "document":
        return path in MUST_RESOLVE_IN_DOCUMENT
    if bundle_type == "message":
        return path in MUST_RESOLVE_IN_MESSAGE
    return False


def urn_base_match(reference: str, entry_full_url: str | None, entries: Mapping[str, Any]) -> Any:
    """The entry a relative reference `Type/id` names when its own entry's fullUrl is a URN.

    A URN has no RESTful base, so the base of `urn:uuid:<x>` is `urn:uuid:` and `Type/id` names the entry
    whose fullUrl is `urn:uuid:<id>`, whatever that entry's type (the caller then compares the type, as the
    HL7 validator does: "Matching reference for reference ... has resourceType ...").
    """
    if entry_full_url is None or not entry_full_url.startswith("urn:"):
        return None
    parts = reference.split("/_history/", maxsplit=1)[0].split("/")
    if len(parts) != 2:
        return None
    return entries.get(entry_full_url.rsplit(":", 1)[0] + ":" + parts[1])
