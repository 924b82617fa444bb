"""Bulk validation on a Dask cluster: a LocalCluster of 2 worker processes on 127.0.0.1, started here.

The cluster's results must be those of a local run, byte for byte in the command's JSON output, and in
order; a scheduler that cannot be reached is a one-line error (exit 2), never a traceback or a hang.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.reports.payloads import discover, payloads
from conformance.reports.runner import ContextSpec, RunSpec, validate_payloads
from conformance.settings import Settings
from server_support import REPO, SHARED_PACKAGES, command_environment

distributed = pytest.importorskip("distributed", reason="needs the dask extra (pip install '.[dask]')")

pytestmark = [pytest.mark.shared, pytest.mark.slow]

UKCORE = "fhir.r4.ukcore.stu2#2.0.2"
STATEMENTS = REPO / "fixtures" / "statements"
UKCORE_EXAMPLES = SHARED_PACKAGES / "_examples" / "ukcore-stu2"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    if not (SHARED_PACKAGES / "hl7.fhir.r4.core#4.0.1.tgz").is_file():
        pytest.skip(f"needs the shared FHIR packages at {SHARED_PACKAGES}")
    local = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    try:
        yield local.scheduler_address
    finally:
        local.close()


@pytest.fixture(scope="module")
def bulk_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Bulk Data-like folder: NDJSON files of UK Core examples by type, plus single payload files."""
    folder = tmp_path_factory.mktemp("bulk")
    by_type: dict[str, list[str]] = {}
    for path in sorted(UKCORE_EXAMPLES.glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        by_type.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    for kind, lines in by_type.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(lines * 3) + "\n", encoding="utf-8")
    for path in [*(STATEMENTS / "valid").glob("*.json"), *(STATEMENTS / "invalid").glob("*.json")]:
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def _validate(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", "validate", f"--ig={UKCORE}", *arguments],
        capture_output=True, text=True, env=command_environment(), timeout=600, check=False,
    )  # fmt: skip


def test_the_command_on_the_cluster_prints_what_a_local_run_prints(cluster: str, bulk_folder: Path) -> None:
    local = _validate("--format", "json", str(bulk_folder))
    remote = _validate("--format", "json", "--dask", cluster, str(bulk_folder))
    assert local.returncode == 1, local.stderr[-2000:]  # the invalid fixtures are in the folder
    assert remote.returncode == local.returncode, remote.stderr[-2000:]
    assert remote.stdout == local.stdout
    bundle = json.loads(remote.stdout)
    assert len(bundle["entry"]) > 300


def test_the_library_gives_the_local_results_in_order(cluster: str, bulk_folder: Path) -> None:
    settings = Settings(package_path=(SHARED_PACKAGES,), offline=True)
    spec = ContextSpec(settings, FhirVersion.R4, igs=(UKCORE,))
    context: Context = spec.build()
    run = RunSpec.for_context(spec, context, ())
    inputs = discover([bulk_folder])
    local = list(validate_payloads(payloads(inputs), run))
    from conformance.reports.distributed import validate_on_dask  # noqa: PLC0415

    remote = list(validate_on_dask(payloads(inputs), run, cluster))
    assert [(r.source, r.line) for r in remote] == [(r.source, r.line) for r in local]
    assert [r.outcome.issues for r in remote] == [r.outcome.issues for r in local]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    result = _validate("--dask", f"tcp://127.0.0.1:{_closed_port()}", str(STATEMENTS / "valid"))
    assert result.returncode == 2
    assert "cannot reach the Dask scheduler" in result.stderr
    assert "Traceback" not in result.stderr


def test_dask_and_jobs_together_are_refused() -> None:
    result = _validate("--dask", "tcp://127.0.0.1:1", "--jobs", "2", str(STATEMENTS / "valid"))
    assert result.returncode == 2
    assert "--dask and --jobs do not go together" in result.stderr
