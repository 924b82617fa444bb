"""Reports over Outcomes for CI: JUnit XML and SARIF 2.1.0, usable by any command.

`PayloadResult` is what every writer reads: one payload's Outcome and where the payload came from.
Runs over many payloads (files, folders, NDJSON lines, Bundles; in one process or several) are in
`conformance.reports.payloads` and `conformance.reports.runner`, imported on their own because they
need the validator. See docs/ci.md.
"""

from conformance.reports.junit import junit_xml, write_junit
from conformance.reports.model import EntryPart, PayloadResult, result_of
from conformance.reports.sarif import base_uri_of, sarif_log, write_sarif

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
