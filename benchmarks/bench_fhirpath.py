"""What FHIRPath invariants cost per evaluation, beside baselines measured in the same run.

    .venv/bin/python benchmarks/bench_fhirpath.py [--quick]

For each common core invariant, on a realistic element: the time of one evaluation
through the fast path (when there is one) and through fhirpathpy, next to two
baselines timed on the same element in the same process (a plain dict lookup and
json.loads of the element's JSON text), so that figures from a busy or slow machine
can still be read ("used/loads": the cost of the evaluation the engine runs, in units of
json.loads of the same element). Then the cost of compiling, and an estimate of the invariant time
of one realistic resource. Prints only; never part of the test run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.fhirpath import CompiledExpression, FhirPathEngine
from conformance.fhirversion import FhirVersion

DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Ann Smith, born 4 March 1970</p></div>'
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "example",
    "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]},
    "text": {"status": "generated", "div": DIV},
    "extension": [
        {
            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
            "valueCodeableConcept": {
                "coding": [
                    {"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory", "code": "A"}
                ]
            },
        }
    ],
    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}],
    "name": [{"use": "official", "family": "Smith", "given": ["Ann"], "period": {"start": "2020-01-01"}}],
    "gender": "female",
    "birthDate": "1970-03-04",
    "contact": [
        {"name": {"family": "Smith", "given": ["Bob"]}, "telecom": [{"system": "phone", "value": "0"}]}
    ],
    "generalPractitioner": [{"reference": "Organization/gp", "display": "The Surgery"}],
}

PATIENT_WITH_CONTAINED: dict[str, Any] = {
    **PATIENT,
    "contained": [
        {"resourceType": "Organization", "id": "gp", "name": "The Surgery"},
        {"resourceType": "Practitioner", "id": "doc", "name": [{"family": "Who"}]},
    ],
    "generalPractitioner": [{"reference": "#gp"}, {"reference": "#doc"}],
}

ELE_1 = "hasValue() or (children().count() > id.count())"
DOM_3 = (
    "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants()"
    ".as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants()"
    ".where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants()"
    ".where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()"
)

# (key, expression, focus, focus type): R4 core invariants on the elements they apply to
CASES: list[tuple[str, str, Any, str | None]] = [
    ("ele-1 (object)", ELE_1, PATIENT["identifier"][0], "Identifier"),
    ("ele-1 (primitive)", ELE_1, "9000000009", "string"),
    ("ext-1", "extension.exists() != value.exists()", PATIENT["extension"][0], "Extension"),
    ("dom-2", "contained.contained.empty()", PATIENT, None),
    ("dom-3", DOM_3, PATIENT, None),
    ("dom-3 (2 contained)", DOM_3, PATIENT_WITH_CONTAINED, None),
    ("dom-4", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()", PATIENT, None),
    ("dom-5", "contained.meta.security.empty()", PATIENT, None),
    ("dom-6", "text.`div`.exists()", PATIENT, None),
    ("per-1", "start.hasValue().not() or end.hasValue().not() or (start <= end)",
     {"start": "2020-01-01T10:00:00Z", "end": "2021-06-30T09:00:00+01:00"}, "Period"),
    ("pat-1", "name.exists() or telecom.exists() or address.exists() or organization.exists()",
     PATIENT["contact"][0], "Patient.contact"),
    ("ref-1", "reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
     "%rootResource.contained.id.trace('ids'))", PATIENT["generalPractitioner"][0], "Reference"),
    ("txt-1", "htmlChecks()", DIV, "xhtml"),
    ("obs-6 (no fast path)", "dataAbsentReason.empty() or value.empty()",
     {"resourceType": "Observation", "status": "final", "valueString": "x"}, None),
]  # fmt: skip


def per_call(function: Callable[[], Any], calls: int, repeats: int) -> float:
    """Seconds per call: the best of `repeats` timed runs of `calls` calls (the least disturbed)."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        runs.append((time.perf_counter() - start) / calls)
    return min(runs)


def microseconds(seconds: float) -> str:
    return f"{seconds * 1e6:9.2f} us"


@dataclass(frozen=True)
class Timing:
    fast: float | None
    general: float
    lookup: float
    decode: float

    @property
    def used(self) -> float:
        """What the engine pays: the fast path when there is one."""
        return self.fast if self.fast is not None else self.general


