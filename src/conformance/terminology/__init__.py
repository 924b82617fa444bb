"""Terminology: ValueSet expansion and code checks over loaded packages, and offline UK identifier rules.

The validator asks a `TerminologyService`; `LocalTerminology` answers from
the loaded packages without a network. See docs/terminology.md.
"""

from __future__ import annotations

from conformance.terminology.bcp import is_valid_language_tag, is_valid_mime_type
from conformance.terminology.checkdigits import nhs_number_problem, sctid_problem, verhoeff_digit
from conformance.terminology.expansion import Expansion
from conformance.terminology.identifiers import IdentifierRule, IdentifierRules, check_identifier
from conformance.terminology.members import Concept
from conformance.terminology.results import CodeCheck, CodeResult, Finding
from conformance.terminology.service import LocalTerminology, TerminologyService
from conformance.terminology.source import InMemorySource, ResourceSource
from conformance.terminology.ucum import is_valid_ucum, ucum_problem

__all__ = [
    "CodeCheck",
    "CodeResult",
    "Concept",
    "Expansion",
    "Finding",
    "IdentifierRule",
    "IdentifierRules",
    "InMemorySource",
    "LocalTerminology",
    "ResourceSource",
    "TerminologyService",
    "check_identifier",
    "is_valid_language_tag",
    "is_valid_mime_type",
    "is_valid_ucum",
    "nhs_number_problem",
    "sctid_problem",
    "ucum_problem",
    "verhoeff_digit",
]
