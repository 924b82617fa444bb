"""The Context: the resolved definitions for one FHIR version, and canonical resolution over them.

Precedence (which definition `resolve(url)` returns when several share a url):
1. extra resources, the one given last first (a later overlay overrides an
   earlier one; `with_resources` adds a new top layer);
2. packages in resolution order: explicitly given package files/folders, then
   the `igs`, in the order given; their dependencies breadth first; the FHIR
   core package; implicit packages (for R4 the HL7 extensions pack, then
   hl7.terminology.r4) last, so they only fill gaps.
`url|version` (or `version=`) picks that exact version, else the first
version that starts with it followed by a dot (`|1.0` matches `1.0.2`).

Packages nobody named (added by `with_packages_defining`) are chosen by a rule a
user can predict, never by the order files sit in a folder: of one package line
the highest version; two different packages defining the same wanted canonical
is refused with a message naming them and the `--ig` that would decide.

A Context is immutable. Resources are parsed on first use and shared: treat
every returned dict as read-only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from conformance.errors import InputError, PackageError
from conformance.fhirversion import FhirVersion
from conformance.packages.index import IndexEntry
from conformance.packages.package import Package
from conformance.packages.resolve import Requirement, Unavailable, resolve
from conformance.packages.store import PackageStore
from conformance.packages.versions import LATEST, VersionSpec, parse_package_reference, sort_versions
from conformance.settings import ENV_EXTENSIONS_PACK, Settings

CORE_SD_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
_SHOWN_DUPLICATES = 3


@dataclass(frozen=True)
class ImplicitPackage:
    """A package loaded without being asked for, as the HL7 validator does, to fill gaps.

    `canonical_space` is the URL prefix of what it defines, so a definition missing there can be explained
    by the package being unavailable; `fetch` lets it come from the registry when it is not on disk.
    """

    name: str
    title: str
    canonical_space: str
    fetch: bool


EXTENSIONS_PACK = ImplicitPackage(
    "hl7.fhir.uv.extensions.r4", "the HL7 extensions pack", CORE_SD_PREFIX, fetch=True
)
TERMINOLOGY_PACKAGE = ImplicitPackage(
    "hl7.terminology.r4", "HL7 Terminology (THO)", "http://terminology.hl7.org/", fetch=False
)
IMPLICIT_PACKAGES: Mapping[FhirVersion, tuple[ImplicitPackage, ...]] = {
    FhirVersion.R4: (EXTENSIONS_PACK, TERMINOLOGY_PACKAGE),
    FhirVersion.STU3: (),
}


def implicit_packages_for(fhir_version: FhirVersion, settings: Settings) -> tuple[ImplicitPackage, ...]:
    """The implicit packages a context of `fhir_version` loads under `settings`."""
    return tuple(
        package
        for package in IMPLICIT_PACKAGES.get(fhir_version, ())
        if package is not EXTENSIONS_PACK or settings.extensions_pack
    )


class AmbiguousPackagesError(PackageError):
    """Several packages nobody named define what is wanted, and nothing says which to use."""


ExtraResource = Path | Mapping[str, Any]


@dataclass(frozen=True)
class ResourceOrigin:
    """Where a resource comes from: a package (`name#version`) and file, or an extra resource."""

    package: str | None
    path: str

    def __str__(self) -> str:
        return f"{self.package}/{self.path}" if self.package else self.path


@dataclass(frozen=True)
class Duplicate:
    """One canonical (`url|version`) defined more than once; `origins` in precedence order, first wins."""

    canonical: str
    origins: tuple[ResourceOrigin, ...]


@dataclass(frozen=True)
class _Extras:
    """Extra resources in precedence order, each under a unique name."""

    entries: tuple[IndexEntry, ...] = ()
    resources: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def on_top_of(self, lower: _Extras) -> _Extras:
        return _Extras(
            entries=(*self.entries, *lower.entries),
            resources={**lower.resources, **self.resources},
            warnings=(*lower.warnings, *self.warnings),
        )


class Context:
    """Resolved definitions for one FHIR version; build one with `Context.build`."""

    def __init__(
        self,
        fhir_version: FhirVersion,
        packages: Sequence[Package],
        *,
        warnings: Sequence[str] = (),
        extras: _Extras | None = None,
        settings: Settings | None = None,
        unavailable: Sequence[Unavailable] = (),
    ) -> None:
        self._settings = settings
        self._unavailable = tuple(unavailable)
        self._fhir_version = fhir_version
        self._packages = tuple(packages)
        self._extras = extras or _Extras()
        self._by_package = {package.id: package for package in self._packages}
        self._by_url, self._by_type = _index(self._extras.entries, self._packages)
        self._duplicates = _find_duplicates(self._by_url)
        self._warnings = tuple(dict.fromkeys((*warnings, *self._extras.warnings, *self._duplicate_summary())))
        self._base_warnings = tuple(warnings)

    @classmethod
    def build(
        cls,
        settings: Settings,
        fhir_version: FhirVersion,
        igs: Sequence[str] = (),
        *,
        packages: Sequence[Path] = (),
        extra_resources: Sequence[ExtraResource] = (),
        implicit_packages: bool = True,
    ) -> Context:
        """Find, resolve and index the packages for `fhir_version` (see the module doc for precedence).

        `igs` are `name#version` or `name` (the latest found); `packages` are .tgz
        files or package folders; `implicit_packages` adds, to R4 contexts, the HL7
        extensions pack (unless `settings.extensions_pack` is off; from the package
        path, the cache or the registry) and hl7.terminology.r4 (when it is available
        without network).
        """
        store = PackageStore(settings)
        explicit = [store.load(path) for path in packages]
        requested = [Requirement(*parse_package_reference(ig)) for ig in igs]
        implicit = [
            Requirement(package.name, VersionSpec(LATEST), implicit=True, fetch=package.fetch)
            for package in (implicit_packages_for(fhir_version, settings) if implicit_packages else ())
        ]
        resolution = resolve(store, fhir_version, explicit=explicit, requested=requested, implicit=implicit)
        packages_only = cls(
            fhir_version,
            resolution.packages,
            warnings=resolution.warnings,
            settings=settings,
            unavailable=resolution.unavailable,
        )
        if not extra_resources:
            return packages_only
        return packages_only.with_resources(extra_resources)

    def with_resources(self, extra: Sequence[ExtraResource]) -> Context:
        """A new Context with `extra` on top of everything this one holds."""
        return Context(
            self._fhir_version,
            self._packages,
            warnings=self._base_warnings,
            extras=load_extras(extra, XmlReader(self)).on_top_of(self._extras),
            settings=self._settings,
            unavailable=self._unavailable,
        )

    def with_packages_defining(self, urls: Sequence[str]) -> Context:
        """A new Context that adds, from the package path and cache (never the network), the packages
        of this FHIR version defining any of `urls` that this one cannot resolve, with their dependencies.

        Nobody named these packages, so the choice follows a rule rather than folder order: of one
        package line (one name) the highest version; when packages of different names define the same
        wanted url, `AmbiguousPackagesError` names them and the `--ig` that would decide. Added
        packages come after the existing ones in precedence. Returns this Context when nothing is
        missing or nothing defines what is missing.
        """
        missing = {url.split("|", 1)[0] for url in urls if self.find_entry(url) is None}
        if not missing or self._settings is None:
            return self
        store = PackageStore(self._settings.with_options(offline=True))
        defining = _choose_defining_packages(
            [
                package
                for package in store.local_packages()
                if package.id not in self._by_package and package.fhir_release_for(self._fhir_version)
            ],
            missing,
        )
        if not defining:
            return self
        resolution = resolve(store, self._fhir_version, explicit=defining)
        added = [package for package in resolution.packages if package.id not in self._by_package]
        return Context(
            self._fhir_version,
            (*self._packages, *added),
            warnings=(*self._base_warnings, *resolution.warnings),
            extras=self._extras,
            settings=self._settings,
            unavailable=self._unavailable,
        )

    # --- what it holds ----------------------------------------------------------------------------

    @property
    def fhir_version(self) -> FhirVersion:
        return self._fhir_version

    @property
    def packages(self) -> tuple[Package, ...]:
        """The packages in resolution (precedence) order."""
        return self._packages

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    def package(self, package_id: str) -> Package | None:
        """A package of this context by `name#version`."""
        return self._by_package.get(package_id)

    def duplicates(self) -> tuple[Duplicate, ...]:
        return self._duplicates

    @property
    def unavailable(self) -> tuple[Unavailable, ...]:
        """Implicit packages (or their dependencies) that could not be had; see `missing_definition_note`."""
        return self._unavailable

    def missing_definition_note(self, url: str) -> str | None:
        """Why a definition in an implicit package's canonical space may be missing, or None.

        Said where it matters (an unknown extension, say) instead of on every run: the implicit package
        that would define `url` was turned off or could not be found.
        """
        for package in IMPLICIT_PACKAGES.get(self._fhir_version, ()):
            if url.startswith(package.canonical_space) and not self._has_package(package.name):
                note = self._why_absent(package)
                if note is not None:
                    return note
        return None

    def _why_absent(self, package: ImplicitPackage) -> str | None:
        wanted = self._settings is None or package in implicit_packages_for(
            self._fhir_version, self._settings
        )
        if not wanted:
            switch = f"{ENV_EXTENSIONS_PACK}=off or --no-extensions-pack"
            return f"{package.title} ({package.name}) is turned off by {switch}"
        reason = next((u.reason for u in self._unavailable if u.requirement.name == package.name), None)
        if reason is None:
            return None
        return f"{package.title} ({package.name}), which defines most of these, is {reason}"

    def _has_package(self, name: str) -> bool:
        return any(package.name == name for package in self._packages)

    # --- resolution ---------------------------------------------------------------------------------

    def resolve(self, url: str, version: str | None = None) -> dict[str, Any] | None:
        """The resource with canonical `url` (`url|version` accepted), by precedence; None if unknown."""
        entry = self.find_entry(url, version)
        return None if entry is None else self.resource(entry)

    def resolve_with_origin(
        self, url: str, version: str | None = None
    ) -> tuple[dict[str, Any], ResourceOrigin] | None:
        """Like `resolve`, with where the resource comes from."""
        entry = self.find_entry(url, version)
        return None if entry is None else (self.resource(entry), origin_of(entry))

    def find_entry(self, url: str, version: str | None = None) -> IndexEntry | None:
        """The index entry `resolve` would load, without loading it."""
        if version is None and "|" in url:
            url, version = url.split("|", 1)
        entries = self._by_url.get(url)
        if not entries:
            return None
        if not version:
            return _authoritative(url, entries)
        exact = next((entry for entry in entries if entry.version == version), None)
        if exact is not None:
            return exact
        return next((e for e in entries if e.version and e.version.startswith(f"{version}.")), None)

    def structure_definition(self, url_or_type: str) -> dict[str, Any] | None:
        """By canonical url, or by type name (`Patient` -> the core Patient definition)."""
        if "/" not in url_or_type and ":" not in url_or_type:
            url_or_type = CORE_SD_PREFIX + url_or_type
        found = self.resolve(url_or_type)
        return found if found is not None and found.get("resourceType") == "StructureDefinition" else None

    def resource(self, entry: IndexEntry) -> dict[str, Any]:
        """The resource an index entry of this context points at (parsed on first use)."""
        if not entry.package:
            return self._extra(entry)
        package = self._by_package.get(entry.package)
        if package is None:
            raise KeyError(f"{entry.package} is not a package of this context")
        return package.resource(entry)

    def _extra(self, entry: IndexEntry) -> dict[str, Any]:
        return self._extras.resources[entry.filename]

    def resources(self, resource_type: str) -> Iterator[dict[str, Any]]:
        """Every resource of a type, in precedence order (shadowed duplicates included)."""
        for entry in self._by_type.get(resource_type, ()):
            yield self.resource(entry)

    def entries(self, resource_type: str) -> tuple[IndexEntry, ...]:
        """The index entries of a type, in precedence order."""
        return self._by_type.get(resource_type, ())

    def structure_definitions(
        self,
        *,
        type: str | None = None,
        base: str | None = None,
        derivation: str | None = None,
        kind: str | None = None,
    ) -> tuple[IndexEntry, ...]:
        """StructureDefinitions matching every given filter, one per canonical (the one that wins)."""
        seen: set[str] = set()
        chosen: list[IndexEntry] = []
        for entry in self._by_type.get("StructureDefinition", ()):
            if not _matches(entry, type=type, base=base, derivation=derivation, kind=kind):
                continue
            key = entry.canonical or f"{entry.package}/{entry.filename}"
            if key not in seen:
                seen.add(key)
                chosen.append(entry)
        return tuple(chosen)

    def counts(self) -> dict[str, int]:
        """How many resources of each type the context holds, by type name."""
        return {name: len(entries) for name, entries in sorted(self._by_type.items())}

    def _duplicate_summary(self) -> Iterator[str]:
        if not self._duplicates:
            return
        count = len(self._duplicates)
        shown = "; ".join(
            f"{d.canonical} in {', '.join(map(str, d.origins))}" for d in self._duplicates[:_SHOWN_DUPLICATES]
        )
        more = f" and {count - _SHOWN_DUPLICATES} more" if count > _SHOWN_DUPLICATES else ""
        yield (
            f"{count} canonical(s) defined more than once, the first in precedence order (packages named, "
            f"in the order given, then their dependencies) is used: {shown}{more}"
        )

    def __repr__(self) -> str:
        names = ", ".join(package.id for package in self._packages)
        return f"Context({self._fhir_version.label}: {names}; {len(self._extras.entries)} extra resource(s))"


# HL7 Terminology (THO) publishes the terminology.hl7.org canonicals; the core packages carry older copies.
_TERMINOLOGY_AUTHORITY = ("http://terminology.hl7.org/", "hl7.terminology.")


# The extensions pack now publishes the core's extensions too (newer versions, some with other contexts);
# the HL7 validator uses its copy over the core package's, as it uses THO's over the core's.
_EXTENSIONS_AUTHORITY = (CORE_SD_PREFIX, "hl7.fhir.uv.extensions.")
_CORE_PACKAGES = ("hl7.fhir.r4.core#", "hl7.fhir.r3.core#")


def _authoritative(url: str, entries: tuple[IndexEntry, ...]) -> IndexEntry:
    """Precedence order, except that a canonical's own publisher's copy beats copies carried elsewhere."""
    prefix, package = _TERMINOLOGY_AUTHORITY
    if url.startswith(prefix):
        for entry in entries:
            if entry.package.startswith(package):
                return entry
    prefix, package = _EXTENSIONS_AUTHORITY
    if url.startswith(prefix) and entries[0].package.startswith(_CORE_PACKAGES):
        # Only the core package's copy gives way: a definition given as an extra or by a named package
        # still comes first.
        return next((entry for entry in entries if entry.package.startswith(package)), entries[0])
    return entries[0]


def _choose_defining_packages(candidates: Sequence[Package], missing: set[str]) -> list[Package]:
    """The packages that define a missing url: the highest version of each line; refused when two
    lines define the same url (nothing says which the user means)."""
    by_url: defaultdict[str, dict[str, Package]] = defaultdict(dict)
    for package in candidates:
        for url in {entry.url for entry in package.index if entry.url is not None and entry.url in missing}:
            known = by_url[url].get(package.name)
            if known is None or sort_versions([known.version, package.version])[-1] == package.version:
                by_url[url][package.name] = package
    for url, lines in sorted(by_url.items()):
        if len(lines) > 1:
            raise AmbiguousPackagesError(_ambiguity_message(url, sorted(lines.values(), key=lambda p: p.id)))
    chosen = {package.id: package for lines in by_url.values() for package in lines.values()}
    return sorted(chosen.values(), key=lambda package: package.id)


def _ambiguity_message(url: str, packages: Sequence[Package]) -> str:
    names = ", ".join(package.id for package in packages)
    options = " or ".join(f"--ig {package.id}" for package in packages)
    return (
        f"{url} is defined by {len(packages)} packages on the package path ({names}); "
        f"name the one to use with {options}"
    )


def origin_of(entry: IndexEntry) -> ResourceOrigin:
    return ResourceOrigin(package=entry.package or None, path=entry.filename)


def _matches(entry: IndexEntry, **wanted: str | None) -> bool:
    actual = {
        "type": entry.type,
        "base": entry.base_definition,
        "derivation": entry.derivation,
        "kind": entry.kind,
    }
    return all(value is None or actual[name] == value for name, value in wanted.items())


def _index(
    extras: Iterable[IndexEntry], packages: Iterable[Package]
) -> tuple[dict[str, tuple[IndexEntry, ...]], dict[str, tuple[IndexEntry, ...]]]:
    by_url: defaultdict[str, list[IndexEntry]] = defaultdict(list)
    by_type: defaultdict[str, list[IndexEntry]] = defaultdict(list)
    for entry in _in_precedence_order(extras, packages):
        if entry.url:
            by_url[entry.url].append(entry)
        by_type[entry.resource_type].append(entry)
    return (
        {url: tuple(entries) for url, entries in by_url.items()},
        {name: tuple(entries) for name, entries in by_type.items()},
    )


def _in_precedence_order(extras: Iterable[IndexEntry], packages: Iterable[Package]) -> Iterator[IndexEntry]:
    yield from extras
    for package in packages:
        yield from package.index


def _find_duplicates(by_url: Mapping[str, tuple[IndexEntry, ...]]) -> tuple[Duplicate, ...]:
    duplicates: list[Duplicate] = []
    for entries in by_url.values():
        if len(entries) < 2:
            continue
        by_canonical: defaultdict[str, list[IndexEntry]] = defaultdict(list)
        for entry in entries:
            by_canonical[entry.canonical or ""].append(entry)
        duplicates.extend(
            Duplicate(canonical, tuple(origin_of(entry) for entry in same))
            for canonical, same in by_canonical.items()
            if len(same) > 1
        )
    return tuple(sorted(duplicates, key=lambda duplicate: duplicate.canonical))


# --- extra resources ------------------------------------------------------------------------------------


class XmlReader:
    """Reads XML conformance resources with the type information of the context they are added to."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._model: Any = None

    def __call__(self, path: Path) -> _Extras:
        # Imported here: the parser and type model are built on the Context; a top-level import would cycle.
        from conformance.definitions.typemodel import TypeModel  # noqa: PLC0415
        from conformance.instance import parse_file  # noqa: PLC0415

        if self._model is None:
            self._model = TypeModel(self.context)
        parsed = parse_file(path, model=self._model)
        if parsed.resource is None:
            reason = parsed.issues[0].message if parsed.issues else "unreadable"
            raise InputError(f"{path}: not a readable FHIR XML resource: {reason}")
        return _of_resources(_with_bundle_entries(str(path), _checked(parsed.resource, str(path))))


