"""Package loading: cold and warm Context builds for R4 core + UK Core STU2, against a naive baseline.

    .venv/bin/python benchmarks/bench_packages.py [--package-path DIR]

Each scenario runs in its own Python process, so its peak memory (ru_maxrss,
minus the memory after imports) is its own. Rows:
- baseline: open each .tgz with tarfile and json.load every JSON member (what
  a loader without an index or a cache would do);
- cold: a fresh work cache: hash, safe extraction, index building;
- warm: the same work cache again (a later run);
- cold / warm + terminology: the same with the implicit hl7.terminology.r4 package
  (4,100 files, no .index.json: its index is built from every file once).
Every Context row then resolves a few canonicals (parsing just those resources).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PACKAGES = ROOT.parent / "shared" / "fhir-packages"
ARCHIVES = ("hl7.fhir.r4.core#4.0.1.tgz", "fhir.r4.ukcore.stu2#2.0.2.tgz")
CANONICALS = (
    "http://hl7.org/fhir/StructureDefinition/Patient",
    "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient",
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
    "http://hl7.org/fhir/ValueSet/administrative-gender",
)


def _rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(packages: Path) -> int:
    count = 0
    for name in ARCHIVES:
        with tarfile.open(packages / name, "r:gz") as tar:
            for member in tar:
                stream = tar.extractfile(member) if member.name.endswith(".json") else None
                if stream is not None:
                    json.load(stream)
                    count += 1
    return count


def _context(packages: Path, work: Path, *, implicit: bool) -> int:
    settings = Settings(
        package_path=(packages,), package_cache=work / "no-cache", work_cache=work, offline=True
    )
    context = Context.build(
        settings, FhirVersion.R4, igs=["fhir.r4.ukcore.stu2#2.0.2"], implicit_packages=implicit
    )
    missing = [url for url in CANONICALS if context.resolve(url) is None]
    if missing:
        raise SystemExit(f"not resolved: {missing}")
    return sum(len(package.index) for package in context.packages)


def run_scenario(name: str, packages: Path, work: Path) -> dict[str, float]:
    """Runs in the child process: one scenario, measured."""
    before = _rss_mib()
    start = time.perf_counter()
    if name == "baseline":
        items = _baseline(packages)
    else:
        items = _context(packages, work, implicit=name.endswith("+ terminology"))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mib": _rss_mib() - before, "items": items}


def _child(name: str, packages: Path, work: Path) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--scenario",
        name,
        "--package-path",
        str(packages),
        "--work",
        str(work),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(output)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--package-path", type=Path, default=DEFAULT_PACKAGES)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.package_path, args.work)))
        return 0
    if not all((args.package_path / name).is_file() for name in ARCHIVES):
        print(f"bench_packages: needs {', '.join(ARCHIVES)} in {args.package_path}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-packages-") as temporary:
        work = Path(temporary)
        rows = [
            (name, _child(name, args.package_path, work))
            for name in ("baseline", "cold", "warm", "cold + terminology", "warm + terminology")
        ]
    print(f"{'scenario':<20} {'seconds':>8} {'peak MiB':>9} {'items':>7}")
    for name, result in rows:
        print(f"{name:<20} {result['seconds']:>8.3f} {result['peak_mib']:>9.1f} {int(result['items']):>7}")
    print("items: JSON members parsed (baseline) or index entries in the context (others)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
