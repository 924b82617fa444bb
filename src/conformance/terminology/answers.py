"""Where a terminology answer came from, and answers as plain data (for recordings).

A result from a terminology server carries its `Provenance`: the server, its
software, and the version of the code system that decided it (for SNOMED CT,
the edition and release). `TracedResult` is a `CodeResult` with that one
extra field, so everything that reads a `CodeResult` reads it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from conformance.errors import ConformanceError
from conformance.outcome import Severity
from conformance.terminology.expansion import Expansion
from conformance.terminology.members import Concept, Members
from conformance.terminology.results import CodeCheck, CodeResult, Finding
from conformance.terminology.systems import SNOMED_CT

# Message ids added by the server client and the recordings (catalogued in docs/terminology.md).
SERVER_UNAVAILABLE = "terminology.server.unavailable"
SERVER_ERROR = "terminology.server.error"
SERVER_NOTE = "terminology.server.note"
NOT_IN_RECORDING = "terminology.not-in-recording"

# Editions named in provenance; any other module id is shown as a number.
SNOMED_EDITIONS = {
    "900000000000207008": "International Edition",
    "83821000000107": "UK Edition",
    "999000021000000109": "UK Clinical Edition",
}
_SNOMED_VERSION = re.compile(r"^http://snomed\.info/sct/(\d+)(?:/version/(\d{8}))?$")


class AnswerSource(StrEnum):
    LOCAL = "local"
    SERVER = "server"
    RECORDING = "recording"


class RecordingError(ConformanceError):
    """A terminology recording cannot be read, or is not a recording this version understands."""


def public_url(url: str) -> str:
    """`url` without user name, password, query or fragment: what may be shown and recorded."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def snomed_edition(version: str | None) -> str | None:
    """'UK Edition, release 20250101' from a SNOMED CT version URI; None for anything else."""
    match = _SNOMED_VERSION.match(version or "")
    if match is None:
        return None
    module, release = match.groups()
    edition = SNOMED_EDITIONS.get(module, f"edition {module}")
    return f"{edition}, release {release}" if release else edition


@dataclass(frozen=True)
class CodeQuestion:
    """Is `system#code` (with this display, of this code system version) in the value set?"""

    valueset: str
    system: str | None
    code: str
    display: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Provenance:
    """Who answered, and with which version of the code system."""

    source: AnswerSource
    server: str | None = None  # the server's base URL, without credentials
    software: str | None = None  # the server software's name and version, as it reports them
    system: str | None = None
    system_version: str | None = None

    @property
    def edition(self) -> str | None:
        return snomed_edition(self.system_version) if self.system == SNOMED_CT else None

    def describe(self) -> str:
        """A short phrase for messages: 'terminology server https://x/fhir, SNOMED CT UK Edition...'."""
        who = f"terminology server {self.server}" if self.server else "the local definitions"
        if self.source is AnswerSource.RECORDING:
            who = f"a recording of {who}"
        if self.system_version is None:
            return who
        if self.edition is not None:
            return f"{who}, SNOMED CT {self.edition}"
        return f"{who}, {self.system or 'code system'} version {self.system_version}"

    def to_dict(self) -> dict[str, Any]:
        data = {
            "source": self.source.value,
            "server": self.server,
            "software": self.software,
            "system": self.system,
            "systemVersion": self.system_version,
        }
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Any) -> Provenance:
        mapping = _mapping(data, "provenance")
        try:
            source = AnswerSource(str(mapping.get("source")))
        except ValueError:
            raise RecordingError(f"unknown answer source {mapping.get('source')!r}") from None
        return cls(
            source=source,
            server=_optional_str(mapping, "server"),
            software=_optional_str(mapping, "software"),
            system=_optional_str(mapping, "system"),
            system_version=_optional_str(mapping, "systemVersion"),
        )

    def replayed(self) -> Provenance:
        return replace(self, source=AnswerSource.RECORDING)


@dataclass(frozen=True)
class TracedResult(CodeResult):
    """A `CodeResult` that says who gave it (a server, or a recording of one)."""

    provenance: Provenance | None = None


def provenance_of(result: CodeResult) -> Provenance | None:
    """The provenance of any result: None for answers made from the local definitions."""
    return result.provenance if isinstance(result, TracedResult) else None


def traced(result: CodeResult, provenance: Provenance | None) -> CodeResult:
    """`result` with `provenance` attached (a plain CodeResult when there is none)."""
    values = {f.name: getattr(result, f.name) for f in fields(CodeResult)}
    if provenance is None:
        return CodeResult(**values)
    return TracedResult(**values, provenance=provenance)


@dataclass(frozen=True)
class CodeSystemVersion:
    """A code system version a server holds (from its TerminologyCapabilities) or used for an answer."""

    system: str
    version: str | None = None
    is_default: bool = False

    @property
    def edition(self) -> str | None:
        return snomed_edition(self.version) if self.system == SNOMED_CT else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"system": self.system}
        if self.version is not None:
            data["version"] = self.version
        if self.edition is not None:
            data["edition"] = self.edition
        return data


