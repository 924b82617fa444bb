"""Definitions: StructureDefinitions by canonical or type name, as snapshots and compiled Plans.

The one place the engine gets profiles from. Snapshots are taken as published
when present and generated from the differential otherwise; Plans are compiled
once per canonical and kept for the life of this object.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

from conformance.definitions.plan import Plan, PlanError, compile_plan
from conformance.definitions.snapshot import Snapshots
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue

CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"


class DefinitionSource(Protocol):
    @property
    def fhir_version(self) -> FhirVersion: ...

    def structure_definition(self, url_or_type: str) -> Mapping[str, Any] | None: ...


def _has_snapshot(structure_definition: Mapping[str, Any]) -> bool:
    snapshot = structure_definition.get("snapshot")
    return isinstance(snapshot, Mapping) and bool(snapshot.get("element"))


class Definitions:
    """Snapshots and Plans over a context, compiled on first use and cached."""

    def __init__(self, source: DefinitionSource) -> None:
        self.source = source
        self._plans: dict[str, Plan | None] = {}
        self._type_plans: dict[str, Plan | None] = {}
        # Resources profiles contain (ValueSets bound as `#id`), by `<profile url>#id`.
        self.contained: dict[str, Mapping[str, Any]] = {}
        self._problems: dict[str, tuple[Issue, ...]] = {}
        self._lock = threading.Lock()
        # One generator for all profiles, so bases and extensions are generated once and shared.
        self._snapshots = Snapshots(source, source.fhir_version)

    @property
    def fhir_version(self) -> FhirVersion:
        return self.source.fhir_version

    def plan(self, url_or_type: str) -> Plan | None:
        """The compiled profile, or None when it cannot be found or compiled."""
        key = url_or_type
        cached = self._plans.get(key, ...)
        if cached is not ...:
            return cached
        with self._lock:
            plan = self._build(key)
            self._plans[key] = plan
        return plan

    def problems(self, url_or_type: str) -> tuple[Issue, ...]:
        """Issues found in the profile itself while building its snapshot."""
        self.plan(url_or_type)
        return self._problems.get(url_or_type, ())

    def type_plan(self, type_code: str) -> Plan | None:
        """The base definition of a datatype or resource type."""
        cached = self._type_plans.get(type_code, ...)
        if cached is not ...:
            return cached
        plan = self.plan(type_code if "/" in type_code else CORE_PREFIX + type_code)
        self._type_plans[type_code] = plan
        return plan

    def snapshot(self, url_or_type: str) -> Mapping[str, Any] | None:
        structure_definition = self.source.structure_definition(url_or_type)
        if structure_definition is None:
            return None
        if _has_snapshot(structure_definition):
            return structure_definition
        generated, issues = self._generate(structure_definition)
        self._problems[url_or_type] = issues
        return generated

    def _build(self, url_or_type: str) -> Plan | None:
        structure_definition = self.snapshot(url_or_type)
        if structure_definition is None or not _has_snapshot(structure_definition):
            return None
        try:
            plan = compile_plan(structure_definition)
        except PlanError:
            return None
        self.contained.update(plan.contained)
        return plan

    def generation_problems(self, structure_definition: Mapping[str, Any]) -> tuple[Issue, ...]:
        """What goes wrong generating this definition's snapshot from its differential (for validating it)."""
        with self._lock:
            return tuple(self._snapshots.generate(structure_definition).issues)

    def _generate(
        self, structure_definition: Mapping[str, Any]
    ) -> tuple[Mapping[str, Any] | None, tuple[Issue, ...]]:
        result = self._snapshots.generate(structure_definition)
        return result.structure_definition, tuple(result.issues)