def time_case(
    compiled: CompiledExpression, focus: Any, focus_type: str | None, calls: int, repeats: int
) -> Timing:
    resource = focus if isinstance(focus, dict) and "resourceType" in focus else PATIENT

    def general() -> Any:
        return compiled.evaluate_general(focus, resource=resource, focus_type=focus_type)

    def fast() -> Any:
        return compiled.evaluate(focus, resource=resource, focus_type=focus_type)

    def lookup() -> Any:
        return isinstance(focus, dict) and "value" in focus and focus["value"]

    encoded = json.dumps(focus)
    return Timing(
        fast=per_call(fast, calls, repeats) if compiled.is_fast else None,
        general=per_call(general, max(calls // 20, 20), repeats),
        lookup=per_call(lookup, calls, repeats),
        decode=per_call(lambda: json.loads(encoded), calls, repeats),
    )


def bench_invariants(engine: FhirPathEngine, calls: int, repeats: int) -> dict[str, float]:
    header = ("invariant", "fast path", "fhirpathpy", "dict lookup", "json.loads", "used/loads")
    print(f"{header[0]:<22}" + "".join(f"{title:>13}" for title in header[1:]))
    costs = {}
    for key, text, focus, focus_type in CASES:
        timing = time_case(engine.compile(text, key=key.split()[0]), focus, focus_type, calls, repeats)
        fast_text = microseconds(timing.fast) if timing.fast is not None else "-"
        columns = [fast_text, *(microseconds(t) for t in (timing.general, timing.lookup, timing.decode))]
        print(
            f"{key:<22}"
            + "".join(f"{column:>13}" for column in columns)
            + f"{timing.used / timing.decode:>12.1f}x"
        )
        costs[key] = timing.used
    return costs


def bench_compile(calls: int) -> None:
    texts = [text for _, text, _, _ in CASES]
    durations = []
    for _ in range(calls):
        engine = FhirPathEngine(FhirVersion.R4)  # a fresh engine: nothing cached
        start = time.perf_counter()
        for text in texts:
            engine.compile(text)
        durations.append((time.perf_counter() - start) / len(texts))
    engine = FhirPathEngine(FhirVersion.R4)
    engine.compile(texts[0])
    cached = per_call(lambda: engine.compile(texts[0]), 10_000, 3)
    print(f"\ncompile: {microseconds(statistics.median(durations))} per expression (median of {calls} runs);"
          f" cached lookup {microseconds(cached)}")  # fmt: skip


def estimate_resource(costs: dict[str, float], example: Path | None) -> None:
    resource = json.loads(example.read_text()) if example else PATIENT
    engine = FhirPathEngine(FhirVersion.R4)
    elements = engine.compile("descendants().count()").evaluate(resource)[0] + 1
    extensions = engine.compile("descendants().where($this is Extension).count()").evaluate(resource)[0]
    references = engine.compile("descendants().where($this is Reference).count()").evaluate(resource)[0]
    total = (
        elements * costs["ele-1 (object)"]
        + extensions * costs["ext-1"]
        + references * costs["ref-1"]
        + sum(costs[key] for key in ("dom-2", "dom-3", "dom-4", "dom-5", "dom-6"))
    )
    name = example.name if example else "the built-in Patient"
    print(f"\n{name}: {elements} elements, {extensions} extensions, {references} references")
    print(f"core invariants (ele-1, ext-1, ref-1, dom-2..dom-6): {microseconds(total)} per resource"
          f" -> {1 / total:,.0f} resources/s for this part alone")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    parser.add_argument(
        "--example", type=Path, default=None, help="a resource (JSON) for the per-resource estimate"
    )
    args = parser.parse_args()
    calls, repeats = (2_000, 3) if args.quick else (20_000, 5)
    shared = (
        Path(__file__).resolve().parents[1].parent / "shared" / "fhir-packages" / "_examples" / "ukcore-stu2"
    )
    example = args.example or next(
        iter(sorted(shared.glob("UKCore-Patient-RichardSmith-Example.json"))), None
    )
    engine = FhirPathEngine(FhirVersion.R4)
    costs = bench_invariants(engine, calls, repeats)
    bench_compile(3 if args.quick else 10)
    estimate_resource(costs, example)


if __name__ == "__main__":
    main()
