"""The validation engine: one module per family of checks, and the validator that runs a Plan."""

from conformance.validation.engine import ValidationOptions, Validator

__all__ = ["ValidationOptions", "Validator"]
