"""The server's CapabilityStatement: the `$validate` operation and the packages it validates with."""

from __future__ import annotations

from typing import Any

from conformance import __version__
from conformance.context import Context

VALIDATE_DEFINITION = "http://hl7.org/fhir/OperationDefinition/Resource-validate"
_SOFTWARE = "fhir-conformance"


def capability_statement(context: Context, started: str) -> dict[str, Any]:
    """What `GET [base]/metadata` answers: an instance CapabilityStatement of this server."""
    packages = [package.id for package in context.packages]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": started,
        "kind": "instance",
        "software": {"name": _SOFTWARE, "version": __version__},
        "implementation": {
            "description": "FHIR validation server; packages loaded: " + ", ".join(packages),
        },
        "fhirVersion": context.fhir_version.value,
        "format": ["application/fhir+json", "application/fhir+xml"],
        "rest": [
            {
                "mode": "server",
                "documentation": "POST a resource, or a Parameters resource holding it, to $validate.",
                "operation": [{"name": "validate", "definition": VALIDATE_DEFINITION}],
            }
        ],
    }
