"""The register: a static website and register.json of verified conformance statements (docs/register.md)."""

from __future__ import annotations

from conformance.register.build import DEFAULT_TITLE, build_register
from conformance.register.feed import atom_feed
from conformance.register.model import REGISTER_VERSION, Register
from conformance.register.schema import check_register_data, register_schema, register_schema_text

__all__ = [
    "DEFAULT_TITLE",
    "REGISTER_VERSION",
    "Register",
    "atom_feed",
    "build_register",
    "check_register_data",
    "register_schema",
    "register_schema_text",
]
