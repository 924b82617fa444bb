"""R5's abstract canonical types, as extension contexts in FHIR versions that do not have them.

The HL7 extensions pack (written against R5) gives some extensions the context `CanonicalResource` (or
`MetadataResource`, or one of their elements, `CanonicalResource.url`). R4 and STU3 have no such types;
the HL7 validator takes the name to mean the resource types of that version that are canonical
(VersionUtilities.getCanonicalResourceNames), and so does this module. The same table tells the Bundle
rules which RESTful URLs name definitions a Bundle need not carry.
"""

from __future__ import annotations

from conformance.fhirversion import FhirVersion

ABSTRACT_CANONICAL_TYPES = ("CanonicalResource", "MetadataResource")

_R4 = frozenset(
    {
        "ActivityDefinition",
        "CapabilityStatement",
        "ChargeItemDefinition",
        "CodeSystem",
        "CompartmentDefinition",
        "ConceptMap",
        "EffectEvidenceSynthesis",
        "EventDefinition",
        "Evidence",
        "EvidenceVariable",
        "ExampleScenario",
        "GraphDefinition",
        "ImplementationGuide",
        "Library",
        "Measure",
        "MessageDefinition",
        "NamingSystem",
        "OperationDefinition",
        "PlanDefinition",
        "Questionnaire",
        "ResearchDefinition",
        "ResearchElementDefinition",
        "RiskEvidenceSynthesis",
        "SearchParameter",
        "StructureDefinition",
        "StructureMap",
        "TerminologyCapabilities",
        "TestScript",
        "ValueSet",
    }
)

_STU3 = frozenset(
    {
        "ActivityDefinition",
        "CapabilityStatement",
        "CodeSystem",
        "CompartmentDefinition",
        "ConceptMap",
        "DataElement",
        "ExpansionProfile",
        "GraphDefinition",
        "ImplementationGuide",
        "Measure",
        "MessageDefinition",
        "OperationDefinition",
        "PlanDefinition",
        "Questionnaire",
        "SearchParameter",
        "ServiceDefinition",
        "StructureDefinition",
        "StructureMap",
        "TestScript",
        "ValueSet",
    }
)

CANONICAL_RESOURCE_TYPES: dict[FhirVersion, frozenset[str]] = {FhirVersion.R4: _R4, FhirVersion.STU3: _STU3}


def abstract_names(path: str, fhir_version: FhirVersion) -> set[str]:
    """The names `path` also goes by as a context: `ValueSet.url` is `CanonicalResource.url` in R4."""
    root, dot, rest = path.partition(".")
    if root not in CANONICAL_RESOURCE_TYPES.get(fhir_version, frozenset()):
        return set()
    return {name + dot + rest for name in ABSTRACT_CANONICAL_TYPES}
