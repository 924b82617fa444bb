"""Rules for conformance resources (SearchParameter, StructureDefinition...) that no invariant states."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conformance.fhirversion import FhirVersion
from conformance.outcome import Severity
from conformance.validation.questionnaire_definition import enable_when_problems

if TYPE_CHECKING:
    from conformance.validation.report import Loc
    from conformance.validation.walker import Frame, Walker


def _indexed(items: Any) -> list[tuple[int, Mapping[str, Any]]]:
    return (
        [(i, item) for i, item in enumerate(items) if isinstance(item, Mapping)]
        if isinstance(items, list)
        else []
    )


class DefinitionalChecks:
    def check(self, walker: Walker, resource: Mapping[str, Any], loc: Loc, frame: Frame) -> None:
        kind = resource.get("resourceType")
        if kind == "SearchParameter":
            self._search_parameter(walker, resource, loc)
        elif kind == "StructureDefinition":
            self._structure_definition(walker, resource, loc)
        elif kind == "CapabilityStatement":
            self._capability_statement(walker, resource, loc)
        elif kind == "Questionnaire" and walker.definitions.fhir_version is not FhirVersion.STU3:
            self._questionnaire(walker, resource, loc)

    @staticmethod
    def _questionnaire(walker: Walker, questionnaire: Mapping[str, Any], loc: Loc) -> None:
        """What each enableWhen points at (the HL7 validator checks this from R4 on)."""
        for problem in enable_when_problems(questionnaire):
            target = loc
            for step in problem.path:
                target = target.at(step) if isinstance(step, int) else target.child(step)
            walker.report.add(problem.severity, "business-rule", problem.message_id, problem.message, target)

    @staticmethod
    def _capability_statement(walker: Walker, statement: Mapping[str, Any], loc: Loc) -> None:
        """A search parameter that names its definition must have that definition's type."""
        for r, rest in _indexed(statement.get("rest")):
            for s, resource in _indexed(rest.get("resource")):
                for p, parameter in _indexed(resource.get("searchParam")):
                    definition = parameter.get("definition")
                    found = walker.engine.context.resolve(definition) if isinstance(definition, str) else None
                    if not isinstance(found, Mapping) or found.get("type") == parameter.get("type"):
                        continue
                    walker.report.error(
                        "business-rule",
                        "capabilitystatement.searchparam-type",
                        f"Type mismatch - SearchParameter '{definition}' type is {found.get('type')}, "
                        f"but type here is {parameter.get('type')}",
                        loc.child("rest", r).child("resource", s).child("searchParam", p),
                    )

    @staticmethod
    def _search_parameter(walker: Walker, parameter: Mapping[str, Any], loc: Loc) -> None:
        components = parameter.get("component")
        if parameter.get("type") == "composite" and (not isinstance(components, list) or len(components) < 2):
            walker.report.error(
                "business-rule",
                "searchparameter.composite-components",
                "When the SearchParameter has a type of 'composite', "
                "then the SearchParameter must define two or more components",
                loc,
            )
        derived_from = parameter.get("derivedFrom")
        parent = walker.engine.context.resolve(derived_from) if isinstance(derived_from, str) else None
        if not isinstance(parent, Mapping):
            return
        if parameter.get("type") != parent.get("type"):
            walker.report.error(
                "business-rule",
                "searchparameter.derived-type",
                f"The type {parameter.get('type')} is different to the type {parent.get('type')} "
                f"in the derivedFrom SearchParameter {derived_from}",
                loc.child("type"),
            )
        parent_bases = set(parent.get("base") or ())
        for index, base in enumerate(parameter.get("base") or ()):
            if isinstance(base, str) and base not in parent_bases:
                walker.report.error(
                    "business-rule",
                    "searchparameter.derived-base",
                    f"The resource type {base} is not listed as a base in the SearchParameter "
                    f"this is derived from ({derived_from})",
                    loc.child("base", index),
                )

    @staticmethod
    def _structure_definition(walker: Walker, definition: Mapping[str, Any], loc: Loc) -> None:
        """A profile whose snapshot cannot be generated is broken: say where, as the reference tools do."""
        differential = definition.get("differential")
        if definition.get("derivation") != "constraint" or not isinstance(differential, Mapping):
            return
        for issue in walker.definitions.generation_problems(definition):
            if issue.severity.is_error:
                walker.report.add(
                    Severity.ERROR,
                    "invalid",
                    issue.message_id,
                    f"Error generating the snapshot: {issue.message}",
                    loc.child("differential"),
                    element_id=issue.element_id,
                )
