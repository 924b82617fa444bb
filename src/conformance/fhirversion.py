"""FHIR versions and their aliases.

A context, a package set and a validation run are always for exactly one FHIR
version. Technical corrections (3.0.1/3.0.2) share canonicals, so they are one
version here.
"""

from __future__ import annotations

from enum import Enum

from conformance.errors import FhirVersionError


class FhirVersion(Enum):
    R4 = "4.0.1"
    STU3 = "3.0.1"

    @property
    def label(self) -> str:
        return self.name

    @property
    def core_package(self) -> str:
        return _CORE_PACKAGES[self]

    @property
    def release_prefix(self) -> str:
        """The major.minor part every release of this version starts with."""
        return ".".join(self.value.split(".")[:2])

    @classmethod
    def parse(cls, text: str) -> FhirVersion:
        key = text.strip().upper()
        version = _ALIASES.get(key)
        if version is None:
            known = ", ".join(sorted(_ALIASES, key=str.lower))
            raise FhirVersionError(f"unknown FHIR version {text!r} (known: {known})")
        return version

    @classmethod
    def of_release(cls, release: str) -> FhirVersion | None:
        """The version a package's declared release belongs to (None for one we do not support)."""
        prefix = ".".join(release.strip().split(".")[:2])
        return _ALIASES.get(prefix.upper())

    def accepts(self, release: str) -> bool:
        return FhirVersion.of_release(release) is self

    def __str__(self) -> str:
        return self.value


_CORE_PACKAGES = {FhirVersion.R4: "hl7.fhir.r4.core", FhirVersion.STU3: "hl7.fhir.r3.core"}

_ALIASES: dict[str, FhirVersion] = {
    "R4": FhirVersion.R4,
    "4.0": FhirVersion.R4,
    "4.0.0": FhirVersion.R4,
    "4.0.1": FhirVersion.R4,
    "STU3": FhirVersion.STU3,
    "R3": FhirVersion.STU3,
    "3.0": FhirVersion.STU3,
    "3.0.0": FhirVersion.STU3,
    "3.0.1": FhirVersion.STU3,
    "3.0.2": FhirVersion.STU3,
}
