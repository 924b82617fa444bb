"""JUnit XML: one test case per payload and profile, grouped in one test suite per file.

CI servers (GitLab, Jenkins, Azure DevOps, GitHub test-report actions) read this format to show which
payloads failed and why. A test case fails when its payload has an error or fatal issue that counts for
that profile: issues produced by the profile's own rules, and issues no requested profile produced (the
base definition's rules, parse errors). A Bundle gives a test case for the Bundle itself and one for each
entry. Warnings go to the test case's system-out.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from conformance.outcome import Issue, Severity
from conformance.reports.model import PayloadResult
from conformance.reports.stream import Spooled, Tally
from conformance.reports.text import count_text, issues_text

SUITES_NAME = "conformance validate"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_COPY_CHUNK = 1 << 20
# XML 1.0 cannot carry most C0 control characters, even escaped; payload text can contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class JUnitCase:
    classname: str
    name: str
    failures: tuple[Issue, ...]
    warnings: tuple[Issue, ...]

    @property
    def failed(self) -> bool:
        return bool(self.failures)


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _base_url(canonical: str | None) -> str:
    return (canonical or "").split("|", 1)[0]


def _counts_for(issue: Issue, profile: str | None, requested: Sequence[str]) -> bool:
    """Does the issue count against `profile` (None: the base definition), given the requested profiles?"""
    produced_by = _base_url(issue.profile)
    if produced_by in requested:
        return produced_by == profile
    return True


def cases_for(
    classname: str, kind: str | None, profiles: Sequence[str], issues: Sequence[Issue]
) -> Iterator[JUnitCase]:
    """Test cases for one payload (or Bundle entry): one per requested profile, else one for its base."""
    requested = [_base_url(p) for p in profiles]
    targets: list[str | None] = list(requested) if requested else [None]
    for target in targets:
        counted = [issue for issue in issues if _counts_for(issue, target, requested)]
        yield JUnitCase(
            classname=classname,
            name=target or f"{kind or 'resource'} (base definition and meta.profile)",
            failures=tuple(issue for issue in counted if issue.severity.is_error),
            warnings=tuple(issue for issue in counted if issue.severity is Severity.WARNING),
        )


def junit_cases(result: PayloadResult) -> Iterator[JUnitCase]:
    if not result.entries:
        yield from cases_for(result.name, result.resource_type, result.profiles, result.outcome.issues)
        return
    outside, held = result.issues_by_entry()
    yield from cases_for(result.name, result.resource_type, result.profiles, outside)
    for entry, issues in zip(result.entries, held, strict=True):
        yield from cases_for(f"{result.name} {entry.label}", None, entry.profiles, issues)


def _case_element(case: JUnitCase) -> ET.Element:
    element = ET.Element("testcase", {"classname": _xml_text(case.classname), "name": _xml_text(case.name)})
    if case.failures:
        first = case.failures[0]
        summary = (
            f"{count_text(case.failures + case.warnings)}; first: [{first.message_id}] at {first.location}"
        )
        failure = ET.SubElement(element, "failure", {"message": _xml_text(summary), "type": first.message_id})
        failure.text = _xml_text(issues_text(case.failures))
    if case.warnings:
        ET.SubElement(element, "system-out").text = _xml_text(issues_text(case.warnings))
    return element


def _suite_element(name: str, cases: Sequence[JUnitCase]) -> ET.Element:
    failures = sum(1 for case in cases if case.failed)
    suite = ET.Element(
        "testsuite",
        {
            "name": _xml_text(name),
            "tests": str(len(cases)),
            "failures": str(failures),
            "errors": "0",
            "skipped": "0",
        },
    )
    suite.extend(_case_element(case) for case in cases)
    return suite


def junit_element(results: Iterable[PayloadResult], *, name: str = SUITES_NAME) -> ET.Element:
    suites: dict[str, list[JUnitCase]] = {}
    for result in results:
        suites.setdefault(result.source, []).extend(junit_cases(result))
    root = ET.Element("testsuites", {"name": _xml_text(name)})
    root.extend(_suite_element(source, cases) for source, cases in suites.items())
    all_cases = [case for cases in suites.values() for case in cases]
    root.set("tests", str(len(all_cases)))
    root.set("failures", str(sum(1 for case in all_cases if case.failed)))
    root.set("errors", "0")
    return root


def junit_xml(results: Iterable[PayloadResult], *, name: str = SUITES_NAME) -> str:
    """The JUnit XML document for `results`, as text (UTF-8, with an XML declaration)."""
    root = junit_element(results, name=name)
    ET.indent(root)
    return _DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: Iterable[PayloadResult], stream: IO[str], *, name: str = SUITES_NAME) -> None:
    stream.write(junit_xml(results, name=name))


@dataclass
class _Suite:
    """One file's test cases, written to the spool: their counts and where they are in it."""

    name: str
    tests: int = 0
    failures: int = 0
    spans: list[list[int]] = field(default_factory=list)
    """[start, end) byte ranges of the spool; consecutive cases of the suite share one."""


