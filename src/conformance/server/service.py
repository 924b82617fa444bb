"""Validation for the server: one Validator, off the event loop, with admission and time limits.

The Validator (its Context and compiled Plans) is built once at start and used from one worker thread:
validation is CPU-bound Python, so more threads would not validate faster, and one thread keeps the
Validator's caches single-writer. Requests are admitted up to `max_concurrent` at once (reading their
body, waiting or validating); one more is answered 503 at once rather than queued without bound. A
request that is not answered within `request_seconds` is answered 408; its validation still holds its
admission until it ends, so a flood of slow payloads cannot pile up work behind the answers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conformance.context import Context
from conformance.errors import UsageError
from conformance.outcome import Outcome
from conformance.reports.payloads import Payload
from conformance.reports.runner import ContextSpec, PayloadChecker, RunSpec
from conformance.server.operation import Posted, read_request
from conformance.validation import Validator

_PAYLOAD_NAME = Path("$validate")


@dataclass(frozen=True)
class ServerLimits:
    """What one request may cost the server."""

    max_body_bytes: int = 16 * 1024 * 1024
    request_seconds: float = 60.0
    """From the first byte of the body to the answer: a slow upload and a slow validation alike."""
    max_concurrent: int = 8
    """Requests admitted at once; one more is answered 503 with Retry-After."""

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1 or self.max_concurrent < 1 or not self.request_seconds > 0:
            raise UsageError("server limits must be positive (body bytes, seconds, concurrent requests)")


@dataclass
class Admission:
    """One request's place; the validation it starts takes the place over."""

    handed_to_validation: bool = False


class Busy(Exception):
    """More requests than `max_concurrent` are in the server."""


class TooSlow(Exception):
    """The request was not answered within `request_seconds`."""


class ValidationService:
    """Validates `$validate` requests exactly as `conformance validate` validates one file."""

    def __init__(self, spec: ContextSpec, context: Context, limits: ServerLimits) -> None:
        self.spec = spec
        self.context = context
        self.limits = limits
        self.validator = Validator(context)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conformance-validate")
        self._admitted = 0
        self._lock = threading.Lock()

    @contextmanager
    def admission(self) -> Iterator[Admission]:
        """Hold one of the `max_concurrent` places for the life of a request, or raise Busy."""
        with self._lock:
            if self._admitted >= self.limits.max_concurrent:
                raise Busy
            self._admitted += 1
        admission = Admission()
        try:
            yield admission
        finally:
            if not admission.handed_to_validation:
                self._release()

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1

    async def validate(self, posted: Posted, admission: Admission, deadline_seconds: float) -> Outcome:
        """Read and validate in the worker thread; TooSlow when it does not end within the deadline.

        The request's place is handed to the validation itself, so that a validation the answer gave
        up on still counts until it has ended.
        """
        future = self._executor.submit(self.validate_now, posted)
        admission.handed_to_validation = True
        future.add_done_callback(lambda _: self._release())
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), deadline_seconds)
        except TimeoutError:
            raise TooSlow from None

    def validate_now(self, posted: Posted) -> Outcome:
        """Validate one call here and now; RequestError when the call itself is wrong."""
        request = read_request(posted, self.validator.type_model)
        run = RunSpec.for_context(self.spec, self.context, request.profiles)
        if isinstance(request.payload, bytes):
            payload = Payload(_PAYLOAD_NAME, named=True, data=request.payload)
            return PayloadChecker(self.validator, run).check(payload).outcome
        profiles = run.profiles_of_type(request.resource_type) or run.profiles
        return self.validator.validate(request.payload, profiles=profiles)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
