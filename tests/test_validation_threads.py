"""One Validator shared by threads (as `conformance serve` shares it) gives each payload its own answer."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator
from conformance.validation.walker import Frame

pytestmark = pytest.mark.shared

EXAMPLES = (
    Path(__file__).resolve().parents[1].parent / "shared" / "fhir-packages" / "_examples" / "ukcore-stu2"
)


def _issues(validator: Validator, data: bytes, profile: str | None) -> list[tuple[str, str, str]]:
    outcome = validator.validate(data, profiles=[profile] if profile else [])
    return [(i.severity.value, i.location, i.message) for i in outcome.issues]


def test_threads_sharing_a_validator_get_what_one_thread_gets(shared_settings: Settings) -> None:
    if not EXAMPLES.is_dir():
        pytest.skip(f"needs {EXAMPLES}")
    profiles: dict[str, str | None] = json.loads((EXAMPLES.parent / "ukcore-stu2-profiles.json").read_text())
    work = [((EXAMPLES / name).read_bytes(), profile) for name, profile in sorted(profiles.items())]
    context = Context.build(shared_settings, FhirVersion.R4, igs=["fhir.r4.ukcore.stu2#2.0.2"])
    alone = [_issues(Validator(context), data, profile) for data, profile in work]
    shared = Validator(context)  # fresh: its memos fill while the threads race
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda job: _issues(shared, *job), work * 2))
    assert together == alone * 2


def test_the_frame_resolve_reads_is_the_calling_threads(r4_validator: Validator) -> None:
    engine = r4_validator.engine
    seen: list[object] = []
    engine.evaluating_in(cast(Frame, object()))  # a marker: this thread's frame
    worker = threading.Thread(target=lambda: seen.append(engine._current))
    worker.start()
    worker.join()
    assert seen == [None]
    assert engine._current is not None