class JUnitStream(Spooled):
    """`write_junit`, with the test cases spooled to a temporary file as results arrive.

    JUnit gives every suite's counts, and the totals, before its cases, so the cases are written to the
    spool (each as `ET.indent` lays it out inside the whole document) and only counts and byte ranges are
    kept; `close` writes the counts and copies the cases. The output is `junit_xml`'s, byte for byte.
    """

    def __init__(self, stream: IO[str], *, name: str = SUITES_NAME) -> None:
        self._stream = stream
        self._name = name
        super().__init__()
        self._suites: dict[str, _Suite] = {}
        self.tally = Tally()

    def add(self, result: PayloadResult) -> None:
        self.tally.count(result)
        suite = self._suites.setdefault(result.source, _Suite(result.source))
        for case in junit_cases(result):
            element = _case_element(case)
            ET.indent(element, level=2)  # the depth of a test case in the document
            start = self._spool.tell()
            # each case on a line of its own, indented as inside the whole document
            self._spool.write(("\n    " + ET.tostring(element, encoding="unicode")).encode("utf-8"))
            end = self._spool.tell()
            if suite.spans and suite.spans[-1][1] == start:
                suite.spans[-1][1] = end
            else:
                suite.spans.append([start, end])
            suite.tests += 1
            suite.failures += case.failed

    def _write(self) -> None:
        suites = list(self._suites.values())
        root = {
            "name": _xml_text(self._name),
            "tests": str(sum(suite.tests for suite in suites)),
            "failures": str(sum(suite.failures for suite in suites)),
            "errors": "0",
        }
        out = self._stream
        if not suites:
            out.write(_DECLARATION + ET.tostring(ET.Element("testsuites", root), encoding="unicode") + "\n")
            return
        out.write(_DECLARATION + _start_tag("testsuites", root))
        for suite in suites:
            out.write("\n  " + _start_tag("testsuite", _suite_attributes(suite)))
            self._copy_cases(suite)
            out.write("\n  </testsuite>")
        out.write("\n</testsuites>\n")

    def _copy_cases(self, suite: _Suite) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")()
        for start, end in suite.spans:
            self._spool.seek(start)
            remaining = end - start
            while remaining:
                chunk = self._spool.read(min(remaining, _COPY_CHUNK))
                remaining -= len(chunk)
                self._stream.write(decoder.decode(chunk))


def _suite_attributes(suite: _Suite) -> dict[str, str]:
    return {
        "name": _xml_text(suite.name),
        "tests": str(suite.tests),
        "failures": str(suite.failures),
        "errors": "0",
        "skipped": "0",
    }


def _start_tag(tag: str, attributes: dict[str, str]) -> str:
    """`<tag a="...">` with the attribute escaping ElementTree's serialiser uses."""
    empty = ET.tostring(ET.Element(tag, attributes), encoding="unicode")
    return empty.removesuffix(" />") + ">"
