"""Big payloads and long NDJSON files through `conformance validate`: wall time, rate and peak memory.

    python benchmarks/bench_large.py [--entries 200000] [--lines 1000000] [--format text]
                                     [--package-path DIR] [--skip-bundle] [--skip-ndjson]
                                     [--without-narrative] [--build compiled|sources]

Workload, written to a temporary folder: a collection Bundle of --entries Patients (id, narrative, name,
gender, birthDate, identifier; fullUrl urn:uuid; about 325 bytes an entry, 62 MiB for 200,000, just under
the 64 MiB a payload may have), and an NDJSON file of --lines Patients of the same shape. Each is
validated by the installed command as a user would run it (a fresh process, base R4 definitions), with
the output written to a file; the figures are the whole command's wall time, entries or lines a second,
and the child's peak resident memory (getrusage of the finished child), and for NDJSON its memory at
points of the run (flat when memory does not grow with the lines). Beside them, on the same bytes in
the same run and in a fresh process each, so that their peak memory is theirs alone: json.loads of the
file, fhir.resources (R4B models) parsing the Bundle or each line, and fhirkit-rs when it is installed
(a line says so when it is not). These machines are shared and noisy: run it more than once and read
ranges.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from compiled_build import add_build_option, run_compiled_if_asked

from conformance.buildinfo import build_name

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "fhir-packages"
_GIVEN = ("Amy", "Ben", "Chloe", "Dev", "Eve", "Femi", "Gus", "Hana")
_FAMILY = ("Smith", "Jones", "Patel", "Okafor", "Nguyen", "Brown")
_COMPACT = (",", ":")


def patient(index: int, *, narrative: bool = True) -> dict[str, Any]:
    """One small Patient with every common element, varied by `index` so that no two are the same.

    Without its narrative it breaks the dom-6 best practice: one warning each, to hold, position and print.
    """
    given, family = _GIVEN[index % len(_GIVEN)], _FAMILY[index % len(_FAMILY)]
    text = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{given}</div>'}
    return {
        "resourceType": "Patient",
        "id": f"p{index}",
        **({"text": text} if narrative else {}),
        "identifier": [{"value": str(index)}],
        "name": [{"family": family, "given": [given]}],
        "gender": "female" if index % 2 else "male",
        "birthDate": f"{1940 + index % 80}-{1 + index % 12:02d}-{1 + index % 28:02d}",
    }


def write_bundle(path: Path, entries: int, *, narrative: bool = True) -> None:
    """A collection Bundle written entry by entry (one line each), so that writing it needs no tree."""
    seed = uuid.UUID(int=0x5EED)
    with path.open("w", encoding="utf-8") as stream:
        stream.write('{"resourceType":"Bundle","type":"collection","entry":[\n')
        for index in range(entries):
            full_url = f"urn:uuid:{uuid.uuid5(seed, str(index))}"
            resource = patient(index, narrative=narrative)
            entry = json.dumps({"fullUrl": full_url, "resource": resource}, separators=_COMPACT)
            stream.write(entry + (",\n" if index + 1 < entries else "\n"))
        stream.write("]}\n")


def write_ndjson(path: Path, lines: int, *, narrative: bool = True) -> None:
    with path.open("w", encoding="utf-8") as stream:
        for index in range(lines):
            stream.write(json.dumps(patient(index, narrative=narrative), separators=_COMPACT) + "\n")


# ------------------------------------------------------------------ baselines, each run in a child process

# Each baseline reads the file as the command does (whole, or line by line for NDJSON) with its own parser.
_BASELINE_SCRIPT = """
import sys
{imports}
path, ndjson = sys.argv[1], sys.argv[2] == "1"
with open(path, "rb") as stream:
    if ndjson:
        for line in stream:
            {each}(line)
    else:
        {whole}(stream.read())