XmlLoader = Callable[[Path], "_Extras"]


def load_extras(items: Sequence[ExtraResource], xml_reader: XmlLoader | None = None) -> _Extras:
    """Read extra resources; the item given last comes first in precedence."""
    layers = [_load_extra(item, position, xml_reader) for position, item in enumerate(items, start=1)]
    combined = _Extras()
    for layer in layers:
        combined = layer.on_top_of(combined)
    return combined


def _load_extra(item: ExtraResource, position: int, xml_reader: XmlLoader | None) -> _Extras:
    if isinstance(item, Path):
        if item.is_dir():
            return _load_folder(item, xml_reader)
        return _load_file(item, xml_reader)
    if isinstance(item, Mapping):
        return _of_resources([(f"extra resource #{position}", _checked(item, f"extra resource #{position}"))])
    raise InputError(f"extra resource #{position}: expected a file, a folder or a resource dict")


def _load_folder(folder: Path, xml_reader: XmlLoader | None) -> _Extras:
    files = sorted(path for path in folder.rglob("*") if path.is_file() and path.suffix in {".json", ".xml"})
    combined = _Extras()
    for path in files:
        combined = _load_file(path, xml_reader).on_top_of(combined)
    return combined


def _load_file(path: Path, xml_reader: XmlLoader | None) -> _Extras:
    if not path.is_file():
        raise InputError(f"{path}: no such extra resource file or folder")
    if path.suffix.lower() == ".xml":
        return xml_reader(path) if xml_reader is not None else _load_xml_file(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return _of_resources(_with_bundle_entries(str(path), _checked(_json_resource(raw, path), str(path))))


def _json_resource(raw: bytes, path: Path) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            # Definitions written by hand often carry raw control characters (tabs, CR) inside strings:
            # readable without doubt, so read them rather than refuse the whole file.
            return json.loads(raw.decode("utf-8"), strict=False)
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _load_xml_file(path: Path) -> _Extras:
    # Without a context there is no type information to read XML with.
    return _Extras(resources={}, warnings=(f"{path}: XML extra resources need a context; skipped",))


def _checked(data: Any, name: str) -> dict[str, Any]:
    if not isinstance(data, Mapping) or not isinstance(data.get("resourceType"), str):
        raise InputError(f"{name}: not a FHIR resource (no resourceType)")
    return dict(data)


def _with_bundle_entries(name: str, resource: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A Bundle given as an extra also contributes the resources in its entries."""
    found = [(name, resource)]
    if resource["resourceType"] != "Bundle":
        return found
    for position, entry in enumerate(resource.get("entry") or ()):
        inner = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(inner, dict) and isinstance(inner.get("resourceType"), str):
            found.append((f"{name}#entry[{position}]", inner))
    return found


def _of_resources(named: Sequence[tuple[str, dict[str, Any]]]) -> _Extras:
    # Later entries of a Bundle or folder override earlier ones, as later items do.
    entries = tuple(IndexEntry.of_resource(name, resource) for name, resource in reversed(named))
    return _Extras(entries=entries, resources=dict(named))
