"""Where packages are found: the package path, then the user's package cache, then a registry.

Within the package path (all its folders together) and within the cache, the
highest version that satisfies a request wins; an earlier folder wins a tie.
The registry is used only when neither place has a match and the settings
allow the network; what it sends is installed into the cache as
`<name>#<version>/package/...`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.errors import OfflineError, PackageError, PackageNotFoundError
from conformance.packages.archive import DEFAULT_LIMITS, ExtractionLimits, extract_into_place
from conformance.packages.loading import (
    PackageLoader,
    is_archive,
    package_folder_of,
    require_package_folder,
)
from conformance.packages.package import Manifest, Package
from conformance.packages.versions import (
    VersionSpec,
    is_safe_package_name,
    is_safe_version_label,
    sort_versions,
)
from conformance.settings import Settings

if TYPE_CHECKING:
    # httpx (under the registry client) is imported only when the registry is used.
    from conformance.packages.registry import Distribution, Registry


@dataclass(frozen=True)
class Candidate:
    """A package seen on disk, before it is loaded. `version` is None until known."""

    name: str | None
    version: str | None
    path: Path
    place: str  # "path" (a --package-path folder) or "cache"

    @property
    def id(self) -> str:
        return f"{self.name}#{self.version}"


@dataclass(frozen=True)
class InstallReport:
    """What `install_with_dependencies` ended up with: the packages, then what could not be had."""

    packages: tuple[Package, ...]
    problems: tuple[str, ...]


class PackageStore:
    """Finds, loads and installs packages according to one `Settings`."""

    def __init__(
        self,
        settings: Settings,
        *,
        limits: ExtractionLimits = DEFAULT_LIMITS,
        registry: Registry | None = None,
        loader: PackageLoader | None = None,
    ) -> None:
        self.settings = settings
        self.limits = limits
        self.loader = loader or PackageLoader(settings.work_cache, limits)
        self._registry = registry
        self._scanned: tuple[Candidate, ...] | None = None

    # --- local search -------------------------------------------------------------------------

    def candidates(self) -> tuple[Candidate, ...]:
        """Every package on the package path and in the cache, in search order (scanned once)."""
        if self._scanned is None:
            found = [c for folder in self.settings.package_path for c in self._scan(folder, "path")]
            found.extend(self._scan(self.settings.package_cache, "cache"))
            self._scanned = tuple(found)
        return self._scanned

    def _scan(self, folder: Path, place: str) -> Iterator[Candidate]:
        if not folder.is_dir():
            return
        if package_folder_of(folder) is not None:
            yield self._candidate(folder, place)
            return
        for child in sorted(folder.iterdir()):
            if child.name.startswith("."):
                continue
            if (child.is_file() and is_archive(child)) or (child.is_dir() and package_folder_of(child)):
                yield self._candidate(child, place)

    def _candidate(self, path: Path, place: str) -> Candidate:
        stem = path.name.removesuffix(".tgz").removesuffix(".tar.gz")
        name, hash_sign, version = stem.partition("#")
        if hash_sign and name and version:
            return Candidate(name, version, path, place)
        folder = package_folder_of(path)
        if folder is not None:
            manifest = Manifest.read(folder)
            return Candidate(manifest.name, manifest.version, path, place)
        return Candidate(None, None, path, place)  # an archive with a plain name: opened when asked for

    def find_local(self, name: str, spec: VersionSpec) -> Package | None:
        for place in ("path", "cache"):
            chosen = self._choose(name, spec, [c for c in self.candidates() if c.place == place])
            if chosen is not None:
                return self._load_candidate(chosen, name)
        return None

    def _choose(self, name: str, spec: VersionSpec, candidates: list[Candidate]) -> Candidate | None:
        named = [self._named(candidate) for candidate in candidates]
        by_version: dict[str, Candidate] = {}
        for candidate in named:
            if candidate.name == name and candidate.version is not None:
                by_version.setdefault(candidate.version, candidate)
        version = spec.select(by_version)
        return by_version[version] if version is not None else None

    def _named(self, candidate: Candidate) -> Candidate:
        if candidate.name is not None:
            return candidate
        manifest = self.loader.load(candidate.path).manifest
        return Candidate(manifest.name, manifest.version, candidate.path, candidate.place)

    def _load_candidate(self, candidate: Candidate, name: str) -> Package:
        package = self.loader.load(candidate.path)
        if package.name != name or package.version != candidate.version:
            raise PackageError(f"{candidate.path} holds {package.id}, not {candidate.id} as its name says")
        return package

    def local_packages(self) -> tuple[Package, ...]:
        """Every package found on the package path and in the cache, loaded, in search order."""
        return tuple(self.loader.load(candidate.path) for candidate in self.candidates())

    def local_manifests(self) -> tuple[tuple[Candidate, Manifest], ...]:
        """Every package found on the package path and in the cache with its manifest (no index read)."""
        return tuple((candidate, self.loader.manifest(candidate.path)) for candidate in self.candidates())

    def load(self, path: Path) -> Package:
        """An explicitly named .tgz or package folder."""
        return self.loader.load(path)

    # --- registry -------------------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        if self.settings.offline:
            raise OfflineError("offline mode is on: the package registry may not be used")
        if self._registry is None:
            from conformance.packages.registry import Registry  # noqa: PLC0415

            self._registry = Registry(self.settings.registry_url)
        return self._registry

    def find(self, name: str, spec: VersionSpec, *, allow_network: bool = True) -> Package | None:
        """Search the package path, then the cache, then (network allowed) the registry."""
        local = self.find_local(name, spec)
        if local is not None or not allow_network or self.settings.offline:
            return local
        return self.install(name, spec)

    def install(self, name: str, spec: VersionSpec) -> Package:
        """Download `name` at the version `spec` picks into the package cache (kept if already there)."""
        if not is_safe_package_name(name):
            raise PackageError(f"{name!r} is not a usable package name")
        listing = self.registry.listing(name)
        version = _registry_choice(spec, listing.versions, listing.dist_tags)
        if version is None:
            known = ", ".join(sort_versions(listing.versions)[-8:]) or "none"
            raise PackageNotFoundError(f"registry has no version of {name} matching {spec} (latest: {known})")
        if not is_safe_version_label(version):
            raise PackageError(f"registry offers {name} version {version!r}, not a usable version label")
        final = self.settings.package_cache / f"{name}#{version}"
        if package_folder_of(final) is None:
            self._download_into(final, name, version, listing.versions[version])
        self._scanned = None
        return self.loader.load(final)

    def install_with_dependencies(self, name: str, spec: VersionSpec) -> InstallReport:
        """Install a package and, breadth first, every dependency not already available locally."""
        root = self.find_local(name, spec) or self.install(name, spec)
        packages, problems = [root], []
        queue = deque((root, dependency) for dependency in root.manifest.dependencies)
        while queue:
            parent, (dep_name, dep_version) = queue.popleft()
            dep_spec = VersionSpec.parse(dep_version)
            if any(p.name == dep_name and dep_spec.matches(p.version) for p in packages):
                continue
            try:
                found = self.find(dep_name, dep_spec)
            except PackageError as exc:
                problems.append(f"{parent.id} needs {dep_name}#{dep_version}: {exc}")
                continue
            if found is not None:
                packages.append(found)
                queue.extend((found, dependency) for dependency in found.manifest.dependencies)
        return InstallReport(packages=tuple(packages), problems=tuple(problems))

    def _download_into(self, final: Path, name: str, version: str, distribution: Distribution) -> None:
        if final.exists():
            raise PackageError(f"{final} exists but is not a package folder; remove it and retry")
        archive = self.registry.download(name, version, distribution, self.settings.package_cache)

        def check(root: Path) -> None:
            manifest = require_package_folder(root)
            if (manifest.name, manifest.version) != (name, version):
                raise PackageError(f"registry tarball for {name}#{version} holds {manifest.id}")

        try:
            extract_into_place(archive, final, self.limits, check=check)
        finally:
            archive.unlink(missing_ok=True)


def _registry_choice(
    spec: VersionSpec, versions: Mapping[str, Distribution], tags: Mapping[str, str]
) -> str | None:
    tagged = tags.get(spec.text) if spec.is_tag else None
    if tagged is not None and tagged in versions:
        return tagged
    return spec.select(versions)
