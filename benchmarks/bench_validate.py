"""Validation throughput, the one-file command's time and peak memory, beside baselines in the same run.

    python benchmarks/bench_validate.py [--count 10000] [--rounds 3] [--runs 10] [--package-path DIR]
                                        [--skip-throughput] [--build compiled|sources]

Workload: the UK Core STU2 example instances, replicated to --count resources (each parsed from its JSON
bytes and validated against the UK Core profile it exemplifies). Baselines, on the same bytes in the same
run: json.loads (the floor: reading the JSON at all), fhirkit-rs (Rust, R4 structure only; skipped with a
line when it is not installed: pip install fhirkit-rs) and fhir.resources R4B models (the way a Python
service typically "validates" today). The systems take turns for --rounds rounds and each keeps its fastest
pass by CPU time, so load from other work falls on all of them alike; ratios are of CPU times.

--build compiled (the default) measures the validation core as a wheel installs it, compiled by mypyc
(benchmarks/compiled_build.py); --build sources, the package as it imports here.

The command: the median (and range) of --runs one-file `conformance validate` runs with warm caches, for a
three-line base R4 Patient (issue 14's case) and a UK Core example with its package, beside
`python -c pass`. Machines here are noisy: read ratios and ranges, not single numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from compiled_build import add_build_option, run_compiled_if_asked
from fhir.resources.R4B import get_fhir_model_class

from conformance.buildinfo import build_name
from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "fhir-packages"
SMALL_PATIENT = b'{"resourceType": "Patient",\n "id": "p1",\n "active": true}\n'

Workload = list[tuple[bytes, str | None, str]]


def load_workload(package_path: Path, count: int) -> Workload:
    examples = package_path / "_examples" / "ukcore-stu2"
    listing = package_path / "_examples" / "ukcore-stu2-profiles.json"
    profiles: dict[str, str | None] = json.loads(listing.read_text())
    base = [((examples / name).read_bytes(), profile, name) for name, profile in sorted(profiles.items())]
    return [base[i % len(base)] for i in range(count)]


# --- throughput -------------------------------------------------------------------------------------------


class Timing:
    """Seconds of one pass over the workload: wall clock and this process's CPU."""

    def __init__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self._wall, time.process_time() - self._cpu


Pass = Callable[[], tuple[float, float, str]]  # one timed pass: wall, CPU, a note on what it found


def conformance_pass(workload: Workload, package_path: Path) -> Pass:
    context = Context.build(
        Settings(package_path=(package_path,)), FhirVersion.R4, igs=["fhir.r4.ukcore.stu2#2.0.2"]
    )
    validator = Validator(context)
    for data, profile, _ in workload[:200]:  # compile every Plan once, as a long-running process would
        validator.validate(data, profiles=[profile] if profile else [])

    def one_pass() -> tuple[float, float, str]:
        errors = 0
        timing = Timing()
        for data, profile, _ in workload:
            errors += len(validator.validate(data, profiles=[profile] if profile else []).errors)
        return (*timing.stop(), f"{errors} errors reported")

    return one_pass


def _baseline_pass(workload: Workload, one: Callable[[bytes], object], refusal: str) -> Pass:
    def one_pass() -> tuple[float, float, str]:
        failures = 0
        timing = Timing()
        for data, _, _ in workload:
            try:
                one(data)
            except Exception:  # a baseline's refusals are counted, not measured
                failures += 1
        return (*timing.stop(), f"{failures} {refusal}")

    return one_pass


def fhirkit_parse() -> Callable[[bytes], object] | None:
    if importlib.util.find_spec("fhirkit") is None:
        return None
    import fhirkit  # noqa: PLC0415 -- an optional baseline

    parse: Callable[[bytes], object] = fhirkit.parse
    return parse


def fhir_resources_parse(data: bytes) -> object:
    document: dict[str, Any] = json.loads(data)
    return get_fhir_model_class(document["resourceType"]).model_validate(document)


# --- the command ------------------------------------------------------------------------------------------


