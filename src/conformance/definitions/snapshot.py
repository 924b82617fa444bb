"""Snapshot generation: a StructureDefinition's full element list from its differential and its base.

    snapshots = Snapshots(context, FhirVersion.R4)          # any DefinitionSource
    result = snapshots.snapshot("https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient")
    result.structure_definition["snapshot"]["element"]      # the generated elements
    result.issues                                           # problems in the profile itself

`Snapshots` returns a published snapshot as it is and generates the others,
recursively through the base chain and the type profiles the differential
needs, once each (memo per canonical URL and version), optionally backed by an
on-disk cache. `generate_snapshot` always generates from the differential.
How generation works is in snapshot_generate; docs/snapshots.md describes the
behaviour and every message id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from conformance.definitions.elements import constraint_keys, elements_of, single_type_profile, type_codes
from conformance.definitions.snapshot_generate import generate
from conformance.definitions.snapshot_store import SnapshotStore, StoredSnapshot, content_hash
from conformance.definitions.snapshot_tree import Node, build_tree
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue, Severity

# Bump when generation changes what it produces: on-disk entries of other versions are ignored.
GENERATOR_VERSION = "1"

_MAX_BASE_DEPTH = 32


class DefinitionSource(Protocol):
    """Where StructureDefinitions come from (`conformance.context.Context` is one)."""

    def structure_definition(self, url_or_type: str) -> Mapping[str, Any] | None:
        """A definition by canonical URL (optionally `url|version`) or by core type name (`Patient`)."""


@dataclass(frozen=True)
class SnapshotResult:
    """A StructureDefinition with its snapshot, and the problems found in the profile on the way.

    The dict is shared with the cache that produced it: copy it before changing it.
    """

    structure_definition: dict[str, Any]
    issues: tuple[Issue, ...] = ()

    @property
    def elements(self) -> list[dict[str, Any]]:
        return list(self.structure_definition.get("snapshot", {}).get("element", []))

    @property
    def ok(self) -> bool:
        return "snapshot" in self.structure_definition and not any(i.severity.is_error for i in self.issues)


def generate_snapshot(
    sd: Mapping[str, Any], source: DefinitionSource, fhir_version: FhirVersion
) -> SnapshotResult:
    """Generate `sd`'s snapshot from its differential (a published snapshot in `sd` is ignored)."""
    return Snapshots(source, fhir_version).generate(sd)


def canonical_key(sd: Mapping[str, Any]) -> str:
    url = str(sd.get("url", ""))
    version = sd.get("version")
    return f"{url}|{version}" if isinstance(version, str) and version else url


