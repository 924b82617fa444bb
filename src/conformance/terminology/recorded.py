"""Recorded terminology answers: save every answer of a run, replay them later with no network.

A `Recorder` wraps any terminology service and keeps each question with its
answer; `save` writes them as one canonical JSON file (sorted keys, answers in
the order of their questions, no timestamps), so two recordings of the same
run are byte-identical. A `Replayer` answers from such a file without any
network: a question that is not in it is "unknown", with a message saying so.
The format is described in docs/terminology-servers.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from conformance.terminology import results as r
from conformance.terminology.answers import (
    NOT_IN_RECORDING,
    AnswerSource,
    CodeQuestion,
    CodeSystemVersion,
    Provenance,
    RecordingError,
    TerminologySource,
    describe,
    expansion_from_dict,
    expansion_to_dict,
    provenance_of,
    result_from_dict,
    result_to_dict,
    sorted_versions,
    traced,
)
from conformance.terminology.composite import ask_each
from conformance.terminology.expansion import Expansion
from conformance.terminology.replies import ConceptDetails
from conformance.terminology.results import CodeResult, qualified
from conformance.terminology.service import TerminologyService

FORMAT = "fhir-conformance/terminology-recording"
FORMAT_VERSION = 1
MAX_RECORDING_BYTES = 256 * 1024 * 1024
CODING_KEYS = ("system", "version", "code", "display")

Question = dict[str, Any]

# --- questions -----------------------------------------------------------------------------------------


def _question(operation: str, **values: Any) -> Question:
    return {"op": operation, **{key: value for key, value in values.items() if value is not None}}


def membership_question(question: CodeQuestion) -> Question:
    return _question(
        "validate-code",
        valueSet=question.valueset,
        system=question.system,
        code=question.code,
        display=question.display,
        version=question.version,
    )


def _codings(codings: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The codings as asked: only their text fields, so a question's key does not depend on the rest."""
    return [
        {key: coding[key] for key in CODING_KEYS if isinstance(coding.get(key), str)}
        for coding in codings
        if isinstance(coding, Mapping)
    ]