def _command() -> list[str]:
    """The `conformance` script beside this Python (what people run), else `python -m conformance`."""
    script = Path(sys.executable).with_name("conformance")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "conformance"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _times(argv: Sequence[str], env: dict[str, str], runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run: CPU time says what a run costs when other work shares the machine."""
    times = []
    for _ in range(runs):
        cpu, start = _children_cpu(), time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env, check=False)
        times.append((time.perf_counter() - start, _children_cpu() - cpu))
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return times


def cli_runs(package_path: Path, runs: int) -> dict[str, list[tuple[float, float]]]:
    """Wall times of one-file runs with warm caches (one unmeasured run first fills them)."""
    env = {**os.environ, "CONFORMANCE_PACKAGE_PATH": str(package_path), "CONFORMANCE_OFFLINE": "1"}
    uk_sample = sorted((package_path / "_examples" / "ukcore-stu2").glob("UKCore-Patient-*.json"))[0]
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "p.json"
        small.write_bytes(SMALL_PATIENT)
        cases = {
            "validate p.json (3-line Patient, base R4)": [*_command(), "validate", str(small)],
            "validate UK Core example --ig ukcore": [
                *_command(),
                "validate",
                "--ig",
                "fhir.r4.ukcore.stu2#2.0.2",
                "--format",
                "json",
                str(uk_sample),
            ],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        for argv in cases.values():
            _times(argv, env, 1)
        return {label: _times(argv, env, runs) for label, argv in cases.items()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- report -----------------------------------------------------------------------------------------------


def print_throughput(workload: Workload, package_path: Path, rounds: int) -> None:
    """Every system over the same bytes, in turns, `rounds` times: each keeps its fastest pass (by CPU).

    Taking turns spreads whatever else the machine does over all of them; CPU time leaves out the time
    this process waited for the CPU. Ratios are of CPU times.
    """
    n = len(workload)
    kit = fhirkit_parse()
    systems: list[tuple[str, Pass | None, str]] = [
        ("fhir-conformance (UK Core profile validation)", conformance_pass(workload, package_path), ""),
        ("json.loads", _baseline_pass(workload, json.loads, "failures"), ""),
        (
            "fhirkit-rs parse (Rust, R4 structure)",
            _baseline_pass(workload, kit, "refused") if kit else None,
            "not installed (pip install fhirkit-rs)",
        ),
        ("fhir.resources R4B model parse", _baseline_pass(workload, fhir_resources_parse, "refused"), ""),
    ]
    best: dict[str, tuple[float, float, str]] = {}
    for _ in range(rounds):
        for label, one_pass, _ in systems:
            if one_pass is not None:
                wall, cpu, note = one_pass()
                if label not in best or cpu < best[label][1]:
                    best[label] = (wall, cpu, note)
    memory = peak_rss_mb()
    ours = best[systems[0][0]][1]
    examples = len({w[2] for w in workload})
    print(
        f"throughput: {n} UK Core resources (the {examples} examples, replicated), one process, same bytes, "
        f"best of {rounds} rounds taken in turns"
    )
    print(f"  {'system':48} {'resources/s':>12} {'(wall)':>10} {'ours / it':>10}  note")
    for label, _, absent in systems:
        if label not in best:
            print(f"  {label:48} {'skipped':>12} {'':>10} {'':>10}  {absent}")
            continue
        wall, cpu, note = best[label]
        print(f"  {label:48} {n / cpu:12,.0f} {n / wall:10,.0f} {cpu / ours:10.3f}  {note}")
    print(f"  resources/s by CPU time (by wall clock in brackets); peak RSS after the runs: {memory:.0f} MB")


def print_cli(package_path: Path, runs: int) -> None:
    print(f"the command: {runs} runs each, warm caches, seconds")
    print(f"  {'run':48} {'wall median':>11} {'min':>7} {'max':>7} {'CPU median':>11}")
    for label, times in cli_runs(package_path, runs).items():
        wall = [w for w, _ in times]
        cpu = statistics.median(c for _, c in times)
        print(f"  {label:48} {statistics.median(wall):11.3f} {min(wall):7.3f} {max(wall):7.3f} {cpu:11.3f}")


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--count", type=int, default=10_000, help="resources in the throughput workload")
    parser.add_argument("--runs", type=int, default=10, help="one-file command runs per case")
    parser.add_argument("--rounds", type=int, default=3, help="throughput passes per system, taken in turns")
    parser.add_argument("--package-path", type=Path, default=SHARED)
    parser.add_argument("--skip-throughput", action="store_true", help="only time the command")
    add_build_option(parser)
    args = parser.parse_args()
    code = run_compiled_if_asked(args.build)
    if code is not None:
        return code
    print(f"fhir-conformance build measured: {build_name()}")
    if not (args.package_path / "_examples" / "ukcore-stu2").is_dir():
        print(f"no UK Core examples under {args.package_path}; pass --package-path", file=sys.stderr)
        return 2
    if not args.skip_throughput:
        print_throughput(load_workload(args.package_path, args.count), args.package_path, max(1, args.rounds))
    print_cli(args.package_path, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
