"""`conformance serve` under load: requests/s held by 8 concurrent clients, latency percentiles, memory.

    python benchmarks/bench_server.py [--seconds 60] [--clients 8] [--package-path DIR]

Starts the server on 127.0.0.1 (a free port), posts the UK Core STU2 examples round-robin with their
profiles for --seconds from --clients threads (each request bounded by a timeout; the run stops by
itself), and reports requests/s, latency p50/p90/p99/max, non-200 answers, and the server's resident
memory at the start and end of the run. Baseline in the same run: the same payloads validated in-process
by one Validator (the server's ceiling, since validation is single-threaded Python), so the ratio shows
what HTTP costs. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "fhir-packages"
UKCORE = "fhir.r4.ukcore.stu2#2.0.2"


def workload(package_path: Path) -> list[tuple[bytes, str | None]]:
    examples = package_path / "_examples" / "ukcore-stu2"
    profiles: dict[str, str | None] = json.loads(
        (package_path / "_examples" / "ukcore-stu2-profiles.json").read_text()
    )
    return [((examples / name).read_bytes(), profile) for name, profile in sorted(profiles.items())]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_server(package_path: Path) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, CONFORMANCE_PACKAGE_PATH=str(package_path), CONFORMANCE_OFFLINE="1")
    argv = [sys.executable, "-m", "conformance", "serve", "--port", "0", "--ig", UKCORE]
    argv += ["--max-concurrent", "64"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"the server did not start: {process.communicate()[1][-2000:]}")
    return process, line.rsplit(" ", 1)[-1].strip().rstrip("/")


def in_process_rate(items: list[tuple[bytes, str | None]], package_path: Path, seconds: float) -> float:
    # Imported here: the benchmark's own start-up stays out of the server's measurement.
    from conformance.context import Context  # noqa: PLC0415
    from conformance.fhirversion import FhirVersion  # noqa: PLC0415
    from conformance.settings import Settings  # noqa: PLC0415
    from conformance.validation import Validator  # noqa: PLC0415

    validator = Validator(Context.build(Settings(package_path=(package_path,)), FhirVersion.R4, igs=[UKCORE]))
    for data, profile in items:  # compile every Plan once, as the server has by the time it is measured
        validator.validate(data, profiles=[profile] if profile else [])
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        data, profile = items[done % len(items)]
        validator.validate(data, profiles=[profile] if profile else [])
        done += 1
    return done / (time.perf_counter() - start)


def load(base: str, items: list[tuple[bytes, str | None]], seconds: float, clients: int) -> dict[str, object]:
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(offset: int) -> None:
        with httpx.Client(timeout=30) as http:
            index = offset
            while time.perf_counter() < stop_at:
                data, profile = items[index % len(items)]
                index += clients
                params = {"profile": profile} if profile else {}
                began = time.perf_counter()
                answer = http.post(f"{base}/$validate", content=data, params=params,
                                   headers={"Content-Type": "application/fhir+json"})  # fmt: skip
                with lock:
                    latencies.append(time.perf_counter() - began)
                    if answer.status_code != 200:
                        failures.append(answer.status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p90_ms": cuts[89] * 1000,
        "p99_ms": cuts[98] * 1000,
        "max_ms": max(latencies) * 1000,
        "non_200": len(failures),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--package-path", type=Path, default=SHARED)
    args = parser.parse_args()
    items = workload(args.package_path)
    process, base = start_server(args.package_path)
    try:
        load(base, items, min(10.0, args.seconds), args.clients)  # warm: every Plan compiled
        rss_start = rss_kib(process.pid)
        figures = load(base, items, args.seconds, args.clients)
        rss_end = rss_kib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    baseline = in_process_rate(items, args.package_path, min(20.0, args.seconds))
    print(
        f"server, {args.clients} clients, {args.seconds:g} s: {figures['requests']} requests, "
        f"{figures['requests_per_s']:.0f}/s; latency p50 {figures['p50_ms']:.1f} ms, "
        f"p90 {figures['p90_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, max {figures['max_ms']:.1f} ms; "
        f"non-200 answers {figures['non_200']}"
    )
    print(
        f"server memory (RSS): {rss_start / 1024:.0f} MiB after warm-up, {rss_end / 1024:.0f} MiB at the end"
    )
    print(
        f"baseline, one Validator in-process: {baseline:.0f} validations/s "
        f"(server/in-process ratio {figures['requests_per_s'] / baseline:.2f})"
    )  # type: ignore[operator]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
