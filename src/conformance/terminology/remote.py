"""A FHIR terminology server as a `TerminologyService`: `$validate-code`, `$expand`, `$lookup`, `metadata`.

`RemoteTerminology` asks a server (the NHS England Terminology Server,
tx.fhir.org, any FHIR R4 or STU3 terminology server) what the loaded packages
cannot answer: SNOMED CT, LOINC and dm+d membership and existence. It never
turns a failure into a false error: a server that cannot be reached, that
times out, fails or answers nonsense gives "unknown" (not checked) with the
reason in the message. Every answer carries its `Provenance`: the server and
the code system version that decided it (for SNOMED CT, edition and release).

Value sets that the loaded packages define are sent with the question (the
`valueSet` parameter), so the server judges the definition being validated
against rather than whatever copy it holds. Answers are cached for the life
of the object; `validate_codes` asks many questions at once, in batch Bundles
when the server supports them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import httpx

from conformance.fhirversion import FhirVersion
from conformance.outcome import Severity
from conformance.terminology import results as r
from conformance.terminology.answers import (
    SERVER_ERROR,
    SERVER_UNAVAILABLE,
    AnswerSource,
    CodeQuestion,
    CodeSystemVersion,
    Provenance,
    TerminologySource,
    provenance_of,
    sorted_versions,
    traced,
)
from conformance.terminology.expansion import Expansion, label
from conformance.terminology.oauth import ClientCredentials
from conformance.terminology.parameters import (
    Param,
    as_query,
    build,
    codeable_concept,
    is_primitive,
    uri,
)
from conformance.terminology.parameters import code as code_param
from conformance.terminology.replies import (
    ConceptDetails,
    Judge,
    ServerInfo,
    Validation,
    operation_outcome_text,
    read_capability_statement,
    read_code_systems,
    read_expansion,
    read_lookup,
    read_validation,
    said,
)
from conformance.terminology.results import CodeCheck, CodeResult, qualified
from conformance.terminology.source import ResourceSource, split_canonical
from conformance.terminology.transport import (
    FhirHttp,
    FhirResponse,
    HttpOptions,
    ServerFailed,
    ServerUnavailable,
)

SERVER_NOT_FOUND = "terminology.server.not-found"


@dataclass(frozen=True)
class RemoteOptions:
    """How to use the server; `http` says how hard to try (timeouts, retries, concurrency)."""

    http: HttpOptions = field(default_factory=HttpOptions)
    display_mismatch_is_warning: bool = False
    send_valuesets: bool = True  # send the loaded packages' ValueSet definitions with each question
    batch_size: int = 50  # questions per batch Bundle
    expansion_limit: int = 1000  # codes asked for in one $expand
    cache_size: int = 100_000  # answers kept for the life of the client


@dataclass(frozen=True)
class _Wording:
    """How one kind of question names its answers."""

    subject: str  # 'the code http://snomed.info/sct#123'
    where: str  # "the value set 'x'", "the code system http://loinc.org"
    valid_id: str
    invalid_id: str
    invalid_hint: Severity | None = None
    member: str = "is in"
    non_member: str = "is not in"

    @property
    def the_subject(self) -> str:
        """The subject at the start of a sentence."""
        return self.subject[:1].upper() + self.subject[1:]

    def valid(self) -> str:
        return f"{self.the_subject} {self.member} {self.where}"

    def invalid(self) -> str:
        return f"{self.the_subject} {self.non_member} {self.where}"


@dataclass(frozen=True)
class _Asked:
    """What was sent, as far as judging the reply needs it."""

    system: str | None
    version: str | None
    display: str | None  # the display(s) sent, to name in a wrong-display finding


class _Cache:
    """A bounded, thread-safe map of answers; the oldest are dropped first."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            return self._items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class RemoteTerminology:
    """A FHIR terminology server; thread-safe, and cheap until the first question (no socket before)."""

    def __init__(
        self,
        url: str,
        *,
        fhir_version: FhirVersion = FhirVersion.R4,
        source: ResourceSource | None = None,
        options: RemoteOptions | None = None,
        credentials: ClientCredentials | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options or RemoteOptions()
        self.fhir_version = fhir_version
        self.source = source
        self.http = FhirHttp(
            url,
            options=self.options.http,
            credentials=credentials,
            transport=transport,
            sleep=sleep,
            clock=clock,
        )
        self._info: ServerInfo | None = None
        self._info_lock = threading.Lock()
        self._answers = _Cache(self.options.cache_size)
        self._used: set[CodeSystemVersion] = set()
        self._used_lock = threading.Lock()
        self._valuesets: dict[str, Mapping[str, Any] | None] = {}

    def __repr__(self) -> str:
        return f"RemoteTerminology({self.url!r})"

    @property
    def url(self) -> str:
        """The server's base URL as it may be shown: without credentials."""
        return self.http.public_url

    def close(self) -> None:
        self.http.close()

    # --- what the server is ---------------------------------------------------------------------

    def server_info(self) -> ServerInfo:
        """The server's software, FHIR version, batch support and code system versions (asked once)."""
        with self._info_lock:
            if self._info is None:
                self._info = self._fetch_info()
            return self._info

    def _fetch_info(self) -> ServerInfo:
        try:
            info = read_capability_statement(self.url, self.http.get("metadata").body)
        except ServerFailed:
            return ServerInfo(self.url)
        try:
            systems = read_code_systems(self.http.get("metadata", [("mode", "terminology")]).body)
        except ServerFailed:
            systems = ()  # STU3 servers and some others have no TerminologyCapabilities
        return replace(info, code_systems=systems)

    def describe(self) -> TerminologySource:
        """The server and the code system versions that decided this run's answers so far."""
        info = self._info or ServerInfo(self.url)
        with self._used_lock:
            used = sorted_versions(self._used)
        return TerminologySource(
            kind=AnswerSource.SERVER.value,
            server=self.url,
            software=info.software,
            fhir_version=info.fhir_version,
            code_systems=used,
        )

    def _provenance(self, system: str | None, version: str | None) -> Provenance:
        info = self._info or ServerInfo(self.url)
        return Provenance(
            AnswerSource.SERVER,
            server=self.url,
            software=info.software,
            system=system,
            system_version=version or info.default_version(system),
        )

    def _judge(self, system: str | None, version: str | None) -> Judge:
        return Judge(self._provenance(system, version), self.options.display_mismatch_is_warning)

    # --- the TerminologyService calls --------------------------------------------------------------

    def validate_code(
        self,
        valueset_url: str,
        *,
        system: str | None,
        code: str,
        display: str | None = None,
        version: str | None = None,
    ) -> CodeResult:
        if not code:
            return r.invalid(r.NO_CODE, "No code was provided", issue_type="required")
        return self._answer(CodeQuestion(valueset_url, system, code, display, version))

    def validate_coding_in_codesystem(
        self, system: str, code: str, display: str | None, version: str | None = None
    ) -> CodeResult:
        if not code:
            return r.invalid(
                r.NO_CODE, f"No code was provided for the system {system}", issue_type="required"
            )
        wording = _Wording(
            f"the code {qualified(system, code)}",
            f"the code system {label(system, version)}",
            r.CODE_VALID,
            r.UNKNOWN_CODE,
            Severity.ERROR,
            member="is defined in",
            non_member="is not defined in",
        )
        params: list[Param] = [
            ("url", uri(system)),
            ("code", code_param(code)),
            ("version", version),
            ("display", display),
        ]
        return self._cached(
            ("codesystem", system, code, display, version),
            wording,
            partial(
                self._judged, wording, "CodeSystem/$validate-code", params, _Asked(system, version, display)
            ),
        )

    def check_codeable_concept(self, valueset_url: str, codings: Sequence[Mapping[str, Any]]) -> CodeResult:
        coded = [dict(c) for c in codings if isinstance(c, Mapping) and _str(c.get("code"))]
        if not coded:
            return r.invalid(
                r.NO_CODE,
                f"No code was provided, and a code from the value set {valueset_url} is expected",
                issue_type="required",
            )
        shown = ", ".join(qualified(_str(c.get("system")), str(c["code"])) for c in coded)
        wording = _Wording(
            f"one of the codings ({shown})",
            f"the value set {self._valueset_label(valueset_url)}",
            r.IN_VALUESET,
            r.NONE_IN_VALUESET,
        )
        params = [*self._valueset_params(valueset_url), ("codeableConcept", codeable_concept(coded))]
        displays = ", ".join(str(c["display"]) for c in coded if isinstance(c.get("display"), str))
        asked = _Asked(_str(coded[0].get("system")), None, displays or None)
        key = (
            "concept",
            valueset_url,
            tuple(tuple(sorted((k, str(v)) for k, v in c.items())) for c in coded),
        )
        ask = partial(self._judged, wording, "ValueSet/$validate-code", params, asked)
        return self._cached(key, wording, ask)

    def expand(self, valueset_url: str) -> Expansion | None:
        """The server's expansion (up to `expansion_limit` codes); None when it cannot give one."""
        key = ("expand", valueset_url)
        found = self._answers.get(key)
        if isinstance(found, Expansion):
            return found
        params = [*self._valueset_params(valueset_url), ("count", self.options.expansion_limit)]
        try:
            body = self._call("ValueSet/$expand", params).body
        except (ServerUnavailable, ServerFailed):
            return None
        expansion = read_expansion(body, split_canonical(valueset_url)[0], self.options.expansion_limit)
        if expansion is not None:
            self._answers.put(key, expansion)
        return expansion

    def lookup(self, system: str, code: str, version: str | None = None) -> ConceptDetails | None:
        """What the server knows of one code (display, designations, inactive); None when it cannot say."""
        params: list[Param] = [("system", uri(system)), ("code", code_param(code)), ("version", version)]
        try:
            self._ensure_info()
            body = self.http.get("CodeSystem/$lookup", as_query(params)).body
        except (ServerUnavailable, ServerFailed):
            return None
        details = read_lookup(body, system, code, self._provenance(system, version))
        if details is not None and details.provenance is not None:
            self._note_version(details.provenance)
        return details

    def check_identifier(self, system: str, value: str) -> CodeResult | None:
        """Identifier rules are local (see LocalTerminology); a server has none."""
        return None

    # --- many questions at once ---------------------------------------------------------------------

    def validate_codes(self, questions: Sequence[CodeQuestion]) -> tuple[CodeResult, ...]:
        """The answers to many membership questions, in order: cached ones at once, the rest batched."""
        answers: dict[CodeQuestion, CodeResult] = {}
        pending: list[CodeQuestion] = []
        for question in dict.fromkeys(questions):
            known = self._answers.get(("valueset", question))
            if not question.code:
                answers[question] = self.validate_code(question.valueset, system=question.system, code="")
            elif isinstance(known, CodeResult):
                answers[question] = known
            else:
                pending.append(question)
        if pending:
            answers.update(self._ask_many(pending))
        return tuple(answers[question] for question in questions)

    def _ask_many(self, pending: Sequence[CodeQuestion]) -> dict[CodeQuestion, CodeResult]:
        try:
            info = self.server_info()
        except ServerUnavailable as exc:
            return {q: self._outage(self._membership_wording(q), exc) for q in pending}
        if info.batch:
            answers: dict[CodeQuestion, CodeResult] = {}
            size = max(1, self.options.batch_size)
            for start in range(0, len(pending), size):
                answers.update(self._ask_batch(pending[start : start + size]))
            return answers
        workers = max(1, self.options.http.max_concurrent)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tx") as pool:
            return dict(zip(pending, pool.map(self._answer, pending), strict=True))

    def _ask_batch(self, chunk: Sequence[CodeQuestion]) -> dict[CodeQuestion, CodeResult]:
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {
                    "request": {"method": "POST", "url": "ValueSet/$validate-code"},
                    "resource": build(self._membership_params(question)),
                }
                for question in chunk
            ],
        }
        try:
            response = self.http.post("", bundle)
        except ServerUnavailable as exc:
            return {q: self._outage(self._membership_wording(q), exc) for q in chunk}
        except ServerFailed:
            return {q: self._answer(q) for q in chunk}  # batches refused after all: one by one
        entries = _batch_entries(response.body)
        if len(entries) != len(chunk):
            return {q: self._answer(q) for q in chunk}
        return {q: self._batch_answer(q, entry) for q, entry in zip(chunk, entries, strict=True)}

    def _batch_answer(self, question: CodeQuestion, entry: Mapping[str, Any]) -> CodeResult:
        wording = self._membership_wording(question)
        status, resource = _entry_status(entry), entry.get("resource")

        def judge() -> CodeResult:
            if status != 200:
                raise ServerFailed(f"the server {self.url} answered HTTP {status}", status, resource)
            asked = _Asked(question.system, question.version, question.display)
            reask = self._reask("ValueSet/$validate-code", self._membership_params(question), asked)
            return self._judge_reading(wording, _reading(resource, self.url), asked, reask)

        return self._cached(("valueset", question), wording, judge)

    # --- one membership question -------------------------------------------------------------------

    def _answer(self, question: CodeQuestion) -> CodeResult:
        wording = self._membership_wording(question)
        params = self._membership_params(question)
        asked = _Asked(question.system, question.version, question.display)
        return self._cached(
            ("valueset", question),
            wording,
            partial(self._judged, wording, "ValueSet/$validate-code", params, asked),
        )

    def _membership_wording(self, question: CodeQuestion) -> _Wording:
        return _Wording(
            f"the code {qualified(question.system, question.code)}",
            f"the value set {self._valueset_label(question.valueset)}",
            r.IN_VALUESET,
            r.NOT_IN_VALUESET,
        )

    def _membership_params(self, question: CodeQuestion) -> list[Param]:
        version_name = "version" if self.fhir_version is FhirVersion.STU3 else "systemVersion"
        return [
            *self._valueset_params(question.valueset),
            ("code", code_param(question.code)),
            ("system", uri(question.system) if question.system else None),
            (version_name, question.version),
            ("display", question.display),
        ]

    # --- asking and judging ---------------------------------------------------------------------------

    def _judged(self, wording: _Wording, path: str, params: Sequence[Param], asked: _Asked) -> CodeResult:
        reading = self._validate(path, params)
        return self._judge_reading(wording, reading, asked, self._reask(path, params, asked))

    def _reask(self, path: str, params: Sequence[Param], asked: _Asked) -> Callable[[], Validation] | None:
        """The same question without displays, asked only if the first reply cannot tell why it failed."""
        if asked.display is None:
            return None
        plain = [_without_displays(name, value) for name, value in params if name != "display"]
        return partial(self._validate, path, plain)

    def _judge_reading(
        self,
        wording: _Wording,
        reading: Validation,
        asked: _Asked,
        reask: Callable[[], Validation] | None,
    ) -> CodeResult:
        judge = self._judge(reading.system or asked.system, reading.version or asked.version)
        if reading.result or reading.display_only:
            return judge.result(
                CodeCheck.VALID, wording.valid_id, wording.valid(), reading=reading
            ).with_issues(*judge.findings(reading))
        if reading.cannot_check:
            return judge.result(
                CodeCheck.UNKNOWN,
                SERVER_NOT_FOUND,
                f"{wording.the_subject} could not be checked against {wording.where}{said(reading)}",
                issue_type="not-found",
            )
        if not reading.errors and reask is not None:
            # A server that does not type its issues: ask again without the display to tell the two apart.
            second = reask()
            if second.result:
                finding = judge.display_finding(asked.display or "", second.display, wording.subject)
                return judge.result(
                    CodeCheck.VALID, wording.valid_id, wording.valid(), reading=second
                ).with_issues(finding)
        return judge.result(
            CodeCheck.INVALID,
            wording.invalid_id,
            wording.invalid() + said(reading, repeated=reading.errors),
            reading=reading,
            hint=wording.invalid_hint,
        ).with_issues(*judge.findings(reading))

    def _validate(self, path: str, params: Sequence[Param]) -> Validation:
        return _reading(self._call(path, params).body, self.url)

    def _call(self, path: str, params: Sequence[Param]) -> FhirResponse:
        self._ensure_info()
        if is_primitive(params):
            return self.http.get(path, as_query(params))
        return self.http.post(path, build(params))

    def _ensure_info(self) -> None:
        # Provenance needs the server's code system versions; a failure here is the question's failure.
        self.server_info()

    def _cached(self, key: Hashable, wording: _Wording, ask: Callable[[], CodeResult]) -> CodeResult:
        found = self._answers.get(key)
        if isinstance(found, CodeResult):
            return found
        try:
            result = ask()
        except ServerUnavailable as exc:
            return self._outage(wording, exc)  # not kept: the server may be back for the next question
        except ServerFailed as exc:
            result = self._failure(wording, exc)
        self._answers.put(key, result)
        provenance = provenance_of(result)
        if provenance is not None and result.message_id != SERVER_ERROR:
            self._note_version(provenance)
        return result

    def _note_version(self, provenance: Provenance) -> None:
        if provenance.system is None:
            return
        with self._used_lock:
            self._used.add(CodeSystemVersion(provenance.system, provenance.system_version))

    def _outage(self, wording: _Wording, exc: ServerUnavailable) -> CodeResult:
        result = r.unknown(
            SERVER_UNAVAILABLE,
            f"{wording.the_subject} was not checked against {wording.where}: {exc}",
        )
        return traced(result, Provenance(AnswerSource.SERVER, server=self.url))

    def _failure(self, wording: _Wording, exc: ServerFailed) -> CodeResult:
        detail = operation_outcome_text(exc.body)
        reason = f"{exc}" + (f": {detail}" if detail else "")
        subject = wording.the_subject
        if exc.status == 404:
            result = r.unknown(
                SERVER_NOT_FOUND,
                f"{subject} was not checked: the terminology server {self.url} does not know "
                f"{wording.where} ({reason})",
                issue_type="not-found",
            )
        else:
            result = r.unknown(SERVER_ERROR, f"{subject} was not checked against {wording.where}: {reason}")
        return traced(result, Provenance(AnswerSource.SERVER, server=self.url))

    # --- value sets sent with the questions ----------------------------------------------------------

    def _valueset_params(self, valueset_url: str) -> list[Param]:
        url, version = split_canonical(valueset_url)
        resource = self._local_valueset(valueset_url)
        if resource is not None:
            return [("valueSet", resource)]
        if version is None:
            return [("url", uri(url))]
        if self.fhir_version is FhirVersion.STU3:
            return [("url", uri(valueset_url))]
        return [("url", uri(url)), ("valueSetVersion", version)]

    def _local_valueset(self, valueset_url: str) -> Mapping[str, Any] | None:
        if self.source is None or not self.options.send_valuesets:
            return None
        if valueset_url not in self._valuesets:
            url, version = split_canonical(valueset_url)
            found = self.source.resolve(url, version)
            usable = isinstance(found, Mapping) and found.get("resourceType") == "ValueSet"
            # The narrative is for people; the server needs only the definition.
            self._valuesets[valueset_url] = (
                {k: v for k, v in found.items() if k != "text"} if usable and found is not None else None
            )
        return self._valuesets[valueset_url]

    def _valueset_label(self, valueset_url: str) -> str:
        url, version = split_canonical(valueset_url)
        resource = self._local_valueset(valueset_url)
        title = resource.get("title") if resource is not None else None
        return label(url, version, title if isinstance(title, str) else None)


def _reading(body: Any, server: str) -> Validation:
    reading = read_validation(body)
    if reading is None:
        raise ServerFailed(f"the server {server} answered $validate-code without a result")
    return reading


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _without_displays(name: str, value: Any) -> Param:
    """A codeableConcept parameter without its displays (other parameters as they are)."""
    if name != "codeableConcept":
        return (name, value)
    codings = value.value.get("coding", [])
    return (name, codeable_concept([{k: v for k, v in c.items() if k != "display"} for c in codings]))


def _batch_entries(body: Any) -> list[Mapping[str, Any]]:
    if not isinstance(body, Mapping) or body.get("resourceType") != "Bundle":
        return []
    entries = body.get("entry")
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []


def _entry_status(entry: Mapping[str, Any]) -> int:
    response = entry.get("response")
    status = response.get("status") if isinstance(response, Mapping) else None
    digits = str(status or "").strip().split(" ", 1)[0]
    return int(digits) if digits.isdigit() else 0
