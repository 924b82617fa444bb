"""Dependency resolution: from what was asked for to an ordered set of packages for one FHIR version.

Order (it is the precedence order of canonical resolution): the packages asked
for, in the order given; then their dependencies, breadth first; then the FHIR
core package; then implicit packages (which only fill gaps) and their own
dependencies. A package already chosen is reused when it satisfies a later
requirement; otherwise a second version is added, with a warning.

Implicit packages are a bonus, never required: one that cannot be had (nor a
dependency of one) is not a warning on every run but an `Unavailable` entry, so
the places where it matters (an unknown extension in its canonical space) can
say why the definition is missing. Among implicit packages, a dependency on a
package line already chosen is satisfied by the version chosen (their published
versions name each other in a cycle that no single set of versions satisfies).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from conformance.errors import (
    FhirVersionError,
    OfflineError,
    PackageNotFoundError,
    RegistryError,
)
from conformance.fhirversion import FhirVersion
from conformance.packages.package import Package
from conformance.packages.store import PackageStore
from conformance.packages.versions import VersionSpec

_CORE_NAMES = {
    "hl7.fhir.r2.core": "1.0",
    "hl7.fhir.r3.core": "3.0",
    "hl7.fhir.r4.core": "4.0",
    "hl7.fhir.r4b.core": "4.3",
    "hl7.fhir.r5.core": "5.0",
    "hl7.fhir.r6.core": "6.0",
}
# Before R4 split the name, STU3 and early R4 core packages were both called this.
_LEGACY_CORE = "hl7.fhir.core"


@dataclass(frozen=True)
class Requirement:
    """A package wanted at a version spec; `needed_by` is the package id that depends on it."""

    name: str
    spec: VersionSpec
    needed_by: str | None = None
    implicit: bool = False
    # An implicit package may still come from the registry when this is set (and the settings allow it).
    fetch: bool = False

    def __str__(self) -> str:
        return f"{self.name}#{self.spec}"


@dataclass(frozen=True)
class Unavailable:
    """An implicit package (or a dependency of one) that could not be had, and where it was looked for."""

    requirement: Requirement
    reason: str


@dataclass(frozen=True)
class Resolution:
    packages: tuple[Package, ...]
    warnings: tuple[str, ...]
    unavailable: tuple[Unavailable, ...] = ()


def core_release(name: str, version: str) -> str | None:
    """The FHIR release (major.minor) a core package stands for, or None when `name` is not a core package."""
    if name == _LEGACY_CORE:
        return ".".join(version.split(".")[:2])
    return _CORE_NAMES.get(name)


class _Resolver:
    def __init__(self, store: PackageStore, fhir_version: FhirVersion) -> None:
        self.store = store
        self.fhir_version = fhir_version
        self.chosen: list[Package] = []
        self.warnings: list[str] = []
        self.core_requests: list[Requirement] = []
        self.implicit_ids: set[str] = set()
        self.unavailable: list[Unavailable] = []

    def run(
        self, explicit: Sequence[Package], requested: Sequence[Requirement], implicit: Sequence[Requirement]
    ) -> Resolution:
        queue: deque[Package | Requirement] = deque([*explicit, *requested])
        self._drain(queue)
        core = self._resolve_core()
        self._drain(deque(implicit))
        main = [p for p in self.chosen if p is not core and not self._is_implicit(p)]
        late = [p for p in self.chosen if p is not core and self._is_implicit(p)]
        return Resolution(
            packages=(*main, core, *late),
            warnings=tuple(dict.fromkeys(self.warnings)),
            unavailable=tuple(self.unavailable),
        )

    def _is_implicit(self, package: Package) -> bool:
        return package.id in self.implicit_ids

    def _drain(self, queue: deque[Package | Requirement]) -> None:
        for item in _consume(queue):
            if isinstance(item, Package):
                self._accept(item, None, queue, implicit=False)
            else:
                self._satisfy(item, queue)

    def _satisfy(self, requirement: Requirement, queue: deque[Package | Requirement]) -> None:
        if self._already_chosen(requirement):
            return
        package = self._find(requirement)
        if package is not None:
            self._accept(package, requirement.needed_by, queue, implicit=requirement.implicit)

    def _already_chosen(self, requirement: Requirement) -> bool:
        same_name = [p for p in self.chosen if p.name == requirement.name]
        if any(requirement.spec.matches(p.version) for p in same_name):
            return True
        if requirement.implicit and same_name:
            return True  # implicit packages fill gaps: the version already there fills them
        if same_name:
            versions = ", ".join(p.version for p in same_name)
            self.warnings.append(
                f"{requirement.needed_by or 'the request'} needs {requirement}, so it is loaded beside "
                f"{requirement.name} {versions}"
            )
        return False

    def _find(self, requirement: Requirement) -> Package | None:
        network = not requirement.implicit or requirement.fetch
        try:
            found = self.store.find(requirement.name, requirement.spec, allow_network=network)
        except (PackageNotFoundError, RegistryError, OfflineError) as exc:
            self._missing(requirement, str(exc))
            return None
        if found is None:
            self._missing(requirement, None)
        return found

    def _missing(self, requirement: Requirement, reason: str | None) -> None:
        if requirement.implicit:
            # A bonus, never required: recorded for where it matters rather than warned about on every run.
            where = self._searched(not requirement.fetch, reason)
            self.unavailable.append(Unavailable(requirement, f"not found ({where})"))
            return
        message = self._not_found_message(requirement, reason)
        if requirement.needed_by is None:
            raise PackageNotFoundError(message)
        self.warnings.append(message)

    def _not_found_message(self, requirement: Requirement, reason: str | None) -> str:
        who = f"{requirement.needed_by} needs {requirement}" if requirement.needed_by else f"{requirement}"
        return f"package {who}: not found ({self._searched(requirement.implicit, reason)})"

    def _searched(self, implicit: bool, reason: str | None) -> str:
        settings = self.store.settings
        where = f"{len(settings.package_path)} package folder(s) and the cache {settings.package_cache}"
        network = "offline" if settings.offline or implicit else "registry asked"
        detail = f"; {reason}" if reason else ""
        return f"searched {where}; {network}{detail}"

    def _accept(
        self, package: Package, needed_by: str | None, queue: deque[Package | Requirement], *, implicit: bool
    ) -> None:
        if any(p.id == package.id for p in self.chosen):
            return
        self._check_fhir_version(package, needed_by)
        self.chosen.append(package)
        if implicit:
            self.implicit_ids.add(package.id)
        queue.extend(self._dependencies(package, implicit=implicit))

    def _check_fhir_version(self, package: Package, needed_by: str | None) -> None:
        if package.fhir_release_for(self.fhir_version):
            return
        via = f" (needed by {needed_by})" if needed_by else ""
        raise FhirVersionError(
            f"package {package.id}{via} is for FHIR {package.manifest.fhir_version_label()}, "
            f"not FHIR {self.fhir_version.label} ({self.fhir_version.value}): versions cannot be mixed"
        )

    def _dependencies(self, package: Package, *, implicit: bool) -> Iterable[Requirement]:
        for name, version in package.manifest.dependencies:
            requirement = Requirement(name, VersionSpec.parse(version), package.id, implicit)
            release = core_release(name, version)
            if release is None:
                yield requirement
            elif self.fhir_version.accepts(release) or FhirVersion.of_release(release) is self.fhir_version:
                self.core_requests.append(requirement)
            else:
                self.warnings.append(
                    f"{package.id} depends on {requirement}, the core of FHIR {release}; "
                    f"a FHIR {self.fhir_version.label} context leaves it out"
                )

    def _resolve_core(self) -> Package:
        name = self.fhir_version.core_package
        spec = VersionSpec.parse(f"{self.fhir_version.release_prefix}.x")
        chosen = [p for p in self.chosen if p.name == name]
        found = chosen[0] if chosen else self.store.find_local(name, spec) or self._download_core(name, spec)
        if found is None:
            needed_by = self.core_requests[0].needed_by if self.core_requests else None
            who = f"{needed_by} needs" if needed_by else f"a FHIR {self.fhir_version.label} context needs"
            raise PackageNotFoundError(
                f"{who} the core package {name}#{spec}, which was not found ({self._searched(False, None)})"
            )
        self._check_fhir_version(found, None)
        if not any(p.id == found.id for p in self.chosen):
            self.chosen.append(found)
        return found

    def _download_core(self, name: str, spec: VersionSpec) -> Package | None:
        if self.store.settings.offline:
            return None
        try:
            return self.store.install(name, spec)
        except (PackageNotFoundError, RegistryError) as exc:
            raise PackageNotFoundError(f"core package {name}#{spec} was not found: {exc}") from None


def _consume(queue: deque[Package | Requirement]) -> Iterable[Package | Requirement]:
    while queue:
        yield queue.popleft()


def resolve(
    store: PackageStore,
    fhir_version: FhirVersion,
    *,
    explicit: Sequence[Package] = (),
    requested: Sequence[Requirement] = (),
    implicit: Sequence[Requirement] = (),
) -> Resolution:
    """Resolve what was asked for (plus the core package) into an ordered package set; see module doc."""
    return _Resolver(store, fhir_version).run(explicit, requested, implicit)


__all__ = ["Requirement", "Resolution", "Unavailable", "core_release", "resolve"]
