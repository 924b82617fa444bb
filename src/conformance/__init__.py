"""fhir-conformance: validate FHIR payloads against published profiles and write conformance statements."""

from __future__ import annotations

from typing import Any

from conformance.errors import ConformanceError
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue, Outcome, Severity
from conformance.settings import Settings


def __getattr__(name: str) -> Any:
    # The version is read from the installed metadata on first use: importlib.metadata costs tens of
    # milliseconds, which a one-file `conformance validate` should not pay.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            found = version("fhir-conformance")
        except PackageNotFoundError:  # running from a source tree that was not installed
            found = "0.0.0"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ConformanceError", "FhirVersion", "Issue", "Outcome", "Settings", "Severity", "__version__"]
