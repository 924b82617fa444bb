"""Reports over Outcomes for CI: JUnit XML and SARIF 2.1.0, usable by any command.

`PayloadResult` is what every writer reads: one payload's Outcome and where the payload came from.
Runs over many payloads (files, folders, NDJSON lines, Bundles; in one process or several) are in
`conformance.reports.payloads` and `conformance.reports.runner`, imported on their own because they
need the validator. See docs/ci.md.
"""

from typing import TYPE_CHECKING, Any

from conformance.reports.model import EntryPart, PayloadResult, result_of

if TYPE_CHECKING:  # for type checkers the names are plain imports; at run time see __getattr__ below
    from conformance.reports.junit import junit_xml, write_junit
    from conformance.reports.sarif import base_uri_of, sarif_log, write_sarif

# The JUnit and SARIF writers are imported when first asked for: a run that writes text or JSON (and every
# `conformance validate` start) does without them.
_LAZY = {
    "junit_xml": "conformance.reports.junit",
    "write_junit": "conformance.reports.junit",
    "base_uri_of": "conformance.reports.sarif",
    "sarif_log": "conformance.reports.sarif",
    "write_sarif": "conformance.reports.sarif",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module  # noqa: PLC0415

    return getattr(import_module(module), name)


__all__ = [
    "EntryPart",
    "PayloadResult",
    "base_uri_of",
    "junit_xml",
    "result_of",
    "sarif_log",
    "write_junit",
    "write_sarif",
]
