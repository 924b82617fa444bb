"""Validate many payloads: in this process, or in worker processes that each build their own Validator.

A Validator holds compiled Plans and cannot be pickled, so worker processes receive what to build
(`RunSpec`: settings, FHIR version, packages, profiles) and build their Context and Validator once, at
start. Payloads travel to the workers in small batches and results come back in input order, so output
is the same whatever the number of workers.

Profiles given for a run apply by resource type: a profile for Patient applies to Patient payloads and to
the Patient entries of a Bundle. A file named on its own that none of the profiles applies to is checked
against all of them, so that a wrong profile is reported (`profile.wrong-type`) rather than skipped.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import orjson

from conformance.context import Context
from conformance.errors import ConformanceError, InputError
from conformance.fhirversion import FhirVersion
from conformance.instance import Limits, Parsed, parse
from conformance.outcome import Issue, Outcome
from conformance.reports.model import EntryPart, PayloadResult
from conformance.reports.payloads import Payload
from conformance.settings import Settings
from conformance.validation import Validator

BATCH_SIZE = 32
BATCHES_IN_FLIGHT_PER_WORKER = 4
_XML_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z][\w.-]*)")
_LOCATION_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_MAX_BYTES = Limits().max_bytes


class WorkerError(ConformanceError):
    """A worker process stopped without finishing its payloads."""


@dataclass(frozen=True)
class ContextSpec:
    """Everything needed to build the same Context in any process."""

    settings: Settings
    fhir_version: FhirVersion
    igs: tuple[str, ...] = ()
    packages: tuple[Path, ...] = ()
    extra_resources: tuple[Path, ...] = ()
    wanted_profiles: tuple[str, ...] = ()
    """Profiles to find a package for, on the package path, when no loaded package defines them."""

    def build(self) -> Context:
        context = Context.build(
            self.settings,
            self.fhir_version,
            igs=self.igs,
            packages=self.packages,
            extra_resources=self.extra_resources,
        )
        missing = [url for url in self.wanted_profiles if context.structure_definition(url) is None]
        return context.with_packages_defining(missing) if missing else context


@dataclass(frozen=True)
class RunSpec:
    """A run: how to build the Validator, and the profiles to check payloads against."""

    context: ContextSpec
    profiles: tuple[str, ...] = ()
    profile_types: tuple[tuple[str, str | None], ...] = ()
    """Each profile with the resource type it constrains (None when the profile is unknown)."""

    @classmethod
    def for_context(cls, spec: ContextSpec, context: Context, profiles: Sequence[str]) -> RunSpec:
        return cls(spec, tuple(profiles), tuple((url, _profile_type(context, url)) for url in profiles))

    def profiles_of_type(self, resource_type: str | None) -> tuple[str, ...]:
        return tuple(url for url, kind in self.profile_types if kind is None or kind == resource_type)


def _profile_type(context: Context, url: str) -> str | None:
    definition = context.structure_definition(url)
    kind = definition.get("type") if definition is not None else None
    return kind if isinstance(kind, str) else None


# ---------------------------------------------------------------- one payload


def _read(payload: Payload) -> bytes | None:
    """The payload's bytes; None for a file too large to read (the validator refuses it by path)."""
    if payload.data is not None:
        return payload.data
    try:
        if payload.path.stat().st_size > _MAX_BYTES:
            return None
        return payload.path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {payload.path}: {exc.strerror or type(exc).__name__}") from exc


def sniff_resource_type(data: bytes) -> str | None:
    """The resource type of a payload (its root element in XML); None when it cannot be read."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        match = _XML_ROOT.search(head)
        return match.group(1).decode("ascii") if match else None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    kind = document.get("resourceType") if isinstance(document, dict) else None
    return kind if isinstance(kind, str) else None


def _resource_type(data: bytes, parsed: Parsed) -> str | None:
    """The payload's resource type: of the tree read, or (XML, or JSON that could not be read) sniffed."""
    if parsed.format == "json" and parsed.resource is not None:
        return parsed.resource_type
    return sniff_resource_type(data)


def location_path(location: str) -> tuple[str | int, ...]:
    """`Patient.name[0].given[1]` -> ("name", 0, "given", 1): the JSON path below the resource root."""
    steps: list[str | int] = []
    for name, index in _LOCATION_STEP.findall(location):
        steps.append(int(index) if index else name)
    return tuple(steps[1:])


