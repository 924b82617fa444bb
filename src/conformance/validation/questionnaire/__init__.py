"""Checks a QuestionnaireResponse against the Questionnaire it answers (FHIR R4 and STU3).

The validation engine calls :func:`check_response` once for each QuestionnaireResponse, after the ordinary
structural checks, with the Questionnaire it resolved (or ``None``). Everything here works on the FHIR JSON
form as plain mappings and does no I/O: ValueSets and CodeSystems come through the caller's
:class:`ResourceLookup`.

The rules follow the behaviour of the HL7 Java reference validator. docs/questionnaire.md catalogues every
message id and lists the places where this package deliberately differs from it.

The modules, in the order a response meets them: ``form`` (the Questionnaire read into items),
``response_walk`` (response items matched to Questionnaire items), ``enable_when``, ``answers`` (the type of
an answer, then ``choice_answers``, ``typed_answers`` or ``quantity_answers``, all built on
``answer_checks``), ``value_sets`` and ``ucum``; ``messages`` holds the finding catalogue, ``json_values``
and ``shown`` read values from the JSON form and quote them in messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.fhirversion import FhirVersion
from conformance.validation.questionnaire.form import read_form
from conformance.validation.questionnaire.json_values import contained_resource
from conformance.validation.questionnaire.messages import (
    MESSAGE_IDS,
    JsonPath,
    QuestionnaireFinding,
    unresolved,
)
from conformance.validation.questionnaire.response_walk import ResponseChecker
from conformance.validation.questionnaire.value_sets import ResourceLookup

__all__ = [
    "MESSAGE_IDS",
    "JsonPath",
    "QuestionnaireFinding",
    "ResourceLookup",
    "check_response",
    "questionnaire_reference",
]


def questionnaire_reference(response: Mapping[str, Any]) -> str | None:
    """The Questionnaire a response names: an R4 canonical or the ``reference`` of an STU3 Reference."""
    named = response.get("questionnaire")
    if isinstance(named, Mapping):
        named = named.get("reference")
    if isinstance(named, str) and named.strip():
        return named.strip()
    return None


def check_response(
    response: Mapping[str, Any],
    questionnaire: Mapping[str, Any] | None,
    *,
    fhir_version: FhirVersion,
    lookup: ResourceLookup,
) -> tuple[QuestionnaireFinding, ...]:
    """Every finding about ``response`` measured against ``questionnaire``.

    When ``questionnaire`` is None the response's own contained resources are searched for a ``#id``
    reference; failing that, the single finding says the Questionnaire could not be resolved.
    """
    reference = questionnaire_reference(response)
    if questionnaire is None and reference is not None and reference.startswith("#"):
        questionnaire = contained_resource(response, reference[1:])
    if questionnaire is None or questionnaire.get("resourceType") != "Questionnaire":
        return (unresolved(reference),)
    form = read_form(questionnaire, fhir_version)
    return ResponseChecker(response, form, fhir_version, lookup).run()