def question_key(question: Question) -> str:
    return json.dumps(question, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def describe_question(question: Question) -> str:
    """A phrase naming the question, for the "not in the recording" message."""
    operation = question.get("op")
    if operation == "validate-code":
        return (
            f"is {qualified(question.get('system'), str(question.get('code')))} in {question.get('valueSet')}"
        )
    if operation == "codeable-concept":
        shown = ", ".join(qualified(c.get("system"), str(c.get("code"))) for c in question.get("codings", []))
        return f"is any of ({shown}) in {question.get('valueSet')}"
    if operation == "validate-coding":
        return f"is {qualified(question.get('system'), str(question.get('code')))} a code of its system"
    if operation == "identifier":
        return f"is '{question.get('value')}' a valid {question.get('system')} identifier"
    return f"{operation} of {question.get('valueSet') or question.get('system')}"


# --- answers of each kind, as data ---------------------------------------------------------------------


def _details_to_dict(details: ConceptDetails) -> dict[str, Any]:
    data: dict[str, Any] = {"system": details.system, "code": details.code}
    optional = {"display": details.display, "version": details.version, "name": details.name}
    data.update({key: value for key, value in optional.items() if value is not None})
    if details.designations:
        data["designations"] = list(details.designations)
    if details.inactive is not None:
        data["inactive"] = details.inactive
    if details.provenance is not None:
        data["provenance"] = details.provenance.to_dict()
    return data


def _details_from_dict(data: Any) -> ConceptDetails:
    if not isinstance(data, Mapping) or not isinstance(data.get("system"), str):
        raise RecordingError("a recorded lookup is not an object with a system")
    provenance = data.get("provenance")
    inactive = data.get("inactive")
    return ConceptDetails(
        system=data["system"],
        code=str(data.get("code", "")),
        display=_text(data.get("display")),
        version=_text(data.get("version")),
        name=_text(data.get("name")),
        designations=tuple(d for d in data.get("designations", []) if isinstance(d, str)),
        inactive=inactive if isinstance(inactive, bool) else None,
        provenance=Provenance.from_dict(provenance).replayed() if provenance is not None else None,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class _Kind:
    """How answers to one operation are written and read back."""

    write: Callable[[Any], Any]
    read: Callable[[Any], Any]


def _optional(kind: _Kind) -> _Kind:
    """An answer that may be None (no expansion, no identifier rule, nothing looked up)."""
    return _Kind(
        write=lambda value: None if value is None else kind.write(value),
        read=lambda data: None if data is None else kind.read(data),
    )


_RESULT = _Kind(result_to_dict, result_from_dict)
KINDS: Mapping[str, _Kind] = {
    "validate-code": _RESULT,
    "validate-coding": _RESULT,
    "codeable-concept": _RESULT,
    "identifier": _optional(_RESULT),
    "expand": _optional(_Kind(expansion_to_dict, expansion_from_dict)),
    "lookup": _optional(_Kind(_details_to_dict, _details_from_dict)),
}


# --- the file ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """Answers by question key (answers kept as written, so a recording reads and writes back unchanged)."""

    answers: Mapping[str, tuple[Question, Any]] = field(default_factory=dict)
    terminology: Mapping[str, Any] | None = None  # what answered, as `TerminologySource.to_dict()`
    name: str = "recording"
    sha256: str | None = None

    def dumps(self) -> str:
        document: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "answers": [
                {"question": question, "answer": answer}
                for _, (question, answer) in sorted(self.answers.items())
            ],
        }
        if self.terminology is not None:
            document["terminology"] = dict(self.terminology)
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self, path: Path) -> None:
        """Written whole or not at all: a run interrupted while saving leaves the old file as it was."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as sink:
                sink.write(self.dumps())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> Recording:
        try:
            size = path.stat().st_size
            if size > MAX_RECORDING_BYTES:
                raise RecordingError(f"{path} is larger than {MAX_RECORDING_BYTES} bytes: not a recording")
            data = path.read_bytes()
        except OSError as exc:
            raise RecordingError(f"cannot read the terminology recording {path}: {exc.strerror}") from None
        return cls.loads(data, name=path.name)

    @classmethod
    def loads(cls, data: bytes | str, *, name: str = "recording") -> Recording:
        raw = data.encode() if isinstance(data, str) else data
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            raise RecordingError(f"{name} is not a terminology recording: it is not JSON") from None
        _check_header(document, name)
        answers: dict[str, tuple[Question, Any]] = {}
        for index, entry in enumerate(_entries(document, name)):
            question, answer = _entry(entry, index, name)
            answers.setdefault(question_key(question), (question, answer))
        terminology = document.get("terminology")
        return cls(
            answers=MappingProxyType(answers),
            terminology=terminology if isinstance(terminology, Mapping) else None,
            name=name,
            sha256=hashlib.sha256(raw).hexdigest(),
        )

    def answer(self, question: Question) -> tuple[bool, Any]:
        """(found, the answer read back as a value)."""
        found = self.answers.get(question_key(question))
        if found is None:
            return False, None
        return True, KINDS[question["op"]].read(found[1])


def _check_header(document: Any, name: str) -> None:
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise RecordingError(f'{name} is not a terminology recording (no "format": "{FORMAT}")')
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise RecordingError(f"{name} has no format version")
    if version > FORMAT_VERSION:
        raise RecordingError(
            f"{name} is a version {version} recording; this tool reads version {FORMAT_VERSION}"
        )
    if version < 1:
        raise RecordingError(f"{name} has an unknown format version {version}")


def _entries(document: Mapping[str, Any], name: str) -> list[Any]:
    entries = document.get("answers")
    if not isinstance(entries, list):
        raise RecordingError(f"{name} has no list of answers")
    return entries


def _entry(entry: Any, index: int, name: str) -> tuple[Question, Any]:
    where = f"{name}, answer {index + 1}"
    if not isinstance(entry, Mapping) or not isinstance(entry.get("question"), Mapping):
        raise RecordingError(f"{where}: not an object with a question")
    question = dict(entry["question"])
    kind = KINDS.get(str(question.get("op")))
    if kind is None:
        raise RecordingError(f"{where}: unknown operation {question.get('op')!r}")
    try:
        kind.read(entry.get("answer"))  # read once now, so a broken file fails before the run starts
    except RecordingError as exc:
        raise RecordingError(f"{where}: {exc}") from None
    return question, entry.get("answer")


# --- recording -----------------------------------------------------------------------------------------


class Recorder:
    """A terminology service that keeps every answer the service it wraps gives; thread-safe."""

    def __init__(self, service: TerminologyService, path: Path | None = None) -> None:
        self.service = service
        self.path = path
        self._answers: dict[str, tuple[Question, Any]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Recorder({self.service!r}, {self.path!s})"

    def _keep(self, question: Question, value: Any) -> Any:
        written = KINDS[question["op"]].write(value)
        with self._lock:
            self._answers.setdefault(question_key(question), (question, written))
        return value

    def validate_code(
        self,
        valueset_url: str,
        *,
        system: str | None,
        code: str,
        display: str | None = None,
        version: str | None = None,
    ) -> CodeResult:
        answer = self.service.validate_code(
            valueset_url, system=system, code=code, display=display, version=version
        )
        kept: CodeResult = self._keep(
            membership_question(CodeQuestion(valueset_url, system, code, display, version)), answer
        )
        return kept

    def validate_coding_in_codesystem(
        self, system: str, code: str, display: str | None, version: str | None = None
    ) -> CodeResult:
        answer = self.service.validate_coding_in_codesystem(system, code, display, version)
        question = _question("validate-coding", system=system, code=code, display=display, version=version)
        kept: CodeResult = self._keep(question, answer)
        return kept

    def check_codeable_concept(self, valueset_url: str, codings: Sequence[Mapping[str, Any]]) -> CodeResult:
        answer = self.service.check_codeable_concept(valueset_url, codings)
        question = _question("codeable-concept", valueSet=valueset_url, codings=_codings(codings))
        kept: CodeResult = self._keep(question, answer)
        return kept

    def expand(self, valueset_url: str) -> Expansion | None:
        kept: Expansion | None = self._keep(
            _question("expand", valueSet=valueset_url), self.service.expand(valueset_url)
        )
        return kept

    def check_identifier(self, system: str, value: str) -> CodeResult | None:
        kept: CodeResult | None = self._keep(
            _question("identifier", system=system, value=value), self.service.check_identifier(system, value)
        )
        return kept

    def lookup(self, system: str, code: str, version: str | None = None) -> ConceptDetails | None:
        lookup = getattr(self.service, "lookup", None)
        found = lookup(system, code, version) if callable(lookup) else None
        details = found if isinstance(found, ConceptDetails) else None
        kept: ConceptDetails | None = self._keep(
            _question("lookup", system=system, code=code, version=version), details
        )
        return kept

    def validate_codes(self, questions: Sequence[CodeQuestion]) -> tuple[CodeResult, ...]:
        answers = ask_each(self.service, questions)
        for question, answer in zip(questions, answers, strict=True):
            self._keep(membership_question(question), answer)
        return answers

    @property
    def recording(self) -> Recording:
        """What has been recorded so far."""
        with self._lock:
            answers = dict(self._answers)
        return Recording(answers=MappingProxyType(answers), terminology=describe(self.service).to_dict())

    def describe(self) -> TerminologySource:
        return describe(self.service)

    def save(self, path: Path | None = None) -> Path:
        target = path or self.path
        if target is None:
            raise RecordingError("no file was given to save the terminology recording in")
        self.recording.save(target)
        return target

    def close(self) -> None:
        """Save (when a file was given), then close the wrapped service."""
        try:
            if self.path is not None:
                self.save()
        finally:
            closer = getattr(self.service, "close", None)
            if callable(closer):
                closer()


# --- replaying -----------------------------------------------------------------------------------------


class Replayer:
    """A terminology service that answers from a recording, never from the network."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    @classmethod
    def from_file(cls, path: Path) -> Replayer:
        return cls(Recording.load(path))

    def __repr__(self) -> str:
        return f"Replayer({self.recording.name!r})"

    def _replayed_result(self, question: Question) -> CodeResult:
        found, answer = self.recording.answer(question)
        if not found:
            return r.unknown(
                NOT_IN_RECORDING,
                f"Not checked: the question ({describe_question(question)}) is not in the terminology "
                f"recording {self.recording.name}",
            )
        result: CodeResult = answer
        provenance = provenance_of(result)
        return traced(result, provenance.replayed() if provenance else Provenance(AnswerSource.RECORDING))

    def validate_code(
        self,
        valueset_url: str,
        *,
        system: str | None,
        code: str,
        display: str | None = None,
        version: str | None = None,
    ) -> CodeResult:
        return self._replayed_result(
            membership_question(CodeQuestion(valueset_url, system, code, display, version))
        )

    def validate_coding_in_codesystem(
        self, system: str, code: str, display: str | None, version: str | None = None
    ) -> CodeResult:
        return self._replayed_result(
            _question("validate-coding", system=system, code=code, display=display, version=version)
        )

    def check_codeable_concept(self, valueset_url: str, codings: Sequence[Mapping[str, Any]]) -> CodeResult:
        return self._replayed_result(
            _question("codeable-concept", valueSet=valueset_url, codings=_codings(codings))
        )

    def expand(self, valueset_url: str) -> Expansion | None:
        _, answer = self.recording.answer(_question("expand", valueSet=valueset_url))
        return answer if isinstance(answer, Expansion) else None

    def check_identifier(self, system: str, value: str) -> CodeResult | None:
        question = _question("identifier", system=system, value=value)
        found, answer = self.recording.answer(question)
        if found:
            return answer if isinstance(answer, CodeResult) else None
        return self._replayed_result(question)

    def lookup(self, system: str, code: str, version: str | None = None) -> ConceptDetails | None:
        _, answer = self.recording.answer(_question("lookup", system=system, code=code, version=version))
        return answer if isinstance(answer, ConceptDetails) else None

    def validate_codes(self, questions: Sequence[CodeQuestion]) -> tuple[CodeResult, ...]:
        return tuple(self._replayed_result(membership_question(question)) for question in questions)

    def describe(self) -> TerminologySource:
        recorded = self.recording.terminology or {}
        return TerminologySource(
            kind=AnswerSource.RECORDING.value,
            server=_text(recorded.get("server")),
            software=_text(recorded.get("software")),
            fhir_version=_text(recorded.get("fhirVersion")),
            code_systems=self._versions(),
            recording=self.recording.name,
            recording_sha256=self.recording.sha256,
        )

    def _versions(self) -> tuple[CodeSystemVersion, ...]:
        found: list[CodeSystemVersion] = []
        for _, answer in self.recording.answers.values():
            provenance = answer.get("provenance") if isinstance(answer, Mapping) else None
            if isinstance(provenance, Mapping) and isinstance(provenance.get("system"), str):
                found.append(CodeSystemVersion(provenance["system"], _text(provenance.get("systemVersion"))))
        return sorted_versions(found)

    def close(self) -> None:
        """Nothing to release: a recording is read whole when loaded."""
