"""Which invariants still go through the general FHIRPath evaluation, how often, and what they cost.

    python benchmarks/bench_invariants.py [--workload ukcore|bundle|both] [--count 1000] [--entries 20000]

Workloads: `ukcore` is bench_validate.py's (the UK Core STU2 examples against their profiles,
replicated to --count resources); `bundle` is one collection Bundle of --entries simple Patients
(id, narrative, name, gender, birthDate, identifier; fullUrl urn:uuid) validated against base R4.
Prints the validation time, the general evaluations per resource, and the most expensive
expressions still evaluated by fhirpathpy. Machines here are noisy: compare counts, and read times
as ranges over several runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conformance.context import Context
from conformance.fhirpath.engine import CompiledExpression
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import SHARED, load_workload


@contextmanager
def general_evaluations() -> Iterator[dict[str, list[float]]]:
    """Counts and times every call of the general evaluation, per expression text."""
    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    original = CompiledExpression._evaluate_general

    def counting(self: Any, facts: Any, scope: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, facts, scope)
        finally:
            entry = stats[self.effective_text]
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    CompiledExpression._evaluate_general = counting  # type: ignore[method-assign]
    try:
        yield stats
    finally:
        CompiledExpression._evaluate_general = original  # type: ignore[method-assign]


def patient_bundle(entries: int) -> bytes:
    items = []
    for index in range(entries):
        patient = {
            "resourceType": "Patient",
            "id": f"p{index}",
            "text": {
                "status": "generated",
                "div": f'<div xmlns="http://www.w3.org/1999/xhtml">Patient {index}</div>',
            },
            "identifier": [{"system": "http://example.org/mrn", "value": f"MRN{index}"}],
            "name": [{"family": f"Family{index}", "given": ["Given"]}],
            "gender": "female",
            "birthDate": "1980-01-02",
        }
        items.append({"fullUrl": f"urn:uuid:{uuid.UUID(int=index + 1)}", "resource": patient})
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": items}).encode()


def report(title: str, resources: int, elapsed: float, stats: dict[str, list[float]], top: int) -> None:
    count = int(sum(entry[0] for entry in stats.values()))
    cost = sum(entry[1] for entry in stats.values())
    print(f"== {title}: {resources} resources in {elapsed:.2f} s; {count} general evaluations "
          f"({count / resources:.2f} per resource) costing {cost:.2f} s")  # fmt: skip
    for text, (calls, seconds) in sorted(stats.items(), key=lambda item: -item[1][1])[:top]:
        print(f"{int(calls):8d} {seconds:8.3f} s  {text[:120]}")


def bench_ukcore(package_path: Path, count: int, top: int) -> None:
    workload = load_workload(package_path, count)
    context = Context.build(
        Settings(package_path=(package_path,)), FhirVersion.R4, igs=["fhir.r4.ukcore.stu2#2.0.2"]
    )
    validator = Validator(context)
    for data, profile, _ in workload[:200]:  # compile every Plan first
        validator.validate(data, profiles=[profile] if profile else [])
    with general_evaluations() as stats:
        start = time.perf_counter()
        for data, profile, _ in workload:
            validator.validate(data, profiles=[profile] if profile else [])
        report("UK Core examples", len(workload), time.perf_counter() - start, stats, top)


def bench_bundle(package_path: Path, entries: int, top: int) -> None:
    validator = Validator(Context.build(Settings(package_path=(package_path,)), FhirVersion.R4))
    validator.validate(patient_bundle(3))
    data = patient_bundle(entries)
    with general_evaluations() as stats:
        start = time.perf_counter()
        outcome = validator.validate(data)
        report("collection Bundle of Patients", entries, time.perf_counter() - start, stats, top)
    print(f"issues: {len(outcome.issues)}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workload", choices=["ukcore", "bundle", "both"], default="both")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--package-path", type=Path, default=SHARED)
    args = parser.parse_args()
    if not (args.package_path / "_examples" / "ukcore-stu2").is_dir():
        print(f"no UK Core examples under {args.package_path}; pass --package-path", file=sys.stderr)
        return 2
    if args.workload in ("ukcore", "both"):
        bench_ukcore(args.package_path, args.count, args.top)
    if args.workload in ("bundle", "both"):
        bench_bundle(args.package_path, args.entries, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