@dataclass(frozen=True)
class TerminologySource:
    """What answered the terminology questions of a run, for a conformance statement's environment."""

    kind: str  # "local", "server", "recording", or "local+server" / "local+recording"
    server: str | None = None
    software: str | None = None
    fhir_version: str | None = None
    code_systems: tuple[CodeSystemVersion, ...] = ()  # the versions that decided answers
    recording: str | None = None  # the recording file's name, for a replay
    recording_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        optional = {
            "server": self.server,
            "software": self.software,
            "fhirVersion": self.fhir_version,
            "recording": self.recording,
            "recordingSha256": self.recording_sha256,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        if self.code_systems:
            data["codeSystems"] = [version.to_dict() for version in self.code_systems]
        return data


LOCAL_SOURCE = TerminologySource(kind="local")


def sorted_versions(versions: Iterable[CodeSystemVersion]) -> tuple[CodeSystemVersion, ...]:
    unique = dict.fromkeys(versions)
    return tuple(sorted(unique, key=lambda v: (v.system, v.version or "", not v.is_default)))


def describe(service: object) -> TerminologySource:
    """What a terminology service is, for a statement: any service that cannot say is taken as local."""
    describer = getattr(service, "describe", None)
    if callable(describer):
        found = describer()
        if isinstance(found, TerminologySource):
            return found
    return LOCAL_SOURCE


# --- answers as plain data --------------------------------------------------------------------------


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "severity": finding.severity.value,
        "issueType": finding.issue_type,
        "messageId": finding.message_id,
        "message": finding.message,
    }


def finding_from_dict(data: Any) -> Finding:
    mapping = _mapping(data, "finding")
    return Finding(
        severity=_severity(mapping.get("severity")),
        issue_type=_required_str(mapping, "issueType"),
        message_id=_required_str(mapping, "messageId"),
        message=_required_str(mapping, "message"),
    )


def result_to_dict(result: CodeResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": result.status.value,
        "messageId": result.message_id,
        "message": result.message,
        "issueType": result.issue_type,
    }
    optional = {
        "severityHint": result.severity_hint.value if result.severity_hint else None,
        "system": result.system,
        "display": result.display,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    if result.issues:
        data["issues"] = [finding_to_dict(finding) for finding in result.issues]
    provenance = provenance_of(result)
    if provenance is not None:
        data["provenance"] = provenance.to_dict()
    return data


def result_from_dict(data: Any) -> CodeResult:
    mapping = _mapping(data, "answer")
    try:
        status = CodeCheck(str(mapping.get("status")))
    except ValueError:
        raise RecordingError(f"unknown answer status {mapping.get('status')!r}") from None
    hint = mapping.get("severityHint")
    result = CodeResult(
        status=status,
        message_id=_required_str(mapping, "messageId"),
        message=_required_str(mapping, "message"),
        severity_hint=_severity(hint) if hint is not None else None,
        issues=tuple(finding_from_dict(item) for item in _list(mapping.get("issues"), "issues")),
        issue_type=_required_str(mapping, "issueType"),
        system=_optional_str(mapping, "system"),
        display=_optional_str(mapping, "display"),
    )
    provenance = mapping.get("provenance")
    return traced(result, Provenance.from_dict(provenance)) if provenance is not None else result


def concept_to_dict(concept: Concept) -> dict[str, Any]:
    data: dict[str, Any] = {"system": concept.system, "code": concept.code}
    optional = {"display": concept.display, "version": concept.version, "status": concept.status}
    data.update({key: value for key, value in optional.items() if value is not None})
    if concept.designations:
        data["designations"] = list(concept.designations)
    if concept.abstract:
        data["abstract"] = True
    return data


def concept_from_dict(data: Any) -> Concept:
    mapping = _mapping(data, "concept")
    designations = _list(mapping.get("designations"), "designations")
    return Concept(
        system=_required_str(mapping, "system"),
        code=_required_str(mapping, "code"),
        display=_optional_str(mapping, "display"),
        version=_optional_str(mapping, "version"),
        designations=tuple(str(item) for item in designations if isinstance(item, str)),
        status=_optional_str(mapping, "status"),
        abstract=mapping.get("abstract") is True,
    )


def expansion_to_dict(expansion: Expansion) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": expansion.url,
        "title": expansion.title,
        "complete": expansion.complete,
        "decidable": expansion.decidable,
        "contains": [concept_to_dict(concept) for concept in expansion.contains],
    }
    if expansion.version is not None:
        data["version"] = expansion.version
    if expansion.notes:
        data["notes"] = list(expansion.notes)
    return data


def expansion_from_dict(data: Any) -> Expansion:
    mapping = _mapping(data, "expansion")
    contains = tuple(concept_from_dict(item) for item in _list(mapping.get("contains"), "contains"))
    return make_expansion(
        url=_required_str(mapping, "url"),
        version=_optional_str(mapping, "version"),
        title=_required_str(mapping, "title"),
        contains=contains,
        complete=mapping.get("complete") is True,
        notes=tuple(str(note) for note in _list(mapping.get("notes"), "notes") if isinstance(note, str)),
    )


def make_expansion(
    *,
    url: str,
    version: str | None,
    title: str,
    contains: tuple[Concept, ...],
    complete: bool,
    notes: tuple[str, ...] = (),
) -> Expansion:
    """An expansion someone else made (a server, a recording): only what it lists is known."""
    members = Members.of(contains)
    if not complete:
        # Codes beyond those listed may still be members: "cannot tell", never "no".
        members = Members(definite=dict(members.definite), open_any=True, notes=list(notes))
    return Expansion(
        url=url,
        version=version,
        title=title,
        contains=contains,
        complete=complete,
        decidable=complete,
        notes=notes,
        members=members,
    )


# --- reading plain data strictly ----------------------------------------------------------------------


def _mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise RecordingError(f"a recorded {what} is not an object")
    return data


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordingError(f"recorded '{what}' is not a list")
    return value


def _required_str(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str):
        raise RecordingError(f"recorded '{key}' is missing or not a string")
    return value


def _optional_str(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if value is not None and not isinstance(value, str):
        raise RecordingError(f"recorded '{key}' is not a string")
    return value


def _severity(value: Any) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise RecordingError(f"unknown severity {value!r}") from None