"""
_BASELINES = {
    "json.loads": _BASELINE_SCRIPT.format(imports="import json", each="json.loads", whole="json.loads"),
    "fhir.resources (R4B)": _BASELINE_SCRIPT.format(
        imports="from fhir.resources.R4B import bundle, patient",
        each="patient.Patient.model_validate_json",
        whole="bundle.Bundle.model_validate_json",
    ),
    "fhirkit-rs": _BASELINE_SCRIPT.format(imports="from fhirkit import parse", each="parse", whole="parse"),
}


def _has_module(name: str) -> bool:
    probe = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, check=False)
    return probe.returncode == 0


_WRAPPER = """
import resource, subprocess, sys, time
def rss(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
samples = []
while True:
    try:
        child.wait(timeout=0.5)
        break
    except subprocess.TimeoutExpired:
        found = rss(child.pid)
        if found is not None:
            samples.append((time.perf_counter() - start, found))
elapsed = time.perf_counter() - start
print(elapsed, child.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(" ".join(f"{at:.1f}:{kib}" for at, kib in samples))
"""


def measured(argv: list[str], environment: dict[str, str]) -> tuple[float, int, int, list[tuple[float, int]]]:
    """Wall seconds, exit code, peak RSS in bytes of one child process, and its RSS every half second.

    Each child is run from a fresh helper process, so that RUSAGE_CHILDREN's maximum is this child's
    alone and not the largest of every child this benchmark ran before. The samples (from /proc, on
    Linux) show whether memory grows with the work done.
    """
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *argv], env=environment, capture_output=True, text=True, check=False
    )
    head, _, tail = done.stdout.partition("\n")
    elapsed, code, peak_kib = head.split()
    samples = [(float(at), int(kib) * 1024) for at, kib in (item.split(":") for item in tail.split())]
    return float(elapsed), int(code), int(peak_kib) * 1024, samples


def _over_the_run(samples: list[tuple[float, int]]) -> str:
    """RSS at a quarter, half, three quarters and the end of the run: flat when memory does not grow."""
    if len(samples) < 4:
        return ""
    picks = [samples[min(len(samples) - 1, len(samples) * q // 4)] for q in (1, 2, 3, 4)]
    return "RSS at 1/4, 1/2, 3/4, end: " + ", ".join(f"{kib / 2**20:.0f}" for _, kib in picks) + " MB"


def _validate_argv(path: Path, package_path: Path, output: Path, format: str) -> list[str]:
    return [
        sys.executable, "-m", "conformance", "validate", "--package-path", str(package_path),
        "--format", format, "--output", str(output), str(path),
    ]  # fmt: skip


def _row(label: str, count: int, seconds: float, peak: int, note: str = "") -> None:
    rate = count / seconds if seconds else 0.0
    print(f"  {label:<28} {seconds:8.2f} s  {rate:10,.0f} /s  peak {peak / 2**20:7.0f} MB  {note}")


def compare(path: Path, count: int, ndjson: bool, args: argparse.Namespace) -> None:
    environment = {**os.environ, "CONFORMANCE_OFFLINE": "1"}
    size = path.stat().st_size
    kind = f"NDJSON, {count:,} lines" if ndjson else f"collection Bundle, {count:,} entries"
    print(f"{kind}: {size / 2**20:.1f} MB")
    output = path.with_suffix(".out")
    argv = _validate_argv(path, args.package_path, output, args.format)
    seconds, code, peak, samples = measured(argv, environment)
    if code not in (0, 1):
        raise SystemExit(f"conformance validate failed with exit code {code}")
    verdict = "valid" if code == 0 else "invalid"
    _row(f"conformance validate ({args.format})", count, seconds, peak, f"exit {code} ({verdict})")
    if ndjson and (over := _over_the_run(samples)):
        print(f"  {'':<28} {over}")
    for label, script in _BASELINES.items():
        if label == "fhirkit-rs" and not _has_module("fhirkit"):
            print(f"  {label:<28} skipped: not installed (pip install fhirkit-rs)")
            continue
        argv = [sys.executable, "-c", script, str(path), "1" if ndjson else "0"]
        seconds, code, peak, _ = measured(argv, environment)
        note = "" if code == 0 else f"failed (exit {code})"
        _row(label, count, seconds, peak, note)


def _cases(args: argparse.Namespace, folder: Path) -> Iterator[tuple[Path, int, bool]]:
    if not args.skip_bundle:
        bundle = folder / "bundle.json"
        write_bundle(bundle, args.entries, narrative=not args.without_narrative)
        yield bundle, args.entries, False
    if not args.skip_ndjson:
        lines = folder / "patients.ndjson"
        write_ndjson(lines, args.lines, narrative=not args.without_narrative)
        yield lines, args.lines, True


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000, help="Patients in the Bundle")
    parser.add_argument("--lines", type=int, default=1_000_000, help="Patients in the NDJSON file")
    parser.add_argument("--format", default="text", choices=("text", "json", "junit", "sarif"))
    parser.add_argument("--package-path", type=Path, default=SHARED)
    parser.add_argument("--skip-bundle", action="store_true")
    parser.add_argument("--skip-ndjson", action="store_true")
    parser.add_argument(
        "--without-narrative", action="store_true", help="Patients without text: a warning in every entry"
    )
    add_build_option(parser)
    args = parser.parse_args()
    code = run_compiled_if_asked(args.build)
    if code is not None:
        sys.exit(code)
    print(f"fhir-conformance build measured: {build_name()} (see benchmarks/compiled_build.py)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs; load average at the start: {load}")
    with tempfile.TemporaryDirectory(prefix="bench-large-") as folder:
        for path, count, ndjson in _cases(args, Path(folder)):
            compare(path, count, ndjson, args)
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"this process's own peak: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
