"""FHIRPath against the real definitions and instances in ../shared.

- every constraint expression of R4 core, STU3 core, UK Core STU2, Care Connect and the NHS STU3 assets
  compiles (no exceptions today);
- every published correction still matches an expression of its FHIR version;
- every core constraint that applies to an element of a UK Core example (and of the NHS
  STU3 examples) holds, except failures shown to be defects of the examples;
- hand-written invalid instances in fixtures/fhirpath/ fail exactly the constraints
  their manifest names, at the locations it names.

Which constraints apply where comes from the base resource and datatype
StructureDefinitions of the core package: the walk below follows each instance
element by element (choice types by suffix, content references, datatypes, contained
and Bundle entry resources) and checks the element's own constraints plus those of
its type.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from itertools import zip_longest
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from conformance.fhirpath import FhirPathEngine, FhirPathError, Hooks, Primitive, ResolveScope
from conformance.fhirpath.corrections import CORRECTIONS
from conformance.fhirversion import FhirVersion

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PACKAGES = SHARED / "fhir-packages"
FIXTURES = REPO / "fixtures" / "fhirpath"

CORE = {FhirVersion.R4: "hl7.fhir.r4.core#4.0.1.tgz", FhirVersion.STU3: "hl7.fhir.r3.core#3.0.1.tgz"}
# (tarball, FHIR version, which element list holds the constraints)
CONSTRAINT_SOURCES = (
    ("hl7.fhir.r4.core#4.0.1.tgz", FhirVersion.R4, "snapshot"),
    ("hl7.fhir.r3.core#3.0.1.tgz", FhirVersion.STU3, "snapshot"),
    ("fhir.r4.ukcore.stu2#2.0.2.tgz", FhirVersion.R4, "differential"),
    ("careconnect.stu3#1.0.0.tgz", FhirVersion.STU3, "differential"),
    ("nhsconnect.stu3-fhir-assets#0.0.0-develop.20241024.tgz", FhirVersion.STU3, "snapshot"),
    ("nhsconnect.stu3-fhir-assets#0.0.0-develop.20241024.tgz", FhirVersion.STU3, "differential"),
)

# Expressions published in these packages that this engine cannot compile, with why.
# Today every one compiles; an addition here needs a reason and a look at the engine.
KNOWN_UNSUPPORTED: dict[str, str] = {}

# UK Core constraint failures on the UK Core examples that are defects of the examples.
UK_CORE_EXAMPLE_DEFECTS = {
    # a final lab report without `issued` (ukcore-diag-lab-001, a warning)
    ("UKCore-DiagnosticReport-Lab-DiagnosticStudiesReport-Example.json", "ukcore-diag-lab-001"),
}

# Constraint failures on the NHS STU3 examples that are defects of the examples.
STU3_EXAMPLE_DEFECTS = {
    # `"system": ""`: an empty string is no value (ele-1)
    ("DCH-PhysicalExamination-Bundle-Example-1", "ele-1"),
    ("DCH-Referral-Bundle-Example-1", "ele-1"),
    # Conditions without clinicalStatus that are not entered-in-error (con-3)
    ("DCH-ProblemList-Bundle-Example-1", "con-3"),
    ("DCH-DevelopmentalSkills-Bundle-Example-1", "con-3"),
    # a document Bundle inside the payload without identifier (bdl-9)
    ("ITK-SendPayload-Payload-Removed-Example-1", "bdl-9"),
}


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared FHIR packages sit beside the repository)")
    return path


@cache
def _package_resources(tarball: str) -> tuple[dict[str, Any], ...]:
    resources = []
    with tarfile.open(_require(PACKAGES / tarball)) as archive:
        for member in archive.getmembers():
            name = member.name
            if not name.endswith(".json") or "/." in name or name.endswith("package.json"):
                continue
            extracted = archive.extractfile(member)
            if extracted is not None:
                resources.append(json.load(extracted))
    return tuple(resources)


def _structure_definitions(tarball: str) -> Iterator[dict[str, Any]]:
    for resource in _package_resources(tarball):
        if resource.get("resourceType") == "StructureDefinition":
            yield resource


def _constraints(tarball: str, part: str) -> set[tuple[str, str]]:
    found = set()
    for definition in _structure_definitions(tarball):
        for element in definition.get(part, {}).get("element", []):
            for constraint in element.get("constraint", []):
                if constraint.get("expression"):
                    found.add((constraint["key"], constraint["expression"]))
    return found


@cache
def _engine(version: FhirVersion) -> FhirPathEngine:
    return FhirPathEngine(version, Hooks(resolve=_resolve_in_bundle))


# --- compiling ---------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize(("tarball", "version", "part"), CONSTRAINT_SOURCES, ids=str)
def test_every_published_constraint_compiles(tarball: str, version: FhirVersion, part: str) -> None:
    engine = FhirPathEngine(version)
    constraints = _constraints(tarball, part)
    failures = {}
    for key, expression in sorted(constraints):
        try:
            engine.compile(expression, key=key)
        except FhirPathError as exc:
            failures[expression] = str(exc)
    published = {expression for _, expression in constraints}
    assert failures.keys() == KNOWN_UNSUPPORTED.keys() & published, failures


def test_the_list_of_unsupported_expressions_stays_small() -> None:
    assert len(KNOWN_UNSUPPORTED) <= 3


@pytest.mark.shared
def test_core_packages_have_the_constraints_we_expect() -> None:
    # A guard against reading the wrong part of the packages and "compiling" nothing.
    assert len(_constraints(CORE[FhirVersion.R4], "snapshot")) > 200
    assert len(_constraints(CORE[FhirVersion.STU3], "snapshot")) > 150
    assert {key for key, _ in _constraints("fhir.r4.ukcore.stu2#2.0.2.tgz", "differential")} >= {
        "ukcore-obs-lab-001",
        "ukcore-spec-001",
    }


@pytest.mark.shared
@pytest.mark.parametrize("correction", CORRECTIONS, ids=lambda c: c.corrected[:40])
def test_every_correction_matches_a_published_expression(correction: Any) -> None:
    published = set()
    for version in correction.versions:
        published |= {expression for _, expression in _constraints(CORE[version], "snapshot")}
    assert correction.published in published
    for version in correction.versions:
        compiled = _engine(version).compile(correction.published, key=correction.key)
        assert compiled.effective_text == correction.corrected


# --- walking instances -------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    location: str
    key: str
    detail: str = field(compare=False)


class ConstraintWalker:
    """Checks every applicable core constraint on every element of an instance."""

    def __init__(self, version: FhirVersion) -> None:
        self.engine = _engine(version)
        self.definitions = _type_definitions(CORE[version])
        self.checked = 0
        self.unknown_elements: list[str] = []
        self.failures: list[Failure] = []
        self.fast_mismatches: list[tuple[str, str, list[Any], list[Any]]] = []

    def walk(self, resource: Mapping[str, Any], location: str = "") -> list[Failure]:
        self.payload = resource
        self._walk_resource(resource, resource, location or str(resource["resourceType"]))
        return self.failures

    def _check(self, constraints: list[dict[str, Any]], focus: Any, focus_type: str, where: Where) -> None:
        seen = set()
        for constraint in constraints:
            key, expression = constraint["key"], constraint.get("expression")
            if not expression or key in seen:
                continue
            seen.add(key)
            compiled = self.engine.compile(expression, key=key)
            arguments = {
                "resource": where.resource,
                "root_resource": where.root,
                "focus_type": focus_type,
                "scope": self.payload,
            }
            try:
                holds = compiled.is_satisfied(focus, **arguments)
                if compiled.is_fast:
                    fast, general = (
                        compiled.evaluate(focus, **arguments),
                        compiled.evaluate_general(focus, **arguments),
                    )
                    if fast != general:
                        self.fast_mismatches.append((where.location, key, fast, general))
            except FhirPathError as exc:
                self.failures.append(Failure(where.location, key, f"error: {exc}"))
                continue
            self.checked += 1
            if not holds:
                self.failures.append(Failure(where.location, key, expression))

    def _walk_resource(self, resource: Mapping[str, Any], root: Mapping[str, Any], location: str) -> None:
        resource_type = str(resource["resourceType"])
        elements = self.definitions[resource_type]
        where = Where(location, resource, root)
        self._check(elements[resource_type].get("constraint", []), resource, resource_type, where)
        self._walk_children(resource, resource_type, elements, where)

    def _walk_children(self, data: Mapping[str, Any], path: str, elements: Elements, where: Where) -> None:
        for name, pairs, repeats in _properties(data):
            element, choice_type = _element_for(elements, path, name)
            if element is None:
                self.unknown_elements.append(f"{where.location}.{name}")
                continue
            child_path = element["path"].removesuffix("[x]")
            if "contentReference" in element:
                child_path = element["contentReference"].lstrip("#")
                element = {**elements[child_path], "constraint": element.get("constraint", [])}
            for index, (value, extra) in enumerate(pairs):
                if value is None and extra is None:
                    continue
                child = where.at(
                    f"{where.location}.{name}[{index}]" if repeats else f"{where.location}.{name}"
                )
                definition = Definition(element, choice_type or _single_type(element), child_path, elements)
                self._walk_value(value, extra, definition, child)

    def _walk_value(self, value: Any, extra: Any, definition: Definition, where: Where) -> None:
        element, type_code, path, elements = definition
        if isinstance(value, Mapping) and "resourceType" in value:
            contained = path.endswith(".contained")
            self._walk_resource(value, where.root if contained else value, where.location)
            return
        if type_code in (None, "BackboneElement", "Element") or (type_code not in self.definitions):
            self._check(element.get("constraint", []), value, path, where)
            if isinstance(value, Mapping):
                self._walk_children(value, path, elements, where)
            return
        type_elements = self.definitions[type_code]
        focus = (
            Primitive(value, extra)
            if isinstance(extra, Mapping) and not isinstance(value, Mapping)
            else value
        )
        constraints = [*element.get("constraint", []), *type_elements[type_code].get("constraint", [])]
        self._check(constraints, focus, type_code, where)
        if isinstance(value, Mapping):
            self._walk_children(value, type_code, type_elements, where)


Elements = Mapping[str, Mapping[str, Any]]


class Definition(NamedTuple):
    """The element definition an occurrence matched, its type and path, and the definitions around it."""

    element: Mapping[str, Any]
    type_code: str | None
    path: str
    elements: Elements


@dataclass(frozen=True)
class Where:
    location: str
    resource: Mapping[str, Any]
    root: Mapping[str, Any]

    def at(self, location: str) -> Where:
        return Where(location, self.resource, self.root)


@cache
def _type_definitions(tarball: str) -> dict[str, dict[str, Mapping[str, Any]]]:
    definitions = {}
    for definition in _structure_definitions(tarball):
        if definition.get("derivation") == "specialization" and definition.get("kind") != "logical":
            definitions[definition["type"]] = {e["path"]: e for e in definition["snapshot"]["element"]}
    return definitions


def _properties(data: Mapping[str, Any]) -> Iterator[tuple[str, list[tuple[Any, Any]], bool]]:
    """(name, [(value, `_name` sibling)...], repeats) for each element of a JSON object."""
    for key, content in data.items():
        if key in ("resourceType", "fhir_comments"):
            continue
        if key.startswith("_"):
            if key[1:] in data:
                continue
            name, value, extras = key[1:], None, content
        else:
            name, value, extras = key, content, data.get(f"_{key}")
        if isinstance(value, list) or isinstance(extras, list):
            values = value if isinstance(value, list) else []
            extra_list = extras if isinstance(extras, list) else []
            yield name, list(zip_longest(values, extra_list)), True
        else:
            yield name, [(value, extras)], False


def _element_for(elements: Elements, path: str, name: str) -> tuple[Mapping[str, Any] | None, str | None]:
    element = elements.get(f"{path}.{name}")
    if element is not None:
        return element, None
    for candidate_path, candidate in elements.items():
        if not candidate_path.endswith("[x]") or candidate_path.rsplit(".", 1)[0] != path:
            continue
        base = candidate_path.rsplit(".", 1)[1][:-3]
        if name.startswith(base):
            suffix = name[len(base) :]
            for type_ref in candidate.get("type", []):
                code = type_ref.get("code", "")
                if code[:1].upper() + code[1:] == suffix:
                    return candidate, code
    return None, None


def _single_type(element: Mapping[str, Any]) -> str | None:
    codes = {type_ref.get("code") for type_ref in element.get("type", [])}
    if len(codes) != 1:
        return None
    code = codes.pop()
    if not code or code.startswith("http://hl7.org/fhirpath/System."):
        return "string"
    return str(code)


def _resolve_in_bundle(reference: str, scope: ResolveScope) -> Mapping[str, Any] | None:
    """A resolve() hook that finds Bundle entries by fullUrl, as the validation engine will.

    The walker passes the whole payload as the evaluation's scope.
    """
    bundle = scope.context
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        return None
    for entry in bundle.get("entry", []):
        if isinstance(entry, Mapping) and entry.get("fullUrl") == reference:
            found = entry.get("resource")
            return found if isinstance(found, Mapping) else None
    return None


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    return loaded


# --- the UK Core and NHS examples --------------------------------------------------


@pytest.mark.shared
def test_core_constraints_hold_on_every_uk_core_example() -> None:
    examples = sorted(_require(PACKAGES / "_examples" / "ukcore-stu2").glob("*.json"))
    assert len(examples) >= 100
    walker = ConstraintWalker(FhirVersion.R4)
    failures = []
    for path in examples:
        failures += [(path.stem, f) for f in walker.walk(_load(path), path.stem)]
        walker.failures = []
    # dom-6 (a best-practice warning: resources should have a narrative) fails on the
    # examples that have none. That is a true finding about the examples, not an error.
    real = [(name, f) for name, f in failures if f.key != "dom-6"]
    assert real == []
    assert len(failures) >= 100  # 139 examples have no narrative
    assert walker.checked > 4000
    assert walker.fast_mismatches == []
    assert walker.unknown_elements == []  # the walk reached every element


@pytest.mark.shared
def test_uk_core_constraints_hold_on_their_examples() -> None:
    example_folder = _require(PACKAGES / "_examples" / "ukcore-stu2")
    profiles = json.loads((PACKAGES / "_examples" / "ukcore-stu2-profiles.json").read_text())
    constraints_by_profile: dict[str, list[tuple[str, str]]] = {}
    for definition in _structure_definitions("fhir.r4.ukcore.stu2#2.0.2.tgz"):
        for element in definition.get("differential", {}).get("element", []):
            for constraint in element.get("constraint", []):
                # all UK Core STU2 constraints sit on the resource itself
                assert element["path"] == definition["type"]
                constraints_by_profile.setdefault(definition["url"], []).append(
                    (constraint["key"], constraint["expression"])
                )
    engine = _engine(FhirVersion.R4)
    checked, failed = [], set()
    for file_name, profile in sorted(profiles.items()):
        resource = _load(example_folder / file_name)
        for key, expression in constraints_by_profile.get(profile, []):
            if not engine.compile(expression, key=key).is_satisfied(resource):
                failed.add((file_name, key))
            checked.append(key)
    assert {"ukcore-obs-lab-001", "ukcore-spec-001", "ukcore-imm-001", "ukcore-diag-lab-001"} <= set(checked)
    assert failed == UK_CORE_EXAMPLE_DEFECTS


@pytest.mark.shared
@pytest.mark.slow
def test_core_constraints_hold_on_the_nhs_stu3_examples() -> None:
    examples = sorted(_require(PACKAGES / "_examples" / "careconnect-stu3").glob("*.json"))
    found = set()
    checked = 0
    unknown = []
    for path in examples:
        resource = _load(path)
        walker = ConstraintWalker(FhirVersion.STU3)
        for failure in walker.walk(resource, path.stem):
            if failure.key != "dom-6":
                found.add((path.stem.removesuffix(".xml"), failure.key))
        checked += walker.checked
        unknown += walker.unknown_elements
        assert walker.fast_mismatches == []
    assert found == STU3_EXAMPLE_DEFECTS
    # a DSTU2 element left in an STU3 example: Practitioner.practitionerRole no longer exists
    assert unknown == ["Audit-Practitioner-Example-1b.practitionerRole"]
    assert checked > 30000


# --- hand-written invalid instances ------------------------------------------------


def _fixture_cases() -> list[dict[str, Any]]:
    manifest = json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = manifest["cases"]
    return cases


@pytest.mark.shared
@pytest.mark.parametrize("case", _fixture_cases(), ids=lambda case: case["file"])
def test_invalid_fixture_fails_exactly_the_named_constraints(case: dict[str, Any]) -> None:
    version = FhirVersion.parse(case["fhir_version"])
    resource = _load(FIXTURES / case["file"])
    walker = ConstraintWalker(version)
    failures = walker.walk(resource)
    found = sorted((failure.location, failure.key) for failure in failures)
    expected = sorted((item["location"], item["key"]) for item in case["fails"])
    assert found == expected, [f"{f.location} {f.key}: {f.detail}" for f in failures]
    assert walker.fast_mismatches == []
    assert walker.unknown_elements == []


def test_fixture_manifest_covers_the_constraints_the_brief_names() -> None:
    covered = {(case["fhir_version"], item["key"]) for case in _fixture_cases() for item in case["fails"]}
    for key in ("pat-1", "obs-6", "obs-7", "ele-1", "ext-1", "dom-2", "dom-3", "dom-4", "dom-5", "dom-6",
                "txt-1", "txt-2", "ref-1", "per-1", "qty-3"):  # fmt: skip
        assert ("R4", key) in covered, key
    for key in ("pat-1", "obs-6", "obs-7", "ele-1", "ext-1", "dom-3", "txt-1", "txt-2", "ref-1", "per-1"):
        assert ("STU3", key) in covered, key
