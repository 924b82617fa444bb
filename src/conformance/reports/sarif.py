"""SARIF 2.1.0: the static-analysis format code-scanning tools read to show issues inline.

Each issue becomes a result located by file, line and column (and by its FHIRPath location, as a logical
location); each message id becomes a rule, so a code-scanning view groups results by rule. Relative paths
stay relative to a base (`%SRCROOT%`), which is what GitHub code scanning expects of a repository checkout.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path, PurePath, PurePosixPath
from typing import IO, Any
from urllib.parse import quote

import conformance
from conformance.outcome import Issue, Severity
from conformance.reports.model import PayloadResult
from conformance.reports.stream import Spooled, Tally

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "fhir-conformance"
SRCROOT = "%SRCROOT%"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_COPY_CHUNK = 1 << 20

_LEVELS = {
    Severity.FATAL: "error",
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
}


def _artifact_location(source: str) -> dict[str, Any]:
    path = PurePosixPath(PurePath(source).as_posix())
    # surrogatepass: a file name need not be valid UTF-8, and the URI must still be written
    uri = quote(path.as_posix(), errors="surrogatepass")
    if path.is_absolute():
        return {"uri": "file://" + uri}
    return {"uri": uri, "uriBaseId": SRCROOT}


def _rule_name(message_id: str) -> str:
    """`cardinality.min` -> `CardinalityMin`: SARIF rule names are identifiers people read."""
    words = message_id.replace("-", ".").replace("_", ".").split(".")
    return "".join(word[:1].upper() + word[1:] for word in words if word)


def _rule(message_id: str, severity: Severity) -> dict[str, Any]:
    return {
        "id": message_id,
        "name": _rule_name(message_id),
        "shortDescription": {"text": f"FHIR conformance rule {message_id}"},
        "help": {
            "text": f"Issues with message id '{message_id}' from fhir-conformance; "
            "the message-id catalogue (docs/message-ids.md) says what the rule checks."
        },
        "defaultConfiguration": {"level": _LEVELS[severity]},
    }


def _fingerprint(result: PayloadResult, issue: Issue) -> str:
    """Stable across runs for the same issue at the same place, so code scanning can track it."""
    key = "\x1f".join((result.name, issue.location, issue.message_id, issue.constraint or ""))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _region(issue: Issue) -> dict[str, int] | None:
    if issue.line is None:
        return None
    region = {"startLine": issue.line}
    if issue.column is not None:
        region["startColumn"] = issue.column
    return region


def _properties(result: PayloadResult, issue: Issue) -> dict[str, Any]:
    found = {
        "fhirSeverity": issue.severity.value,
        "issueType": issue.code,
        "payload": result.name,
        "profile": issue.profile,
        "elementId": issue.element_id,
        "constraint": issue.constraint,
    }
    return {key: value for key, value in found.items() if value}


class _Run:
    """Accumulates the rules, artifacts and results of one SARIF run."""

    def __init__(self, min_severity: Severity) -> None:
        self.min_rank = min_severity.rank
        self.rules: dict[str, int] = {}
        self.rule_list: list[dict[str, Any]] = []
        self.artifacts: dict[str, int] = {}
        self.artifact_list: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []

    def add(self, result: PayloadResult) -> None:
        for issue in result.outcome.issues:
            if issue.severity.rank <= self.min_rank:
                self.results.append(self.result(result, issue))

    def _rule_index(self, issue: Issue) -> int:
        index = self.rules.get(issue.message_id)
        if index is None:
            index = self.rules[issue.message_id] = len(self.rule_list)
            self.rule_list.append(_rule(issue.message_id, issue.severity))
        return index

    def _artifact_index(self, source: str) -> int:
        index = self.artifacts.get(source)
        if index is None:
            index = self.artifacts[source] = len(self.artifact_list)
            self.artifact_list.append({"location": _artifact_location(source)})
        return index

    def _location(self, result: PayloadResult, issue: Issue) -> dict[str, Any]:
        artifact = {**_artifact_location(result.source), "index": self._artifact_index(result.source)}
        physical: dict[str, Any] = {"artifactLocation": artifact}
        region = _region(issue)
        if region is not None:
            physical["region"] = region
        location: dict[str, Any] = {"physicalLocation": physical}
        if issue.location:
            location["logicalLocations"] = [{"fullyQualifiedName": issue.location, "kind": "element"}]
        return location

    def result(self, result: PayloadResult, issue: Issue) -> dict[str, Any]:
        return {
            "ruleId": issue.message_id,
            "ruleIndex": self._rule_index(issue),
            "level": _LEVELS[issue.severity],
            "message": {"text": issue.message or issue.message_id},
            "locations": [self._location(result, issue)],
            "partialFingerprints": {"fhirIssue/v1": _fingerprint(result, issue)},
            "properties": _properties(result, issue),
        }

    def document(self, base_uri: str | None) -> dict[str, Any]:
        version = conformance.__version__  # read on first use: importing the metadata reader is slow
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": TOOL_NAME,
                    "version": version,
                    "semanticVersion": version,
                    "rules": self.rule_list,
                }
            },
            "columnKind": "unicodeCodePoints",
            "artifacts": self.artifact_list,
            "results": self.results,
        }
        if base_uri is not None:
            run["originalUriBaseIds"] = {SRCROOT: {"uri": base_uri}}
        return run


def base_uri_of(folder: Path) -> str:
    """The `file:` URI of a folder, with the trailing slash SARIF wants of a base."""
    uri = folder.resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def sarif_log(
    results: Iterable[PayloadResult],
    *,
    base_uri: str | None = None,
    min_severity: Severity = Severity.WARNING,
) -> dict[str, Any]:
    """The SARIF log (one run) for `results`, as a JSON-ready dict.

    `base_uri` is where relative payload paths start (the repository checkout, usually); information
    issues are left out unless `min_severity` is `Severity.INFORMATION`.
    """
    run = _Run(min_severity)
    for result in results:
        run.add(result)
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run.document(base_uri)]}


def write_sarif(
    results: Iterable[PayloadResult],
    stream: IO[str],
    *,
    base_uri: str | None = None,
    min_severity: Severity = Severity.WARNING,
) -> None:
    """`sarif_log` as indented JSON (the bytes of `json.dumps(log, indent=2)`), written result by result."""
    sink = SarifStream(stream, base_uri=base_uri, min_severity=min_severity)
    for result in results:
        sink.add(result)
    sink.close()


def _json(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # A lone surrogate (from a payload's text) cannot be written as UTF-8; JSON can escape it.
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_RESULT_INDENT = " " * 8  # the depth of a result in the log: runs, a run, its results
_NO_RESULTS = '"results": []'


class SarifStream(Spooled):
    """`write_sarif` as results arrive: each SARIF result is written to a spool as it is made, and the log's
    head (its rules and artifacts, known only at the end) is written at `close`, before the spooled results.

    A payload with an issue in each of 200,000 entries never has its whole log, or a dict for each of its
    results, in memory at once; nor does a run keep each payload's outcome to the end.
    """

    def __init__(
        self, stream: IO[str], *, base_uri: str | None = None, min_severity: Severity = Severity.WARNING
    ) -> None:
        self._stream = stream
        self._base_uri = base_uri
        self._run = _Run(min_severity)
        super().__init__()
        self._written = 0
        self.tally = Tally()

    def add(self, result: PayloadResult) -> None:
        self.tally.count(result)
        run = self._run
        for issue in result.outcome.issues:
            if issue.severity.rank <= run.min_rank:
                text = _json(run.result(result, issue)).replace("\n", "\n" + _RESULT_INDENT)
                separator = ",\n" if self._written else "\n"
                self._spool.write((separator + _RESULT_INDENT + text).encode("utf-8"))
                self._written += 1

    def _write(self) -> None:
        log = {
            "$schema": SARIF_SCHEMA,
            "version": SARIF_VERSION,
            "runs": [self._run.document(self._base_uri)],
        }
        head, _, tail = _json(log).partition(_NO_RESULTS)  # `results` is the only key of that name
        if not self._written:
            self._stream.write(head + _NO_RESULTS + tail + "\n")
            return
        self._stream.write(head + '"results": [')
        self._spool.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        while chunk := self._spool.read(_COPY_CHUNK):
            self._stream.write(decoder.decode(chunk))
        self._stream.write("\n" + _RESULT_INDENT[:-2] + "]" + tail + "\n")
