"""fhir-conformance: validate FHIR payloads against published profiles and write conformance statements."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from conformance.errors import ConformanceError
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue, Outcome, Severity
from conformance.settings import Settings

try:
    __version__ = version("fhir-conformance")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = ["ConformanceError", "FhirVersion", "Issue", "Outcome", "Settings", "Severity", "__version__"]
