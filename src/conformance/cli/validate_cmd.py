"""`conformance validate`: validate payloads and print their outcomes, or a JUnit or SARIF report.

Payloads are files (JSON or XML), folders (searched recursively), NDJSON files (one resource a line)
and Bundles. Exit 0 when no payload has an error or fatal issue, 1 when one has, 2 for usage problems
(unknown option, missing file, packages not found).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from conformance.cli import EXIT_INVALID, EXIT_OK
from conformance.cli.options import add_package_options, settings_from
from conformance.cli.render import print_text_outcomes, progress_bar
from conformance.cli.startup import long_lived
from conformance.cli.terminology_options import (
    add_terminology_options,
    terminology_session,
    terminology_settings,
)
from conformance.context import Context
from conformance.errors import InputError, UsageError
from conformance.fhirversion import FhirVersion
from conformance.outcome import Outcome
from conformance.reports.payloads import count_payloads, discover, payloads
from conformance.reports.runner import ContextSpec, Pool, RunSpec, WorkerPool, validate_payloads
from conformance.reports.stream import JsonStream, ResultSink, TextStream, held
from conformance.validation import Validator

FORMATS = ("text", "json", "junit", "sarif")
PROGRESS_THRESHOLD = 50
"""Runs with fewer payloads than this finish before a progress bar would help."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate FHIR payloads (JSON, XML, NDJSON, folders) against base definitions and profiles",
        description="Validate FHIR payloads against the base definitions, their meta.profile and --profile. "
        "FILE may be a payload, a folder (searched recursively for .json, .xml and .ndjson files) or an "
        "NDJSON file (one resource a line).",
    )
    add_context_options(parser)
    add_terminology_options(parser)
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="CANONICAL_URL",
        help="also validate the payloads of this profile's resource type against it; repeatable",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="output: text (default), json (an OperationOutcome, or a Bundle of them), "
        "junit (JUnit XML), sarif (SARIF 2.1.0)",
    )
    parser.add_argument(
        "--output", type=Path, default=None, metavar="FILE", help="write the output to FILE, not stdout"
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="validate in N worker processes (0: one per CPU; default 1, in this process)",
    )
    parser.add_argument(
        "--dask",
        default=None,
        metavar="SCHEDULER_ADDRESS",
        help="validate on the Dask cluster whose scheduler is at this address, e.g. tcp://10.0.0.5:8786 "
        "(needs the 'dask' extra; each worker builds its Validator once)",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="payload files or folders")
    parser.set_defaults(handler=run)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r}")
    return value or os.cpu_count() or 1


def add_context_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fhir-version",
        default="4.0",
        metavar="V",
        help="FHIR version: 4.0, 4.0.1 (R4, default), 3.0, 3.0.1, 3.0.2 (STU3)",
    )
    parser.add_argument(
        "--package",
        action="append",
        default=[],
        type=Path,
        metavar="DIR_OR_TGZ",
        help="load this package (.tgz or folder) and its dependencies; repeatable",
    )
    parser.add_argument(
        "--ig",
        action="append",
        default=[],
        metavar="NAME#VERSION",
        help="load this package from the package path, cache or registry; repeatable",
    )
    parser.add_argument(
        "--extra-resources",
        action="append",
        default=[],
        type=Path,
        metavar="DIR_OR_FILE",
        help="conformance resources (profiles, value sets...) to load first; repeatable",
    )
    add_package_options(parser)


def context_spec(args: argparse.Namespace, wanted_profiles: Sequence[str] = ()) -> ContextSpec:
    """What to build the Context from, as a value worker processes can receive."""
    for path in args.extra_resources:
        if not path.exists():
            raise InputError(f"extra resources not found: {path}")
    return ContextSpec(
        settings=settings_from(args),
        fhir_version=FhirVersion.parse(args.fhir_version),
        igs=tuple(args.ig),
        packages=tuple(args.package),
        extra_resources=tuple(args.extra_resources),
        wanted_profiles=tuple(wanted_profiles),
    )


def build_context(args: argparse.Namespace, wanted_profiles: Sequence[str] = ()) -> Context:
    return context_spec(args, wanted_profiles).build()


