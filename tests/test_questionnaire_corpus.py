"""check_response over the questionnaire cases of the HL7 validator corpus in ../shared/corpus.

For each case the input QuestionnaireResponse and the Questionnaire among its supporting files are loaded,
and the number of error findings is compared with the Java validator's expected errors that are
questionnaire rules: located in the QuestionnaireResponse itself (not in a contained resource), and not one of
the generic structure / parsing / invariant messages that the engine, not this module, produces.

A disagreeing case is reported as xfail with both lists, so the run shows where and why; the agreement
over all comparable cases is asserted against a floor below the figure measured when this was written
(docs/questionnaire.md gives the figure). XML files are read with conformance.instance, whose XML reader
needs a TypeModel: R4 uses the session's ``r4_context`` (tests/conftest.py), STU3 builds its own context.
Cases whose input is a Questionnaire are skipped with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.context import Context
from conformance.definitions.typemodel import TypeModel
from conformance.fhirversion import FhirVersion
from conformance.instance import parse_file
from conformance.settings import Settings
from conformance.validation.questionnaire import check_response, questionnaire_reference

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus"
CASE_FOLDERS = ("hl7-validator-cases", "hl7-validator-cases-stu3")

# The share of comparable cases that must agree. Measured: 59 of 60 (the one disagreement needs the
# jurisdiction ValueSet of the core package and a terminology server to reject a free-text country).
AGREEMENT_FLOOR = 0.9

# Expected errors with these texts come from the engine's generic checks (JSON syntax, unknown properties,
# invariants, Attachment size consistency, unknown extensions), not from questionnaire rules.
ENGINE_MESSAGE_MARKERS = (
    "Unrecognized property",
    "extra comma",
    "Constraint failed",
    "Stated Attachment Size",
    "could not be found so is not allowed here",
)

pytestmark = pytest.mark.shared


@dataclass(frozen=True)
class Case:
    folder: Path
    name: str
    entry: Mapping[str, Any]


class SupportingFiles:
    """The case's supporting resources by canonical URL; no terminology answers, as when offline."""

    def __init__(self, resources: list[Mapping[str, Any]]) -> None:
        self.by_url: dict[str, Mapping[str, Any]] = {}
        for resource in resources:
            url = resource.get("url")
            if isinstance(url, str):
                self.by_url.setdefault(url, resource)
                self.by_url.setdefault(f"{url}|{resource.get('version')}", resource)

    def resolve(self, url: str) -> Mapping[str, Any] | None:
        return self.by_url.get(url) or self.by_url.get(url.split("|", 1)[0])

    def value_set_contains(self, url: str, system: str | None, code: str) -> bool | None:
        return None


def _cases() -> Iterator[Any]:
    if not CORPUS.is_dir():
        yield pytest.param(None, id="corpus-absent")
        return
    for folder_name in CASE_FOLDERS:
        folder = CORPUS / folder_name
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        for entry in manifest["cases"]:
            if entry["category"] == "questionnaire":
                yield pytest.param(Case(folder, entry["name"], entry), id=f"{folder_name}/{entry['name']}")


Reader = Callable[[Path, FhirVersion], dict[str, Any]]


@pytest.fixture(scope="session")
def stu3_context(shared_settings: Settings) -> Context:
    return Context.build(shared_settings, FhirVersion.STU3)


@pytest.fixture(scope="session")
def read_resource(request: pytest.FixtureRequest) -> Reader:
    """Reads a corpus file as FHIR JSON; the contexts that XML needs are built only when an XML file comes."""
    models: dict[FhirVersion, TypeModel] = {}

    def model(version: FhirVersion) -> TypeModel:
        if version not in models:
            fixture = "stu3_context" if version is FhirVersion.STU3 else "r4_context"
            models[version] = TypeModel(request.getfixturevalue(fixture))
        return models[version]

    def read(path: Path, version: FhirVersion) -> dict[str, Any]:
        if path.suffix != ".xml":
            return _read_json(path)
        parsed = parse_file(path, model=model(version))
        if parsed.resource is None:
            pytest.skip(f"{path.name} could not be read: {[issue.message for issue in parsed.issues]}")
        return dict(parsed.resource)

    return read


def _read_json(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        data: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:
        # One STU3 input has a trailing comma on purpose (the engine's lenient parser reports it);
        # the questionnaire rules are still worth checking on the rest of it.
        data = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    return data


def _expected_questionnaire_errors(entry: Mapping[str, Any]) -> list[str]:
    return [
        issue["message"]
        for issue in entry["expected"]["issues"]
        if issue["severity"] in ("error", "fatal")
        and (issue.get("expression") or "").startswith("QuestionnaireResponse")
        and not (issue.get("expression") or "").startswith("QuestionnaireResponse.contained")
        and not any(marker in issue["message"] for marker in ENGINE_MESSAGE_MARKERS)
    ]


@dataclass(frozen=True)
class Comparison:
    expected: list[str]
    found: list[str]

    @property
    def agrees(self) -> bool:
        return len(self.expected) == len(self.found)


def _compare(case: Case, read: Reader) -> Comparison:
    version = FhirVersion.STU3 if case.entry["fhir_version"].startswith("3") else FhirVersion.R4
    response = read(case.folder / case.entry["input"], version)
    if response.get("resourceType") != "QuestionnaireResponse":
        kind = response.get("resourceType")
        pytest.skip(f"the input is a {kind}; check_response checks QuestionnaireResponses only")
    lookup = SupportingFiles([read(case.folder / name, version) for name in case.entry["supporting"]])
    reference = questionnaire_reference(response)
    questionnaire = lookup.resolve(reference) if reference else None
    findings = check_response(response, questionnaire, fhir_version=version, lookup=lookup)
    found = [f"{f.message_id} at {f.path}" for f in findings if f.severity.is_error]
    return Comparison(_expected_questionnaire_errors(case.entry), found)


@pytest.mark.parametrize("case", list(_cases()))
def test_case_error_count_agrees_with_the_java_validator(case: Case | None, read_resource: Reader) -> None:
    if case is None:
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    comparison = _compare(case, read_resource)
    if not comparison.agrees:
        pytest.xfail(f"expected {comparison.expected}, found {comparison.found}")


def test_agreement_over_the_corpus_stays_above_the_floor(read_resource: Reader) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    results: list[bool] = []
    for param in _cases():
        (case,) = param.values
        try:
            results.append(_compare(case, read_resource).agrees)
        except pytest.skip.Exception:
            continue
    assert len(results) >= 55, "fewer comparable cases than expected: has the corpus changed?"
    agreement = sum(results) / len(results)
    assert agreement >= AGREEMENT_FLOOR, f"{sum(results)} of {len(results)} cases agree"