def _shift_lines(outcome: Outcome, first_line: int) -> Outcome:
    """Issues of one NDJSON line are placed on that line of the file."""
    if first_line == 1:
        return outcome
    shifted = tuple(
        issue.with_position(issue.line + first_line - 1, issue.column) if issue.line is not None else issue
        for issue in outcome.issues
    )
    return replace(outcome, issues=shifted)


class PayloadChecker:
    """Validates payloads for a run with one Validator (one per process)."""

    def __init__(self, validator: Validator, spec: RunSpec) -> None:
        self.validator = validator
        self.spec = spec

    def check(self, payload: Payload) -> PayloadResult:
        data = _read(payload)
        if data is None:
            outcome = self.validator.validate(payload.path, profiles=self.spec.profiles)
            return PayloadResult(outcome, payload.source, payload.line, profiles=self.spec.profiles)
        # One tree per payload, read once: the validator is given this one (a second tree, or orjson's
        # for sniffing, would several times over the memory of a large Bundle).
        parsed = parse(data, model=self.validator.type_model)
        resource_type = _resource_type(data, parsed)
        del data  # the Parsed keeps what its positions need (compressed, for a large payload)
        profiles = self._profiles(payload, resource_type, parsed.resource)
        outcome = self.validator.validate(parsed, profiles=profiles)
        # The entries are listed after the walk: a large Bundle's walk does not hold them as well.
        entries = self._entries(parsed.resource) if resource_type == "Bundle" else ()
        if any(entry.profiles for entry in entries):
            outcome = self._with_entry_profiles(outcome, parsed, entries)
        name = payload.source if payload.line is None else f"{payload.source}:{payload.line}"
        outcome = replace(_shift_lines(outcome, payload.line or 1), source=name)
        return PayloadResult(outcome, payload.source, payload.line, resource_type, profiles, entries)

    def _profiles(self, payload: Payload, resource_type: str | None, resource: Any) -> tuple[str, ...]:
        matching = self.spec.profiles_of_type(resource_type)
        if payload.named and not matching and not self._applies_to_an_entry(resource_type, resource):
            return self.spec.profiles
        return matching

    def _applies_to_an_entry(self, resource_type: str | None, bundle: Any) -> bool:
        """Whether a profile of the run is for the type of one of the Bundle's entries."""
        types = {kind for _, kind in self.spec.profile_types if kind is not None}
        if resource_type != "Bundle" or not types:
            return False
        found = bundle.get("entry") if isinstance(bundle, dict) else None
        return isinstance(found, list) and any(self._entry(0, entry).kind in types for entry in found)

    def _entries(self, bundle: Any) -> tuple[EntryPart, ...]:
        found = bundle.get("entry") if isinstance(bundle, dict) else None
        if not isinstance(found, list):
            return ()
        return tuple(self._entry(index, entry) for index, entry in enumerate(found))

    def _entry(self, index: int, entry: Any) -> EntryPart:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        kind = kind if isinstance(kind, str) else None
        identity = resource.get("id") if isinstance(resource, dict) else None
        profiles = tuple(url for url, t in self.spec.profile_types if t is not None and t == kind)
        return EntryPart(index, kind, identity if isinstance(identity, str) else None, profiles)

    def _with_entry_profiles(self, outcome: Outcome, bundle: Parsed, entries: Sequence[EntryPart]) -> Outcome:
        """Check the entries against the profiles of their type, placing those issues in the Bundle."""
        added: list[Issue] = []
        for index, entry in enumerate(entries):
            resource = _entry_resource(bundle.resource, index)
            if not entry.profiles or resource is None:
                continue
            checked = self.validator.validate(resource, profiles=entry.profiles)
            wanted = {url.split("|", 1)[0] for url in entry.profiles}
            added.extend(
                _rebased(issue, index, bundle)
                for issue in checked.issues
                if (issue.profile or "").split("|", 1)[0] in wanted
            )
        if not added:
            return outcome
        merged = Outcome.of(
            (*outcome.issues, *added), profiles=outcome.profiles, not_checked=outcome.not_checked
        )
        return replace(merged, source=outcome.source)


def _entry_resource(bundle: Any, index: int) -> dict[str, Any] | None:
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    resource = entry.get("resource") if isinstance(entry, dict) else None
    return resource if isinstance(resource, dict) else None


