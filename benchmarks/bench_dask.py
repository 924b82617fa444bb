"""Bulk validation on Dask: speed-up per worker against one local process, in the same run.

    python benchmarks/bench_dask.py [--count 4000] [--workers 1,2] [--package-path DIR]

Workload: the UK Core STU2 examples replicated to --count NDJSON lines (one file per resource type, like a
FHIR Bulk Data export), validated against the base definitions and their meta.profile. Measured: the
library's local run (`validate_payloads`, one process: what `--jobs 1` does) and the same payloads on a
Dask LocalCluster of N single-threaded worker processes on 127.0.0.1, each after a warm-up batch so that
every worker has built its Validator. Baseline in the same run: json.loads of every line. Read the ratios:
a cluster cannot beat the number of cores the machine has.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from conformance.fhirversion import FhirVersion
from conformance.reports.distributed import validate_on_dask
from conformance.reports.payloads import discover, payloads
from conformance.reports.runner import ContextSpec, RunSpec, validate_payloads
from conformance.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "fhir-packages"
UKCORE = "fhir.r4.ukcore.stu2#2.0.2"


def write_export(folder: Path, package_path: Path, count: int) -> int:
    examples = sorted((package_path / "_examples" / "ukcore-stu2").glob("*.json"))
    lines = [json.dumps(json.loads(path.read_text(encoding="utf-8"))) for path in examples]
    by_type: dict[str, list[str]] = {}
    for index in range(count):
        line = lines[index % len(lines)]
        by_type.setdefault(json.loads(line)["resourceType"], []).append(line)
    for kind, found in by_type.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(found) + "\n", encoding="utf-8")
    return count


def timed_local(run: RunSpec, folder: Path) -> float:
    inputs = discover([folder])
    start = time.perf_counter()
    for _ in validate_payloads(payloads(inputs), run):
        pass
    return time.perf_counter() - start


def timed_dask(run: RunSpec, folder: Path, workers: int) -> float:
    inputs = discover([folder])
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        warm = list(payloads(inputs))[: 64 * workers]
        list(validate_on_dask(iter(warm), run, cluster.scheduler_address, client=client))
        start = time.perf_counter()
        for _ in validate_on_dask(payloads(inputs), run, cluster.scheduler_address, client=client):
            pass
        return time.perf_counter() - start


def timed_json_loads(folder: Path) -> float:
    start = time.perf_counter()
    for path in sorted(folder.glob("*.ndjson")):
        for line in path.read_bytes().splitlines():
            json.loads(line)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--package-path", type=Path, default=SHARED)
    args = parser.parse_args()
    spec = ContextSpec(
        Settings(package_path=(args.package_path,), offline=True), FhirVersion.R4, igs=(UKCORE,)
    )
    run = RunSpec.for_context(spec, spec.build(), ())
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        count = write_export(folder, args.package_path, args.count)
        baseline = timed_json_loads(folder)
        local = timed_local(run, folder)
        print(f"{count} resources; json.loads {count / baseline:,.0f}/s")
        print(f"local, one process (--jobs 1): {count / local:,.0f}/s")
        for workers in (int(n) for n in args.workers.split(",")):
            seconds = timed_dask(run, folder, workers)
            print(
                f"dask, {workers} worker(s): {count / seconds:,.0f}/s; speed-up {local / seconds:.2f}x "
                f"({local / seconds / workers:.2f} per worker)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
