"""Procurement frameworks as data: the standards a product must meet, and who qualifies.

See docs/frameworks.md.
"""

from __future__ import annotations

from conformance.frameworks.check import Qualification, RequirementOutcome, product_of, qualify
from conformance.frameworks.consistency import (
    Inconsistency,
    inconsistencies,
    ranges_overlap,
    unknown_requirements,
)
from conformance.frameworks.lifecycle import KnownStandards, StandardFacts, status_of, version_of
from conformance.frameworks.loading import (
    available_frameworks,
    builtin_folder,
    framework_from_dict,
    load_framework,
    read_framework,
)
from conformance.frameworks.model import Framework, Requirement
from conformance.frameworks.submissions import (
    Submission,
    TrustedKeys,
    load_trusted_keys,
    take_in,
    take_in_all,
)

__all__ = [
    "Framework",
    "Inconsistency",
    "KnownStandards",
    "Qualification",
    "Requirement",
    "RequirementOutcome",
    "StandardFacts",
    "Submission",
    "TrustedKeys",
    "available_frameworks",
    "builtin_folder",
    "framework_from_dict",
    "inconsistencies",
    "load_framework",
    "load_trusted_keys",
    "product_of",
    "qualify",
    "ranges_overlap",
    "read_framework",
    "status_of",
    "take_in",
    "take_in_all",
    "unknown_requirements",
    "version_of",
]
