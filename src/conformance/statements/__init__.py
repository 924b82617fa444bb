"""Conformance statements: assess payloads against a standard, render, sign, verify and compare.

See docs/statements.md for the format and the rules behind each verdict.
"""

from __future__ import annotations

from conformance.statements.assess import OFFLINE, Assessor, Product, RunDetails, assess
from conformance.statements.compare import (
    Comparison,
    compare,
    render_compare_html,
    render_compare_markdown,
    render_compare_text,
)
from conformance.statements.model import STATEMENT_VERSION, Statement, TerminologySource
from conformance.statements.render_fhir import render_fhir
from conformance.statements.render_html import render_html
from conformance.statements.render_markdown import render_markdown
from conformance.statements.schema import (
    StatementError,
    read_statement,
    statement_json,
    statement_schema,
    statement_schema_text,
    write_statement,
)
from conformance.statements.signing import (
    load_private_key,
    load_public_key,
    sign,
    verify_signature,
    write_key_pair,
)
from conformance.statements.suppressions import Suppression, load_suppressions
from conformance.statements.verify import Check, Verification, verify_statement

__all__ = [
    "OFFLINE",
    "STATEMENT_VERSION",
    "Assessor",
    "Check",
    "Comparison",
    "Product",
    "RunDetails",
    "Statement",
    "StatementError",
    "Suppression",
    "TerminologySource",
    "Verification",
    "assess",
    "compare",
    "load_private_key",
    "load_public_key",
    "load_suppressions",
    "read_statement",
    "render_compare_html",
    "render_compare_markdown",
    "render_compare_text",
    "render_fhir",
    "render_html",
    "render_markdown",
    "sign",
    "statement_json",
    "statement_schema",
    "statement_schema_text",
    "verify_signature",
    "verify_statement",
    "write_key_pair",
    "write_statement",
]
