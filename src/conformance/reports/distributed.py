"""Validate many payloads on a Dask distributed cluster (needs the `dask` extra).

Each Dask worker process builds its Context and Validator once, the first time it receives a batch of a
run, and keeps them for the run's later batches (keyed by the run's `RunSpec`). Payloads travel as bytes,
so workers need no access to the client's files, only to the FHIR packages (their package path, cache or
registry: the same `Settings`). Results come back in input order with a bounded number of batches in
flight, so the output is the same as a local run's and memory does not grow with the number of payloads.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from conformance.errors import ConformanceError, UsageError
from conformance.reports.model import PayloadResult
from conformance.reports.payloads import Payload
from conformance.reports.runner import (
    BATCHES_IN_FLIGHT_PER_WORKER,
    PayloadChecker,
    RunSpec,
    batches,
)
from conformance.validation import Validator

_checkers: dict[RunSpec, PayloadChecker] = {}
_checkers_lock = threading.Lock()
_MAX_BYTES_SHIPPED = 64 * 1024 * 1024
_RUNS_KEPT = 4
DASK_BATCH_SIZE = 256
"""Larger than a local pool's batches: a task costs a few milliseconds of scheduling and transfer."""


class ClusterError(ConformanceError):
    """The Dask scheduler cannot be reached, or a worker failed."""


def _checker_for(spec: RunSpec) -> PayloadChecker:
    """This worker process's checker for a run, built on first use (Context and Plans once per worker)."""
    with _checkers_lock:
        checker = _checkers.get(spec)
        if checker is None:
            if len(_checkers) >= _RUNS_KEPT:  # a long-lived worker serves many runs: keep the latest few
                del _checkers[next(iter(_checkers))]
            checker = PayloadChecker(Validator(spec.context.build()), spec)
            _checkers[spec] = checker
        return checker


def check_batch_on_worker(spec: RunSpec, batch: Sequence[Payload]) -> list[PayloadResult]:
    """The task each worker runs. One Validator per worker process, used by one thread at a time."""
    checker = _checker_for(spec)
    with _checkers_lock:
        return [checker.check(payload) for payload in batch]


def _shipped(payload: Payload) -> Payload:
    """The payload with its bytes, so the worker needs no access to this machine's files."""
    if payload.data is not None:
        return payload
    try:
        if payload.path.stat().st_size > _MAX_BYTES_SHIPPED:
            return payload  # the worker refuses it by size, as a local run does
        return replace(payload, data=payload.path.read_bytes())
    except OSError:
        return payload  # the worker reports the unreadable file, as a local run does


class DaskPool:
    """Validation on the Dask cluster whose scheduler is at `address`; the same interface as WorkerPool."""

    def __init__(
        self, spec: RunSpec, address: str, *, client: Any = None, batch_size: int = DASK_BATCH_SIZE
    ) -> None:
        self.spec = spec
        self.batch_size = batch_size
        self.address = address
        self._client = client
        self._owns_client = client is None

    def __enter__(self) -> DaskPool:
        if self._client is None:
            self._client = _connect(self.address)
        return self

    def __exit__(self, *_: object) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
        self._client = None

    @property
    def workers(self) -> int:
        if self._client is None:
            raise UsageError("the Dask pool is used outside its with-block")
        return max(1, len(self._client.scheduler_info().get("workers", {})))

    def validate(self, payloads: Iterable[Payload]) -> Iterator[PayloadResult]:
        """Results in input order, with at most a few batches per worker in flight."""
        if self._client is None:
            raise UsageError("the Dask pool is used outside its with-block")
        client = self._client
        window: deque[Any] = deque()
        limit = self.workers * BATCHES_IN_FLIGHT_PER_WORKER
        try:
            for batch in batches((_shipped(p) for p in payloads), self.batch_size):
                window.append(client.submit(check_batch_on_worker, self.spec, batch, pure=False))
                if len(window) >= limit:
                    yield from _result(window.popleft())
            while window:
                yield from _result(window.popleft())
        finally:
            for future in window:
                future.cancel()


def _result(future: Any) -> list[PayloadResult]:
    try:
        found: list[PayloadResult] = future.result()
    except ConformanceError:
        raise
    except Exception as exc:
        raise ClusterError(f"a Dask worker failed: {type(exc).__name__}: {exc}") from exc
    return found


def _connect(address: str) -> Any:
    try:
        from distributed import Client  # noqa: PLC0415 -- an optional extra: only --dask needs it
    except ImportError:
        raise UsageError("--dask needs the dask extra: pip install 'fhir-conformance[dask]'") from None
    try:
        return Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc


def validate_on_dask(
    payloads: Iterable[Payload], spec: RunSpec, address: str, *, client: Any = None
) -> Iterator[PayloadResult]:
    """Validate `payloads` on the cluster at `address` (or with a connected `client`), in input order."""
    with DaskPool(spec, address, client=client) as pool:
        yield from pool.validate(payloads)
