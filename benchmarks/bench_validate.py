"""Validation throughput, CLI start-up and peak memory, beside a baseline measured in the same run.

    python benchmarks/bench_validate.py [--count 10000] [--package-path DIR]

Workload: the UK Core STU2 example instances, replicated to --count resources (each parsed from its JSON
bytes and validated against the UK Core profile it exemplifies). Baseline: parsing the same bytes into
fhir.resources R4B models, the way a Python service typically "validates" today. Machines here are noisy:
read the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "fhir-packages"


def load_workload(package_path: Path, count: int) -> list[tuple[bytes, str | None, str]]:
    examples = package_path / "_examples" / "ukcore-stu2"
    profiles: dict[str, str | None] = json.loads((package_path / "_examples" / "ukcore-stu2-profiles.json").read_text())
    base = [((examples / name).read_bytes(), profile, name) for name, profile in sorted(profiles.items())]
    return [base[i % len(base)] for i in range(count)]


def bench_conformance(workload: list[tuple[bytes, str | None, str]], package_path: Path) -> tuple[float, int]:
    from conformance.context import Context
    from conformance.fhirversion import FhirVersion
    from conformance.settings import Settings
    from conformance.validation import Validator

    context = Context.build(
        Settings(package_path=(package_path,)), FhirVersion.R4, igs=["fhir.r4.ukcore.stu2#2.0.2"]
    )
    validator = Validator(context)
    for data, profile, _ in workload[:200]:  # compile every Plan once, as a long-running process would
        validator.validate(data, profiles=[profile] if profile else [])
    errors = 0
    start = time.perf_counter()
    for data, profile, _ in workload:
        errors += len(validator.validate(data, profiles=[profile] if profile else []).errors)
    return time.perf_counter() - start, errors


def bench_fhir_resources(workload: list[tuple[bytes, str | None, str]]) -> tuple[float, int]:
    from fhir.resources.R4B import get_fhir_model_class

    failures = 0
    start = time.perf_counter()
    for data, _, _ in workload:
        document: dict[str, Any] = json.loads(data)
        try:
            get_fhir_model_class(document["resourceType"]).model_validate(document)
        except Exception:  # the baseline's verdicts are not what is measured
            failures += 1
    return time.perf_counter() - start, failures


def cli_start_up(package_path: Path, runs: int = 5) -> tuple[float, float]:
    """Median wall time of a one-file `conformance validate` run (caches warm), and of `python -c pass`."""
    sample = sorted((package_path / "_examples" / "ukcore-stu2").glob("UKCore-Patient-*.json"))[0]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory():
        validate = [sys.executable, "-m", "conformance", "validate", "--package-path", str(package_path),
                    "--ig", "fhir.r4.ukcore.stu2#2.0.2", "--format", "json", str(sample)]  # fmt: skip
        subprocess.run(validate, capture_output=True, env=env, check=False)  # warm the caches
        ours = _median_time(validate, env, runs)
        bare = _median_time([sys.executable, "-c", "pass"], env, runs)
    return ours, bare


def _median_time(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--package-path", type=Path, default=SHARED)
    args = parser.parse_args()
    if not (args.package_path / "_examples" / "ukcore-stu2").is_dir():
        print(f"no UK Core examples under {args.package_path}; pass --package-path", file=sys.stderr)
        return 2
    workload = load_workload(args.package_path, args.count)
    ours, errors = bench_conformance(workload, args.package_path)
    ours_memory = peak_rss_mb()
    theirs, failures = bench_fhir_resources(workload)
    cli, bare = cli_start_up(args.package_path)
    n = len(workload)
    print(f"workload: {n} UK Core resources (the {len(set(w[2] for w in workload))} examples, replicated)")
    print(f"{'measure':48} {'fhir-conformance':>18} {'baseline':>14} {'ratio':>8}")
    print(f"{'resources/s (full validation vs R4B model parse)':48} {n / ours:18.0f} {n / theirs:14.0f} "
          f"{(n / ours) / (n / theirs):8.2f}")  # fmt: skip
    print(f"{'one-file CLI run, s (vs python -c pass)':48} {cli:18.3f} {bare:14.3f} {cli / bare:8.1f}")
    print(f"{'peak RSS after validation, MB':48} {ours_memory:18.0f}")
    print(f"errors reported: {errors}; baseline parse failures: {failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
