"""The one exception of the FHIRPath adapter."""

from __future__ import annotations

from conformance.errors import ConformanceError


class FhirPathError(ConformanceError):
    """An expression cannot be compiled, or its evaluation failed (one-line reason)."""
