"""Exceptions for misuse and for broken inputs the caller controls.

Problems *in a payload* are never exceptions: they are issues in an Outcome.
Every exception here carries a one-line message fit to show a user as is.
"""

from __future__ import annotations


class ConformanceError(Exception):
    """Base class: a one-line, user-facing message."""


class UsageError(ConformanceError):
    """The caller asked for something malformed (bad option value, unknown version)."""


class FhirVersionError(ConformanceError):
    """A FHIR version string is unknown, or two FHIR versions would be mixed."""


class PackageError(ConformanceError):
    """A FHIR package cannot be read, found, resolved or installed."""


class PackageNotFoundError(PackageError):
    """No source (folder, cache, registry) has the package asked for."""


class DependencyError(PackageError):
    """A dependency of a package cannot be satisfied."""


class UnsafeArchiveError(PackageError):
    """A package archive holds something that must not be extracted."""


class IntegrityError(PackageError):
    """A downloaded archive does not match the hash its registry published."""


class RegistryError(PackageError):
    """The package registry could not be reached or answered nonsense."""


class OfflineError(PackageError):
    """Network access was needed but offline mode forbids it."""


class InputError(ConformanceError):
    """A file the caller named cannot be read."""