def run(args: argparse.Namespace) -> int:
    inputs = discover(args.files)
    spec = context_spec(args, args.profile)
    with long_lived():
        context = spec.build()
    run_spec = RunSpec.for_context(spec, context, args.profile)
    total = count_payloads(inputs) if _wants_progress(inputs) else 0
    # The workers start before the progress bar's thread, so that they can be forked.
    with (
        _terminology(args, context) as terminology,
        _workers(run_spec, args.jobs, args.dask) as pool,
        _output(args.output) as stream,
    ):
        # Results are written as they arrive (memory flat in their number), except under a progress bar
        # on the same terminal, which the lines would break: those are written once the bar is gone.
        sink = _sink(args.format, context.warnings, stream, hold=total > 0 and _is_terminal(stream))
        validator = Validator(context, terminology=terminology) if pool is None else None
        with _progress(total) as advance:
            for result in validate_payloads(
                payloads(inputs), run_spec, validator=validator, pool=pool, on_result=advance
            ):
                sink.add(result)
        sink.close()
    return EXIT_OK if sink.tally.all_valid else EXIT_INVALID


@contextmanager
def _terminology(args: argparse.Namespace, context: Context) -> Iterator[Any]:
    """A terminology server or recorded answers, when asked for; else the engine's own local service."""
    settings = terminology_settings(args)
    if not (settings.tx_server or settings.tx_record or settings.tx_replay):
        yield None
        return
    if args.jobs != 1 or args.dask:
        raise UsageError(
            "a terminology server or recorded answers need --jobs 1 and no --dask (one process answers them)"
        )
    with terminology_session(args, context, settings) as service:
        yield service


def _wants_progress(inputs: Sequence[Any]) -> bool:
    # Counting NDJSON lines costs a read of each file: only worth it when a person is watching.
    return sys.stderr.isatty() and (len(inputs) >= PROGRESS_THRESHOLD or any(i.is_ndjson for i in inputs))


@contextmanager
def _workers(spec: RunSpec, jobs: int, dask_address: str | None) -> Iterator[Pool | None]:
    if dask_address:
        if jobs != 1:
            raise UsageError("--dask and --jobs do not go together: the cluster's workers are the jobs")
        from conformance.reports.distributed import DaskPool  # noqa: PLC0415 -- the optional dask extra

        with DaskPool(spec, dask_address) as cluster:
            yield cluster
        return
    if jobs <= 1:
        yield None
        return
    with WorkerPool(spec, jobs) as pool:
        yield pool


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    if total < PROGRESS_THRESHOLD:
        yield None
        return
    with progress_bar(total) as advance:
        yield advance


@contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    """Where the report goes. A file is written beside its target and put in place only when the run ends
    well: a run that fails half way leaves the previous report (or none), never a truncated one."""
    if path is None:
        yield sys.stdout
        return
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 -- closed below, on every path
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".partial", delete=False
        )
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    partial = Path(handle.name)
    report = _ReportFile(handle, path)
    placing = False
    try:
        with handle:
            yield cast(IO[str], report)
            report.flush()  # a full disk shows here: said as a write error, like any other
        placing = True
        partial.replace(path)
    except OSError as exc:
        if not (report.failed or placing):
            raise  # the validation's own (a payload that cannot be read): its message, not ours
        raise _cannot_write(path, exc) from exc
    finally:
        partial.unlink(missing_ok=True)


class _ReportFile:
    """The report's temporary file: a failed write is said as one line naming the report, while an OSError
    raised by the validation itself (a payload that cannot be read) keeps its own message."""

    def __init__(self, handle: IO[str], target: Path) -> None:
        self._handle = handle
        self._target = target
        self.failed = False

    def write(self, text: str) -> int:
        try:
            return self._handle.write(text)
        except OSError:
            self.failed = True
            raise

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._handle.flush()
        except OSError:
            self.failed = True
            raise

    def isatty(self) -> bool:
        return False


def _cannot_write(path: Path, exc: OSError) -> InputError:
    return InputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}")


def _sink(format: str, notes: Sequence[str], stream: IO[str], *, hold: bool) -> ResultSink:
    # The JUnit and SARIF writers are imported only for their own formats (the command starts faster).
    if format == "junit":
        from conformance.reports.junit import JUnitStream  # noqa: PLC0415

        return JUnitStream(stream)  # cases spooled to a temporary file; written whole at the end
    if format == "sarif":
        from conformance.reports.sarif import SarifStream, base_uri_of  # noqa: PLC0415

        return SarifStream(stream, base_uri=base_uri_of(Path.cwd()))  # results spooled; written at the end
    streamed: ResultSink
    if format == "json":
        streamed = JsonStream(stream)
    elif format == "text":
        streamed = TextStream(_print_text, notes, stream)
    else:
        raise UsageError(f"unknown output format {format!r}")
    return held(streamed) if hold else streamed


def _print_text(
    outcomes: Sequence[Outcome], names: Sequence[str], notes: Sequence[str], stream: IO[str]
) -> None:
    print_text_outcomes(outcomes, names, notes, stream=stream)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
