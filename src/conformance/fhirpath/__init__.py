"""FHIRPath for FHIR invariants: fhirpathpy, plus the FHIR functions and semantics it lacks.

    engine = FhirPathEngine(FhirVersion.R4, hooks=Hooks(resolve=...))
    expr = engine.compile("name.exists() or telecom.exists()")     # cached by text
    expr.is_satisfied(contact, resource=patient, focus_type="Patient.contact")

See docs/fhirpath.md for what is supported, the corrections applied to published
expressions, the fast paths and how an empty result is read.
"""

from __future__ import annotations

from conformance.fhirpath._navigation import Primitive
from conformance.fhirpath.engine import CompiledExpression, FhirPathEngine, result_is_true
from conformance.fhirpath.errors import FhirPathError
from conformance.fhirpath.hooks import Hooks, ResolveScope

__all__ = [
    "CompiledExpression",
    "FhirPathEngine",
    "FhirPathError",
    "Hooks",
    "Primitive",
    "ResolveScope",
    "result_is_true",
]
