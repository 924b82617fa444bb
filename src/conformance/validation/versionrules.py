"""What differs between FHIR versions and the definitions cannot say: one small table per version.

Everything else that differs (datatypes, choice types, primitive regexes, invariants, slicing, extension
contexts) comes from each version's own StructureDefinitions, so the checks themselves never ask which
version they run on.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.fhirversion import FhirVersion


@dataclass(frozen=True)
class VersionRules:
    # Where a document Bundle's date lives, when no invariant of the version checks it (R4 has bdl-10).
    document_date: tuple[str, ...] | None


RULES: dict[FhirVersion, VersionRules] = {
    FhirVersion.R4: VersionRules(document_date=None),
    # STU3 has no Bundle.timestamp: a document's date is when it was assembled, Bundle.meta.lastUpdated.
    FhirVersion.STU3: VersionRules(document_date=("meta", "lastUpdated")),
}


def rules_for(version: FhirVersion) -> VersionRules:
    return RULES[version]
