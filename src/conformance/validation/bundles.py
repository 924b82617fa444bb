"""Bundle rules no invariant expresses: fullUrl form and consistency, first entries, document reachability."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.fhirversion import FhirVersion
from conformance.validation.canonical_resources import CANONICAL_RESOURCE_TYPES
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


def bundle_index(walker: Walker, bundle: Mapping[str, Any]) -> BundleIndex:
    engine = walker.engine
    context = engine.context
    # The engine's, not the walker's: an index kept for a walk (references) must not keep the walker alive.
    return BundleIndex(
        bundle,
        engine.is_resource_type,
        fhir_version=context.fhir_version,
        known_elsewhere=lambda url: context.resolve(url) is not None,
    )


def entry_source(entry: Mapping[str, Any]) -> Source:
    """The fullUrl, type and id of a Bundle entry: where its references are relative to."""
    resource = entry.get("resource")
    resource = resource if isinstance(resource, Mapping) else {}
    full_url, resource_type, resource_id = (
        entry.get("fullUrl"),
        resource.get("resourceType"),
        resource.get("id"),
    )
    return Source(
        full_url if isinstance(full_url, str) else None,
        resource_type if isinstance(resource_type, str) else None,
        resource_id if isinstance(resource_id, str) else None,
    )


def _links_of(entry: Any, index: BundleIndex, targets: Mapping[int, int]) -> set[int]:
    """The entries this entry's references resolve to, by the Bundle rules."""
    resource = entry.get("resource") if isinstance(entry, Mapping) else None
    if not isinstance(resource, Mapping):
        return set()
    source = entry_source(entry)
    found: set[int] = set()
    for reference in _reference_strings(resource):
        if reference.startswith("#"):
            continue
        target = index.resolve(reference, source, "").target
        if target is not None and id(target) in targets:
            found.add(targets[id(target)])
    return found


def _references_with_locs(node: Any, loc: Loc) -> list[tuple[str, Loc]]:
    """Every `reference` string under a resource, with where it is (contained resources included)."""
    found: list[tuple[str, Loc]] = []
    pending: list[tuple[Any, Loc]] = [(node, loc)]
    while pending:
        current, where = pending.pop()
        if not isinstance(current, Mapping):
            continue
        for key, value in current.items():
            if key == "reference" and isinstance(value, str) and not value.startswith("#"):
                found.append((value, where.child(key)))
            elif isinstance(value, list):
                pending.extend((item, where.child(key, i)) for i, item in enumerate(value))
            elif isinstance(value, Mapping):
                pending.append((value, where.child(key)))
    return found


def _reachable_from(start: int, links: list[set[int]]) -> set[int]:
    """Forward through references, and backward from anything that references a reachable entry.

    Both directions together make a reference an undirected edge, so this is the connected part of the
    graph that holds `start`: one breadth-first pass over the edges, linear in the entries and references.
    """
    neighbours: list[list[int]] = [[] for _ in links]
    for index, targets in enumerate(links):
        for target in targets:
            neighbours[index].append(target)
            neighbours[target].append(index)
    reachable = {start}
    pending = [start]
    while pending:
        for neighbour in neighbours[pending.pop()]:
            if neighbour not in reachable:
                reachable.add(neighbour)
                pending.append(neighbour)
    return reachable


def _repeats_a_full_url(entries: list[Any]) -> bool:
    """Whether two entries with a resource have the same fullUrl (`BundleIndex.has_duplicate_urls`)."""
    seen: set[str] = set()
    for entry in entries:
        url = entry.get("fullUrl") if isinstance(entry, Mapping) else None
        if isinstance(url, str) and isinstance(entry.get("resource"), Mapping):
            if url in seen:
                return True
            seen.add(url)
    return False


