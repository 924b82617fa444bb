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


_ABSENT_KEPT = 10_000


def _remember(absent: set[str], name: str) -> None:
    if len(absent) >= _ABSENT_KEPT:
        absent.clear()  # found again at the cost of one lookup each
    absent.add(name)


def _has_snapshot(structure_definition: Mapping[str, Any]) -> bool:
    snapshot = structure_definition.get("snapshot")
    return isinstance(snapshot, Mapping) and bool(snapshot.get("element"))


class Definitions:
    """Snapshots and Plans over a context, compiled on first use and cached."""

    def __init__(self, source: DefinitionSource) -> None:
        self.source = source
        self._plans: dict[str, Plan] = {}
        self._type_plans: dict[str, Plan] = {}
        # Names that give no Plan come from payloads (an unknown profile, `valueFoo`): kept up to a bound, so
        # a long-running process meeting endless unknown names does not grow.
        self._absent: set[str] = set()
        self._absent_types: set[str] = set()
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
        cached = self._plans.get(key)
        if cached is not None or key in self._absent:
            return cached
        with self._lock:
            plan = self._build(key)
            if plan is not None:
                self._plans[key] = plan
            else:
                _remember(self._absent, key)
        return plan

    def problems(self, url_or_type: str) -> tuple[Issue, ...]:
        """Issues found in the profile itself while building its snapshot."""
        self.plan(url_or_type)
        return self._problems.get(url_or_type, ())

    def type_plan(self, type_code: str) -> Plan | None:
        """The base definition of a datatype or resource type."""
        cached = self._type_plans.get(type_code)
        if cached is not None or type_code in self._absent_types:
            return cached
        plan = self.plan(type_code if "/" in type_code else CORE_PREFIX + type_code)
        if plan is not None:
            self._type_plans[type_code] = plan
        else:
            _remember(self._absent_types, type_code)
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
