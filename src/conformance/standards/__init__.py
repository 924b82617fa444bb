"""Standards as data: which packages and profiles make up a named standard (see docs/standards.md)."""

from __future__ import annotations

from conformance.standards.loading import (
    available_standards,
    builtin_folder,
    load_standard,
    read_standard,
    standard_from_dict,
)
from conformance.standards.model import PackageRequirement, ProfileRequirement, Standard, bare_canonical

__all__ = [
    "PackageRequirement",
    "ProfileRequirement",
    "Standard",
    "available_standards",
    "bare_canonical",
    "builtin_folder",
    "load_standard",
    "read_standard",
    "standard_from_dict",
]