class BundleChecks:
    def check(self, walker: Walker, resource: Mapping[str, Any], loc: Loc, frame: Frame) -> None:
        if resource.get("resourceType") != "Bundle":
            return
        entries = resource.get("entry")
        if not isinstance(entries, list):
            return
        self._links(walker, resource, loc)
        # a wrongly shaped type (a list, an object) has its structure error already; no type rule applies
        bundle_type = resource.get("type") if isinstance(resource.get("type"), str) else None
        for position, entry in enumerate(entries):
            if isinstance(entry, Mapping):
                self._entry(walker, entry, bundle_type, loc.child("entry", position))
        self._first_entry(walker, entries, bundle_type, loc)
        # The index of every entry is built only when a rule needs it: most Bundles repeat no fullUrl
        # and are neither documents nor messages.
        repeated_urls = _repeats_a_full_url(entries)
        if not repeated_urls and bundle_type not in FIRST_ENTRY:
            return
        index = bundle_index(walker, resource)
        if repeated_urls:
            self._ambiguous_references(walker, index, entries, loc)
        if bundle_type not in FIRST_ENTRY:
            return
        self._required_references(walker, index, entries, bundle_type, loc)
        if bundle_type == "document":
            self._reachability(walker, index, entries, loc)
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
    def _ambiguous_references(walker: Walker, index: BundleIndex, entries: list[Any], loc: Loc) -> None:
        """A reference naming a fullUrl (and version) that several entries have cannot say which it means."""
        for position, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(resource, Mapping):
                continue
            source = entry_source(entry)
            resource_loc = loc.child("entry", position).child("resource")
            for literal, reference_loc in _references_with_locs(resource, resource_loc):
                if index.matches_by_base(literal, source.full_url) > 1:
                    walker.report.error(
                        "invalid",
                        "reference.bundle-multiple-matches",
                        f"Multiple matches in bundle for reference {literal}",
                        reference_loc,
                    )

    @staticmethod
    def _required_references(
        walker: Walker, index: BundleIndex, entries: list[Any], bundle_type: str, loc: Loc
    ) -> None:
        """A document's Composition and a message's MessageHeader must find what they name in the Bundle."""
        first = entries[0] if entries and isinstance(entries[0], Mapping) else {}
        resource = first.get("resource")
        if not isinstance(resource, Mapping) or resource.get("resourceType") != FIRST_ENTRY[bundle_type]:
            return
        resource_loc = loc.child("entry", 0).child("resource")
        if bundle_type == "document":
            required = document_references(resource, resource_loc)
        else:
            required = [
                (r, rl, "MessageHeader Data")
                for r, rl in _references_at(resource, "focus", True, resource_loc)
            ]
        source = entry_source(first)
        for reference, reference_loc, name in required:
            literal = reference.get("reference")
            if not isinstance(literal, str) or literal.startswith("#"):
                continue
            resolution = index.resolve(literal, source, name)
            if resolution.problem is not None:
                walker.report.error(
                    "not-found", resolution.message_id, resolution.problem, reference_loc.child("reference")
                )

    @staticmethod
    def _reachability(walker: Walker, index: BundleIndex, entries: list[Any], loc: Loc) -> None:
        """Every entry of a document must be reachable from its Composition through references."""
        urls = [e.get("fullUrl") if isinstance(e, Mapping) else None for e in entries]
        targets = {
            id(resource): i
            for i, e in enumerate(entries)
            if isinstance(e, Mapping)
            for resource in [e.get("resource")]
            if isinstance(resource, Mapping)
        }
        links = [_links_of(entry, index, targets) for entry in entries]
        reachable = _reachable_from(0, links)
        for position, url in enumerate(urls):
            if position in reachable or not isinstance(url, str):
                continue
            walker.report.error(
                "invalid",
                "bundle.document-unreachable",
                f"Entry '{url}' isn't reachable by traversing links (forward or backward) "
                "from the Composition",
                loc.child("entry", position),
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


# ---- resolving references between the entries of a Bundle, as the HL7 validator does for documents,
# messages and reachability (its resolveInBundle): by fullUrl; a relative reference against the server base
# of the fullUrl of the resource it is in, which must end with that resource's own type and id.

_RESTFUL_URL = re.compile(
    r"(?:https?://(?:[A-Za-z0-9\\.:%$-]*/)*)?([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:.*")


@dataclass(frozen=True)
class Resolution:
    target: Mapping[str, Any] | None
    problem: str | None = None  # why a reference that had to resolve did not (None: resolved, or not judged)
    message_id: str = "reference.bundle-not-found"


@dataclass(frozen=True)
class Source:
    """Where a reference sits: the fullUrl of its entry and that entry's resource type and id."""

    full_url: str | None
    resource_type: str | None
    resource_id: str | None


class BundleIndex:
    """The entries of one Bundle by fullUrl (and fullUrl/_history/versionId) and by type/id."""

    def __init__(
        self,
        bundle: Mapping[str, Any],
        is_resource_type: Callable[[str], bool],
        *,
        fhir_version: FhirVersion = FhirVersion.R4,
        known_elsewhere: Callable[[str], bool] = lambda _url: False,
    ) -> None:
        self.bundle = bundle
        self.is_resource_type = is_resource_type
        # A RESTful URL naming a canonical resource is a definition the Bundle need not carry.
        self.canonical_types = CANONICAL_RESOURCE_TYPES[fhir_version]
        self.known_elsewhere = known_elsewhere
        type_and_id_resolves = fhir_version == FhirVersion.STU3
        # Before R4 the HL7 validator takes the one entry with the same type and id when the fullUrl rules
        # find nothing; from R4 on that is an error.
        self.type_and_id_resolves = type_and_id_resolves
        self.by_url: dict[str, list[Mapping[str, Any]]] = {}
        self.by_type_id: dict[str, list[tuple[str | None, Mapping[str, Any]]]] = {}
        entries = bundle.get("entry")
        for entry in entries if isinstance(entries, list) else ():
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(resource, Mapping):
                self._add(entry.get("fullUrl"), resource)

    def _add(self, full_url: Any, resource: Mapping[str, Any]) -> None:
        url = full_url if isinstance(full_url, str) else None
        meta = resource.get("meta")
        version = meta.get("versionId") if isinstance(meta, Mapping) else None
        version = version if isinstance(version, str) else None
        if url is not None:
            self.by_url.setdefault(url, []).append(resource)
            if version is not None:
                self.by_url.setdefault(f"{url}/_history/{version}", []).append(resource)
        resource_type, resource_id = resource.get("resourceType"), resource.get("id")
        if isinstance(resource_type, str) and isinstance(resource_id, str):
            self.by_type_id.setdefault(f"{resource_type}/{resource_id}", []).append((url, resource))

    def has_duplicate_urls(self) -> bool:
        return any(len(found) > 1 for found in self.by_url.values())

    def matches_by_base(self, reference: str, full_url: str | None) -> int:
        """How many entries a reference names by the HL7 validator's first resolution (its getFromBundle):
        an absolute reference is a fullUrl; a relative one is appended to the base of the fullUrl of the
        entry it is in (for a URN, `urn:uuid:` and the id); `/_history/v` must be the entry's versionId."""
        if _ABSOLUTE.fullmatch(reference):
            return 0 if "/_history/" in reference else len(self.by_url.get(reference, ()))
        slashes = reference.count("/")
        if full_url is None or slashes not in (1, 3):
            return 0
        if full_url.startswith("urn"):
            base = full_url.rsplit(":", 1)[0] + ":"
        else:
            base = "/".join(full_url.split("/")[:-2]) + "/"
        target, _, version = reference.partition("/_history/")
        if version:
            return len(self.by_url.get(f"{base}{target}/_history/{version}", ()))
        if base.startswith("urn"):
            return len(self.by_url.get(base + target.split("/")[-1], ()))
        return len(self.by_url.get(base + target, ()))

    def resolve(self, reference: str, source: Source, name: str) -> Resolution:
        """A reference that must resolve inside the Bundle (`name` says which: "Composition.subject")."""
        reference = reference.split("#", 1)[0]
        if _ABSOLUTE.fullmatch(reference):
            return self._by_url(reference, reference, name, absolute=True)
        expected = self._expected_url(reference, source)
        if expected is not None and expected in self.by_url:
            return self._by_url(expected, reference, name, absolute=False)
        return self._same_type_and_id(reference, expected, source, name)

    def _by_url(self, url: str, reference: str, name: str, *, absolute: bool) -> Resolution:
        found = self.by_url.get(url, [])
        if len(found) == 1:
            return Resolution(found[0])
        if found:
            return Resolution(
                None,
                f"Found {len(found)} matches for '{reference}' in the bundle ({name})",
                "reference.bundle-multiple-matches",
            )
        if absolute and self._definition_elsewhere(url):
            return Resolution(None)
        return Resolution(None, f"Can't find '{reference}' in the bundle ({name})")

    def _definition_elsewhere(self, url: str) -> bool:
        """A known definition, or a RESTful URL naming a canonical resource: not what a Bundle must carry."""
        match = _RESTFUL_URL.fullmatch(url)
        return self.known_elsewhere(url) or (match is not None and match.group(1) in self.canonical_types)

    @staticmethod
    def _expected_url(reference: str, source: Source) -> str | None:
        """The fullUrl a relative reference names: the source's server base, when its fullUrl is RESTful and
        ends with the source's own type and id (otherwise the base cannot be told)."""
        full_url, own = source.full_url, f"{source.resource_type}/{source.resource_id}"
        if full_url is None or source.resource_id is None or not _RESTFUL_URL.fullmatch(full_url):
            return None
        return full_url[: -len(own)] + reference if full_url.endswith(own) else None

    def _same_type_and_id(
        self, reference: str, expected: str | None, source: Source, name: str
    ) -> Resolution:
        parts = reference.split("/")
        if len(parts) < 2 or not self.is_resource_type(parts[0]):
            return Resolution(None)
        candidates = self.by_type_id.get(f"{parts[0]}/{parts[1]}", [])
        if not candidates:
            return Resolution(None, f"Can't find '{reference}' in the bundle ({name})")
        if self.type_and_id_resolves and len(candidates) == 1:
            return Resolution(candidates[0][1])
        urls = ",".join(sorted({url or "<missing>" for url, _ in candidates}))
        one = len(candidates) == 1
        note = (
            f"Can't find '{reference}' in the bundle ({name}). Note that "
            + ("there is a resource" if one else f"there are {len(candidates)} resources")
            + " in the bundle with the same type and id, but "
            + ("it does not" if one else "they do not")
            + " match because of the fullUrl based rules around matching relative references"
        )
        if expected is None:
            which = "it doesn't match" if one else "none of them match"
            return Resolution(
                None, f"{note}. Found '{urls}', but {which} because of the source fullUrl '{source.full_url}'"
            )
        found = f"found '{urls}'" if one else f"found these: {urls}"
        return Resolution(None, f"{note} (must be '{expected}', but {found})")


# What a document's Composition and a message's MessageHeader must find inside their Bundle (the HL7
# validator's document and message rules): element, whether it repeats, the name its messages give it.
_COMPOSITION_REFERENCES = (
    ("subject", False, "Composition.subject"),
    ("author", True, "Composition.author"),
    ("encounter", False, "Composition.encounter"),
    ("custodian", False, "Composition.custodian"),
)
_COMPOSITION_PARTS = (
    ("attester", "party", False, "Composition.attester.party"),
    ("event", "detail", True, "Composition.event.detail"),
)
_SECTION_REFERENCES = (("author", True, "Section.author"), ("focus", False, "Section.focus"))


def _references_at(
    owner: Mapping[str, Any], element: str, repeats: bool, loc: Loc
) -> list[tuple[Mapping[str, Any], Loc]]:
    value = owner.get(element)
    if isinstance(value, list):
        found = [(item, loc.child(element, i)) for i, item in enumerate(value) if isinstance(item, Mapping)]
        return found if repeats else found[:1]
    return [(value, loc.child(element))] if isinstance(value, Mapping) else []


def document_references(composition: Mapping[str, Any], loc: Loc) -> list[tuple[Mapping[str, Any], Loc, str]]:
    """The references of a document's Composition that must resolve inside the Bundle, with their names."""
    found = [
        (ref, ref_loc, name)
        for element, repeats, name in _COMPOSITION_REFERENCES
        for ref, ref_loc in _references_at(composition, element, repeats, loc)
    ]
    for owner, element, repeats, name in _COMPOSITION_PARTS:
        for holder, holder_loc in _references_at(composition, owner, True, loc):
            found += [(r, rl, name) for r, rl in _references_at(holder, element, repeats, holder_loc)]
    found += _section_references(composition, loc)
    return found


def _section_references(owner: Mapping[str, Any], loc: Loc) -> list[tuple[Mapping[str, Any], Loc, str]]:
    found: list[tuple[Mapping[str, Any], Loc, str]] = []
    for section, section_loc in _references_at(owner, "section", True, loc):
        for element, repeats, name in _SECTION_REFERENCES:
            found += [(r, rl, name) for r, rl in _references_at(section, element, repeats, section_loc)]
        found += [(r, rl, "Section Entry") for r, rl in _references_at(section, "entry", True, section_loc)]
        found += _section_references(section, section_loc)
    return found
