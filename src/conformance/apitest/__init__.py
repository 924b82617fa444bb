"""Testing a supplier's live FHIR API against a standard, every exchange kept as evidence.

See docs/api-testing.md for what is tested, how to run it, and the evidence format.
"""

from __future__ import annotations

from conformance.apitest.auth import (
    Auth,
    AuthError,
    BackendServices,
    BearerAuth,
    ClientCredentials,
    NoAuth,
)
from conformance.apitest.client import ApiClient, ApiClientError, Politeness
from conformance.apitest.profiles import Limits
from conformance.apitest.run import ServerTester, ServerTestOptions, assess_server

__all__ = [
    "ApiClient",
    "ApiClientError",
    "Auth",
    "AuthError",
    "BackendServices",
    "BearerAuth",
    "ClientCredentials",
    "Limits",
    "NoAuth",
    "Politeness",
    "ServerTestOptions",
    "ServerTester",
    "assess_server",
]