def _rebased(issue: Issue, index: int, parsed: Parsed) -> Issue:
    """An issue found on an entry's resource, placed inside the Bundle that holds it."""
    inner = location_path(issue.location)
    root = issue.location.split(".", 1)[0].split("[", 1)[0]
    location = f"Bundle.entry[{index}].resource" + issue.location[len(root) :]
    path: tuple[str | int, ...] = ("entry", index, "resource", *inner)
    position = next(
        (found for end in range(len(path), 0, -1) if (found := parsed.position(path[:end])) is not None), None
    )
    moved = replace(issue, location=location)
    return moved.with_position(*position) if position is not None else moved


# ---------------------------------------------------------------- many payloads

_worker_checker: PayloadChecker | None = None


def _start_worker(spec: RunSpec) -> None:
    global _worker_checker  # noqa: PLW0603 - one checker per worker process, built once at its start
    _worker_checker = PayloadChecker(Validator(spec.context.build()), spec)


def _check_batch(batch: Sequence[Payload]) -> list[PayloadResult]:
    if _worker_checker is None:
        raise WorkerError("worker process used before it was started")
    return [_worker_checker.check(payload) for payload in batch]


def batches(payloads: Iterable[Payload], size: int) -> Iterator[list[Payload]]:
    iterator = iter(payloads)
    while batch := list(islice(iterator, size)):
        yield batch


def _start_method() -> multiprocessing.context.BaseContext:
    """fork where it is safe (Linux, no other thread yet): workers start at once, with the modules loaded.

    Elsewhere, or once a thread runs (a progress bar), forkserver or spawn: workers start from a clean
    process. Either way each worker builds its own Context and Validator (`_start_worker`).
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["conformance.reports.runner"])
        return context
    return multiprocessing.get_context("spawn")


def _ready() -> bool:
    return _worker_checker is not None


class WorkerPool:
    """`jobs` worker processes, each with its own Validator, started when the block is entered.

    Start it before any thread (a progress bar) so that the workers can be forked.
    """

    def __init__(self, spec: RunSpec, jobs: int) -> None:
        self.spec = spec
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        self._pool = ProcessPoolExecutor(
            self.jobs, mp_context=_start_method(), initializer=_start_worker, initargs=(self.spec,)
        )
        try:
            self._pool.submit(_ready).result()  # the processes start with the first task
        except BrokenProcessPool as exc:
            self._pool.shutdown(cancel_futures=True)
            raise WorkerError(f"the worker processes could not start ({exc})") from exc
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def validate(self, payloads: Iterable[Payload]) -> Iterator[PayloadResult]:
        """Results in input order, with a bounded number of batches in flight."""
        if self._pool is None:
            raise WorkerError("the worker pool is used outside its with-block")
        window: deque[Future[list[PayloadResult]]] = deque()
        limit = self.jobs * BATCHES_IN_FLIGHT_PER_WORKER
        try:
            for batch in batches(payloads, BATCH_SIZE):
                window.append(self._pool.submit(_check_batch, batch))
                if len(window) >= limit:
                    yield from window.popleft().result()
            while window:
                yield from window.popleft().result()
        except BrokenProcessPool as exc:
            raise WorkerError(f"a worker process stopped unexpectedly ({exc})") from exc
        finally:
            for future in window:
                future.cancel()


def _in_workers(payloads: Iterable[Payload], spec: RunSpec, jobs: int) -> Iterator[PayloadResult]:
    with WorkerPool(spec, jobs) as pool:
        yield from pool.validate(payloads)


class Pool(Protocol):
    """Where many payloads are validated: worker processes here, or a cluster (reports.distributed)."""

    def validate(self, payloads: Iterable[Payload]) -> Iterator[PayloadResult]: ...


def validate_payloads(
    payloads: Iterable[Payload],
    spec: RunSpec,
    *,
    jobs: int = 1,
    validator: Validator | None = None,
    pool: Pool | None = None,
    on_result: Callable[[PayloadResult], None] | None = None,
) -> Iterator[PayloadResult]:
    """Validate `payloads` in order: in a started `pool`, else in `jobs` new worker processes, else (jobs 1)
    in this process with `validator`."""
    if pool is not None:
        results: Iterator[PayloadResult] = pool.validate(payloads)
    elif jobs <= 1:
        checker = PayloadChecker(validator or Validator(spec.context.build()), spec)
        results = (checker.check(payload) for payload in payloads)
    else:
        results = _in_workers(payloads, spec, jobs)
    for result in results:
        if on_result is not None:
            on_result(result)
        yield result
