"""FHIR packages: loading (.tgz, folders, caches), dependency resolution, registry, safe extraction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.packages.archive import ExtractionLimits
from conformance.packages.index import IndexEntry
from conformance.packages.package import Manifest, Package
from conformance.packages.resolve import Requirement, Resolution, resolve
from conformance.packages.store import Candidate, PackageStore
from conformance.packages.versions import Version, VersionSpec, parse_package_reference

if TYPE_CHECKING:
    from conformance.packages.registry import Registry


def __getattr__(name: str) -> Any:
    # The registry client (and httpx) loads on first use: most runs read packages from disk only.
    if name == "Registry":
        from conformance.packages.registry import Registry  # noqa: PLC0415

        return Registry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Candidate",
    "ExtractionLimits",
    "IndexEntry",
    "Manifest",
    "Package",
    "PackageStore",
    "Registry",
    "Requirement",
    "Resolution",
    "Version",
    "VersionSpec",
    "parse_package_reference",
    "resolve",
]
