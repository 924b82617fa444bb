"""What the tests that use the FHIR specification's examples package share."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def json_members(package: Path, largest: int) -> Iterator[tuple[str, Any]]:
    """Each JSON file of a package archive smaller than `largest` bytes, by name, parsed (None when empty)."""
    with tarfile.open(package) as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            if member.isfile() and member.name.endswith(".json") and member.size < largest:
                stream = archive.extractfile(member)
                yield member.name, json.loads(stream.read()) if stream is not None else None


def is_example(payload: Any) -> bool:
    """A resource the specification gives as an example, not one of its own definitions."""
    return isinstance(payload, dict) and payload.get("resourceType") not in SPECIFICATION_CONTENT_TYPES
