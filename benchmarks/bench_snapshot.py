"""How long generating every UK Core STU2 snapshot takes, next to copying their bases' snapshots.

    python benchmarks/bench_snapshot.py [--package-path DIR] [--rounds N]

Each round starts from nothing (a new `Snapshots`, no disk cache), so it measures
generation, not the memo: all 78 UK Core StructureDefinitions, each with the
profiles and extensions it depends on. The baseline, in the same run, is a plain
`copy.deepcopy` of the published snapshot of each one's base: the least any
generator must do. Figures are the best of N rounds, in seconds. Not part of the
test run.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conformance.context import Context
from conformance.definitions.snapshot import Snapshots
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings

UKCORE = "fhir.r4.ukcore.stu2#2.0.2"
SHARED_PACKAGES = Path(__file__).resolve().parents[1].parent / "shared" / "fhir-packages"


def best_of(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def uk_core_definitions(context: Context) -> list[dict[str, Any]]:
    package = context.package(UKCORE)
    if package is None:
        raise SystemExit(f"{UKCORE} is not in the package path")
    return [context.resource(e) for e in package.index if e.resource_type == "StructureDefinition"]


def generate_all(context: Context, urls: Sequence[str]) -> int:
    snapshots = Snapshots(context, FhirVersion.R4)
    elements = 0
    for url in urls:
        result = snapshots.snapshot(url)
        assert result is not None and "snapshot" in result.structure_definition, url
        elements += len(result.elements)
    return elements


def copy_bases(context: Context, definitions: Sequence[dict[str, Any]]) -> None:
    for sd in definitions:
        base = context.structure_definition(str(sd["baseDefinition"]))
        if base is not None and "snapshot" in base:
            copy.deepcopy(base["snapshot"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package-path", type=Path, default=SHARED_PACKAGES)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            package_path=(args.package_path,),
            package_cache=Path(scratch) / "cache",
            work_cache=Path(scratch) / "work",
            offline=True,
        )
        context = Context.build(settings, FhirVersion.R4, igs=[UKCORE])
        definitions = uk_core_definitions(context)
        urls = [str(sd["url"]) for sd in definitions]
        elements = generate_all(context, urls)  # warms the context's parsed resources
        generation = best_of(args.rounds, lambda: generate_all(context, urls))
        baseline = best_of(args.rounds, lambda: copy_bases(context, definitions))
    print(f"UK Core STU2: {len(urls)} snapshots, {elements} elements")
    print(f"generate all (fresh Snapshots each round): {generation:.3f} s")
    print(f"baseline, copy.deepcopy of the base snapshots: {baseline:.3f} s")
    print(f"ratio: {generation / baseline:.1f}x the baseline")


if __name__ == "__main__":
    main()