class Snapshots:
    """Snapshots of the definitions of one source, each worked out once.

    Not thread-safe: give each thread its own, or build them all up front.
    """

    def __init__(
        self, source: DefinitionSource, fhir_version: FhirVersion, *, cache_dir: Path | None = None
    ) -> None:
        self.source = source
        self.fhir_version = fhir_version
        self._store = SnapshotStore(cache_dir) if cache_dir is not None else None
        self._published: dict[str, SnapshotResult] = {}
        self._generated: dict[str, tuple[str, SnapshotResult]] = {}
        self._trees: dict[str, Node | None] = {}
        self._active: list[str] = []
        self._why: dict[str, tuple[str, str]] = {}
        self._dependencies: dict[str, dict[str, str]] = {}
        self._frames: list[dict[str, str]] = []
        self._hashes: dict[int, tuple[Mapping[str, Any], str]] = {}

    # --- public ----------------------------------------------------------------------------------

    def snapshot(self, url: str) -> SnapshotResult | None:
        """The definition with its snapshot: the published one when it has one, else a generated one.

        None when the source has no such definition.
        """
        sd = self._definition(url)
        if sd is None:
            return None
        if not elements_of(sd, "snapshot"):
            return self.generate(sd)
        key = canonical_key(sd)
        if key not in self._published:
            self._published[key] = SnapshotResult(dict(sd))
        return self._published[key]

    def generate(self, sd: Mapping[str, Any]) -> SnapshotResult:
        """Generate `sd`'s snapshot from its differential, whether or not it has a published one."""
        key = canonical_key(sd)
        if key in self._active:
            cycle = " -> ".join([*self._active[self._active.index(key) :], key])
            return SnapshotResult(dict(sd), (self._cycle_issue(sd, cycle),))
        digest = self._hash(sd)
        known = self._generated.get(key)
        if known is not None and known[0] == digest:
            return known[1]
        result = self._generate_once(sd, key)
        mismatch = self._version_mismatch(sd)
        if mismatch is not None:
            result = SnapshotResult(result.structure_definition, (mismatch, *result.issues))
        self._generated[key] = (digest, result)
        return result

    # --- Resolver (used by generation) -------------------------------------------------------------

    def tree(self, url_or_type: str) -> Node | None:
        if url_or_type not in self._trees:
            result = self.snapshot(url_or_type)
            tree = _tree_of(result) if result is not None else None
            self._trees[url_or_type] = tree
            if tree is None:
                self._why[url_or_type] = _why_none(result, url_or_type)
        self._note_use(url_or_type)
        return self._trees[url_or_type]

    def derives(self, code: str, base_code: str) -> bool:
        if code == base_code:
            return True
        sd = self._definition(code)
        for _ in range(_MAX_BASE_DEPTH):
            if sd is None:
                return False
            if sd.get("type") == base_code:
                return True
            base = sd.get("baseDefinition")
            sd = self._definition(base) if isinstance(base, str) else None
        return False

    # --- TypeKnowledge (used to compare snapshots) -------------------------------------------------

    def unfolded(self, element: Mapping[str, Any]) -> Sequence[Mapping[str, Any]] | None:
        """The snapshot elements of the definition that gives `element` its children (its type profile
        or its datatype), or None when that is not one definition."""
        codes = type_codes(element)
        if len(codes) != 1 or isinstance(element.get("contentReference"), str):
            return None
        profile = single_type_profile(element)
        for candidate in (profile, codes[0]):
            result = self.snapshot(candidate) if candidate else None
            if result is not None and result.elements and result.structure_definition.get("type") == codes[0]:
                return result.elements
        return None

    def root_constraint_keys(self, type_code: str) -> frozenset[str]:
        """Constraint keys on the root of a type (or profile) and of every definition it derives from."""
        keys: set[str] = set()
        name: str | None = type_code
        for _ in range(_MAX_BASE_DEPTH):
            sd = self._definition(name) if name else None
            if sd is None:
                break
            root = elements_of(sd, "snapshot")[:1] or elements_of(sd, "differential")[:1]
            keys.update(constraint_keys(root[0]) if root else ())
            base = sd.get("baseDefinition")
            name = base if isinstance(base, str) else None
        return frozenset(keys)

    def why_missing(self, url_or_type: str) -> tuple[str, str] | None:
        """(message id, message) saying why `tree(url_or_type)` is None."""
        return self._why.get(url_or_type)

    # --- internals ---------------------------------------------------------------------------------

    def _generate_once(self, sd: Mapping[str, Any], key: str) -> SnapshotResult:
        store_key = self._store_key(sd)
        stored = self._stored(store_key)
        if stored is not None:
            self._dependencies[key] = dict(stored.dependencies)
            return SnapshotResult(stored.structure_definition, stored.issues)
        self._active.append(key)
        self._frames.append({})
        try:
            produced, issues = generate(sd, self)
        finally:
            self._active.pop()
            consulted = self._frames.pop()
        consulted.pop(key, None)
        self._dependencies[key] = consulted
        for frame in self._frames:
            frame.update(consulted)
        result = SnapshotResult(produced, tuple(issues))
        if self._store is not None and store_key is not None and "snapshot" in produced:
            self._store.save(
                store_key, StoredSnapshot(produced, result.issues, tuple(sorted(consulted.items())))
            )
        return result

    def _store_key(self, sd: Mapping[str, Any]) -> str | None:
        if self._store is None:
            return None
        return self._store.key(sd, self.fhir_version.value, GENERATOR_VERSION)

    def _stored(self, store_key: str | None) -> StoredSnapshot | None:
        if self._store is None or store_key is None:
            return None
        stored = self._store.load(store_key)
        if stored is None:
            return None
        for url, digest in stored.dependencies:
            current = self._definition(url)
            if current is None or self._hash(current) != digest:
                return None
        for frame in self._frames:
            frame.update(stored.dependencies)
        return stored

    def _definition(self, url_or_type: str) -> Mapping[str, Any] | None:
        sd = self.source.structure_definition(url_or_type)
        if sd is not None and self._frames:
            digest = self._hash(sd)
            for frame in self._frames:
                frame[url_or_type] = digest
        return sd

    def _note_use(self, url_or_type: str) -> None:
        """A memoised tree still counts as consulted by the generation under way (for the disk cache)."""
        if not self._frames:
            return
        sd = self.source.structure_definition(url_or_type)
        if sd is None:
            return
        used = {url_or_type: self._hash(sd), **self._dependencies.get(canonical_key(sd), {})}
        for frame in self._frames:
            frame.update(used)

    def _hash(self, sd: Mapping[str, Any]) -> str:
        cached = self._hashes.get(id(sd))
        if cached is not None and cached[0] is sd:
            return cached[1]
        digest = content_hash(sd)
        self._hashes[id(sd)] = (sd, digest)
        return digest

    def _version_mismatch(self, sd: Mapping[str, Any]) -> Issue | None:
        """A definition declared for another FHIR version is generated all the same (as the HL7 tools do)."""
        declared = sd.get("fhirVersion")
        if not isinstance(declared, str):
            return None
        version = FhirVersion.of_release(declared)
        if version is None or version is self.fhir_version:
            return None
        name = sd.get("url", "the StructureDefinition")
        return Issue(
            severity=Severity.WARNING,
            code="business-rule",
            message_id="snapshot.other-fhir-version",
            message=f"{name} is FHIR {declared}, not {self.fhir_version.label}: generated as it is",
            profile=str(sd.get("url", "")) or None,
        )

    def _cycle_issue(self, sd: Mapping[str, Any], cycle: str) -> Issue:
        return Issue(
            severity=Severity.FATAL,
            code="structure",
            message_id="snapshot.circular-base",
            message=f"{sd.get('url', '')}: the base chain is circular: {cycle}",
            profile=str(sd.get("url", "")) or None,
        )


SnapshotCache = Snapshots


def _why_none(result: SnapshotResult | None, requested: str) -> tuple[str, str]:
    if result is None:
        return "snapshot.no-base", f"{requested} cannot be found"
    for issue in result.issues:
        if issue.message_id == "snapshot.circular-base":
            return issue.message_id, issue.message
    return "snapshot.no-base", f"{requested} has no snapshot and none could be generated"


def _tree_of(result: SnapshotResult) -> Node | None:
    tree = build_tree(elements_of(result.structure_definition, "snapshot"))
    if tree is not None:
        for node in tree.walk():
            _derive_base(node.element)
    return tree


def _derive_base(element: dict[str, Any]) -> None:
    """STU3 core snapshots leave `base` out on the elements a definition introduces: it is the element."""
    if "base" not in element:
        element["base"] = {
            "path": element["path"],
            "min": element.get("min", 0),
            "max": element.get("max", "*"),
        }
