"""Definitions asked for names that give no Plan (payloads name unknown profiles and types) stay bounded."""

from __future__ import annotations

from conformance.context import Context
from conformance.definitions.profiles import Definitions


def test_endless_unknown_names_keep_memory_bounded_and_answers_right(r4_context: Context) -> None:
    definitions = Definitions(r4_context)
    for number in range(25_000):
        assert definitions.type_plan(f"Widget{number}") is None
        assert definitions.plan(f"http://example.org/StructureDefinition/p{number}") is None
    assert len(definitions._absent_types) <= 10_000
    assert len(definitions._absent) <= 20_000  # a type name is looked up as a URL too
    patient = definitions.type_plan("Patient")
    assert patient is not None and patient is definitions.type_plan("Patient")
    assert definitions.type_plan("Widget3") is None  # forgotten or not, still no Plan


def test_a_known_profile_is_kept(r4_context: Context) -> None:
    definitions = Definitions(r4_context)
    url = "http://hl7.org/fhir/StructureDefinition/bodyweight"
    first = definitions.plan(url)
    assert first is not None and definitions.plan(url) is first
