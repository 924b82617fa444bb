"""Bulk validation from NDJSON: `conformance validate --jobs 2` against one process, in the same run.

    python benchmarks/bench_bulk.py [--count 10000] [--jobs 2] [--rounds 2] [--package-path DIR]

Workload: the UK Core STU2 example instances (JSON), each declaring in meta.profile the UK Core profile
it exemplifies, replicated to --count lines of one NDJSON file. Each round runs the command as a user
would (a fresh process, packages loaded, a JUnit report written) once with --jobs 1 and once with
--jobs N, alternately, so both see the same machine load; the best round of each is kept. Figures are
wall-clock times of the whole command, start-up included, and the rates they give. Machines here are
shared and noisy: read the ratio, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "fhir-packages"
UKCORE = "fhir.r4.ukcore.stu2#2.0.2"


def _declaring(resource: dict[str, Any], profile: str | None) -> dict[str, Any]:
    if profile:
        meta = dict(resource.get("meta") or {})
        meta["profile"] = [profile]
        resource = {**resource, "meta": meta}
    return resource


def write_workload(package_path: Path, count: int, target: Path) -> None:
    examples = package_path / "_examples" / "ukcore-stu2"
    profiles: dict[str, str | None] = json.loads(
        (package_path / "_examples" / "ukcore-stu2-profiles.json").read_text()
    )
    lines = [
        json.dumps(
            _declaring(json.loads((examples / name).read_text(encoding="utf-8")), profile), ensure_ascii=False
        )
        for name, profile in sorted(profiles.items())
    ]
    with target.open("w", encoding="utf-8") as stream:
        for index in range(count):
            stream.write(lines[index % len(lines)] + "\n")


def run_once(ndjson: Path, jobs: int, package_path: Path, environment: dict[str, str]) -> tuple[float, int]:
    argv = [
        sys.executable, "-m", "conformance", "validate", "--package-path", str(package_path), "--ig", UKCORE,
        "--format", "junit", "--output", os.devnull, "--jobs", str(jobs), str(ndjson),
    ]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(argv, env=environment, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"conformance validate failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--package-path", type=Path, default=SHARED)
    args = parser.parse_args()
    if not (args.package_path / "_examples" / "ukcore-stu2").is_dir():
        raise SystemExit(f"needs the UK Core examples under {args.package_path}/_examples")
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as folder:
        ndjson = Path(folder) / "workload.ndjson"
        write_workload(args.package_path, args.count, ndjson)
        environment = {**os.environ, "CONFORMANCE_OFFLINE": "1"}
        run_once(ndjson, 1, args.package_path, environment)  # warm the package and snapshot caches
        single: list[float] = []
        parallel: list[float] = []
        for _ in range(args.rounds):
            single.append(run_once(ndjson, 1, args.package_path, environment)[0])
            parallel.append(run_once(ndjson, args.jobs, args.package_path, environment)[0])
    best_single, best_parallel = min(single), min(parallel)
    print(f"workload: {args.count} UK Core resources in one NDJSON file; {os.cpu_count()} CPUs")
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{load:.2f}' for load in os.getloadavg())}")
    _line("--jobs 1", args.count, single)
    _line(f"--jobs {args.jobs}", args.count, parallel)
    print(f"speed-up: {best_single / best_parallel:.2f}x (target at least 1.7x with --jobs 2 on 2 cores)")


def _line(label: str, count: int, seconds: list[float]) -> None:
    best = min(seconds)
    rounds = ", ".join(f"{value:.2f}" for value in seconds)
    print(f"{label}: {best:6.2f} s  {count / best:8.0f} resources/s   (rounds: {rounds} s)")


if __name__ == "__main__":
    main()
