"""Print every issue (all fields, in order) of a fixed set of payloads, one JSON line per payload.

smoke_compiled.py runs this under each build: the installed wheel's compiled core, and the checkout's
Python sources put first on PYTHONPATH. The payloads: every UK Core and Care Connect example, the UK Core
examples' single-change variants and every value of them replaced by each JSON type in turn (the
checkout's tests/example_variants.py), and the R4 specification's examples. Arguments: the FHIR package
folder, a scratch folder for caches.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator
from example_variants import UKCORE, enriched, example_cases, examples, issues, retyped
from specification_support import is_example, json_members

CARE_CONNECT = "nhsconnect.stu3-fhir-assets#0.0.0-develop.20241024"
SPECIFICATION_EXAMPLES = "hl7.fhir.r4.examples#4.0.1.tgz"
LARGEST_SPECIFICATION_EXAMPLE = 200_000  # a few Bundles of definitions run to megabytes


def retyped_examples(packages: Path) -> Iterator[tuple[str, Any, str | None]]:
    """The UK Core examples, given what they may lack, with each value replaced by each type in turn: a
    compiled build checks a value's type where the sources' annotations say what it is."""
    folder = packages / "_examples" / "ukcore-stu2"
    for name, profile in examples():
        resource = enriched(json.loads((folder / name).read_text()), profile)
        for change, variant in retyped(resource):
            yield f"{name} {change}", variant, profile


def care_connect_examples(packages: Path) -> Iterator[tuple[str, Any, str | None]]:
    folder = packages / "_examples" / "careconnect-stu3"
    index = folder.parent / "careconnect-stu3-profiles.json"
    profiles: dict[str, str | None] = json.loads(index.read_text())
    for name, profile in sorted(profiles.items()):
        yield name, json.loads((folder / name).read_text()), profile


def specification_examples(packages: Path) -> Iterator[tuple[str, Any, str | None]]:
    for name, payload in json_members(packages / SPECIFICATION_EXAMPLES, LARGEST_SPECIFICATION_EXAMPLE):
        if is_example(payload):
            yield name, payload, None


def main(packages: Path, scratch: Path) -> None:
    settings = Settings(
        package_path=(packages,),
        package_cache=scratch / "packages",
        work_cache=scratch / "work",
        offline=True,
    )
    runs = (
        (FhirVersion.R4, [UKCORE], example_cases()),
        (FhirVersion.R4, [UKCORE], list(retyped_examples(packages))),
        (FhirVersion.STU3, [CARE_CONNECT], list(care_connect_examples(packages))),
        (FhirVersion.R4, [], list(specification_examples(packages))),
    )
    for version, igs, cases in runs:
        validator = Validator(Context.build(settings, version, igs=igs))
        for name, payload, profile in cases:
            sys.stdout.write(json.dumps([name, issues(validator, payload, profile)], default=str) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
