"""What the tests that use the FHIR specification's examples package share."""

from __future__ import annotations

# The FHIR specification's content rather than its examples (conformance and terminology resources):
# what the specification examples' tests and the mutation harness leave out of the examples package.
SPECIFICATION_CONTENT_TYPES = frozenset(
    {
        "CapabilityStatement",
        "CodeSystem",
        "CompartmentDefinition",
        "ConceptMap",
        "ExampleScenario",
        "GraphDefinition",
        "ImplementationGuide",
        "MessageDefinition",
        "NamingSystem",
        "OperationDefinition",
        "SearchParameter",
        "StructureDefinition",
        "StructureMap",
        "TerminologyCapabilities",
        "ValueSet",
    }
)
