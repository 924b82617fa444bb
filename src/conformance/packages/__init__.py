"""FHIR packages: loading (.tgz, folders, caches), dependency resolution, registry, safe extraction."""

from __future__ import annotations

from conformance.packages.archive import ExtractionLimits
from conformance.packages.index import IndexEntry
from conformance.packages.package import Manifest, Package
from conformance.packages.registry import Registry
from conformance.packages.resolve import Requirement, Resolution, resolve
from conformance.packages.store import Candidate, PackageStore
from conformance.packages.versions import Version, VersionSpec, parse_package_reference

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
