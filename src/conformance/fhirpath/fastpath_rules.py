"""The simple invariants of the core specification, computed natively (see `fastpath_logic`).

Each entry is keyed by the exact expression text the engine evaluates (after `corrections`); a
published text that differs by one character is not found here and goes to FHIRPath. The table
covers the R4 and STU3 invariants of the datatypes and resources that are written only with
exists(), empty(), hasValue(), `=`, `!=`, `in`, startsWith(), contains(), where(), all() and
boolean logic over paths, plus the few written the same way in the profiles the core
specification and UK Core ship (SimpleQuantity, vital signs...). The comment above each entry
names the constraint keys that use it, for a reader checking the translation; the tests compare
every entry with the general evaluation on generated input.

bdl-7 (the Bundle's `fullUrl & versionId` must be distinct) is the one entry with its own term:
fhirpathpy compares every pair of entries, which takes seconds on a Bundle of 20,000 entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from conformance.fhirpath._model import TypeModel
from conformance.fhirpath.fastpath_logic import (
    Decline,
    Item,
    Term,
    all_items,
    all_of,
    any_of,
    as_type,
    compares,
    contains,
    counts_compare,
    differs,
    distinct_values,
    empty,
    empty_where,
    equals,
    exists,
    exists_where,
    fast_path,
    has_value,
    implies,
    is_type,
    member_of,
    none_in,
    not_,
    one_of,
    path,
    same,
    starts_with,
    step,
    truthy,
    undecided,
    xor,
)

if TYPE_CHECKING:
    from conformance.fhirpath.fastpath import FastPath, FocusFacts

_ENTRIES = path("entry")


def _distinct_full_urls(criteria: Term) -> Term:
    """`entry.where(criteria).select(fullUrl & resource.meta.versionId).isDistinct()`, in one pass."""

    def test(model: TypeModel, facts: FocusFacts, focus: list[Item]) -> bool | None:
        # every key first, as select() does: a later entry may still make the general evaluation fail
        keys = [
            _full_url(model, entry) + _version_id(model, entry)
            for entry in _ENTRIES(model, facts, focus)
            if criteria(model, facts, [entry]) is True
        ]
        return len(set(keys)) == len(keys)

    return test


def _full_url(model: TypeModel, entry: Item) -> str:
    found = step(model, [entry], "fullUrl")
    # `&` needs one text; an empty one would vanish from select()'s result: both left to FHIRPath
    if len(found) != 1 or type(found[0][0]) is not str or not found[0][0]:
        raise Decline
    text: str = found[0][0]
    return text


def _version_id(model: TypeModel, entry: Item) -> str:
    found = step(model, step(model, step(model, [entry], "resource"), "meta"), "versionId")
    if not found:
        return ""
    if len(found) != 1 or type(found[0][0]) is not str:
        raise Decline
    text: str = found[0][0]
    return text


_TERMS: Mapping[str, Term] = {
    # age-1 (R4) on Age
    (
        "(code.exists() or value.empty()) and (system.empty() or system = %ucum) and (value.empty() or "
        "value.hasValue().not() or value > 0)"
    ): all_of(
        any_of(exists("code"), empty("value")),
        any_of(empty("system"), equals("system", "http://unitsofmeasure.org")),
        any_of(empty("value"), not_(has_value("value")), compares("value", ">", 0)),
    ),
    # age-1 (STU3) on Age
    (
        "(code or value.empty()) and (system.empty() or system = %ucum) and (value.empty() or value > 0)"
    ): all_of(
        any_of(truthy("code"), empty("value")),
        any_of(empty("system"), equals("system", "http://unitsofmeasure.org")),
        any_of(empty("value"), compares("value", ">", 0)),
    ),
    # ait-1 (R4) on AllergyIntolerance
    (
        "verificationStatus.coding.where(system = "
        "'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = "
        "'entered-in-error').exists() or clinicalStatus.exists()"
    ): any_of(
        exists_where(
            "verificationStatus.coding",
            all_of(
                equals("system", "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"),
                equals("code", "entered-in-error"),
            ),
        ),
        exists("clinicalStatus"),
    ),
    # ait-1, con-3 (STU3) on AllergyIntolerance
    ("verificationStatus='entered-in-error' or clinicalStatus.exists()"): any_of(
        equals("verificationStatus", "entered-in-error"), exists("clinicalStatus")
    ),
    # ait-2 (R4) on AllergyIntolerance
    (
        "verificationStatus.coding.where(system = "
        "'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = "
        "'entered-in-error').empty() or clinicalStatus.empty()"
    ): any_of(
        empty_where(
            "verificationStatus.coding",
            all_of(
                equals("system", "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"),
                equals("code", "entered-in-error"),
            ),
        ),
        empty("clinicalStatus"),
    ),
    # ait-2 (STU3) on AllergyIntolerance
    ("verificationStatus!='entered-in-error' or clinicalStatus.empty()"): any_of(
        differs("verificationStatus", "entered-in-error"), empty("clinicalStatus")
    ),
    # app-1 (R4, STU3) on Appointment.participant
    "type.exists() or actor.exists()": any_of(exists("type"), exists("actor")),
    # app-2 (R4) on Appointment
    "start.exists() = end.exists()": same(exists("start"), exists("end")),
    # app-2 (STU3) on Appointment
    "start.empty() xor end.exists()": xor(empty("start"), exists("end")),
    # app-3 (R4) on Appointment
    ("(start.exists() and end.exists()) or (status in ('proposed' | 'cancelled' | 'waitlist'))"): any_of(
        all_of(exists("start"), exists("end")), one_of("status", "proposed", "cancelled", "waitlist")
    ),
    # app-3 (STU3) on Appointment
    ("(start.exists() and end.exists()) or (status in ('proposed' | 'cancelled'))"): any_of(
        all_of(exists("start"), exists("end")), one_of("status", "proposed", "cancelled")
    ),
    # app-4 (R4) on Appointment
    (
        "Appointment.cancelationReason.exists() implies (Appointment.status='no-show' or "
        "Appointment.status='cancelled')"
    ): implies(
        exists("Appointment.cancelationReason"),
        any_of(equals("Appointment.status", "no-show"), equals("Appointment.status", "cancelled")),
    ),
    # apr-1 (R4, STU3) on AppointmentResponse
    "participantType.exists() or actor.exists()": any_of(exists("participantType"), exists("actor")),
    # att-1 (R4, STU3) on Attachment
    "data.empty() or contentType.exists()": any_of(empty("data"), exists("contentType")),
    # bdl-1 (R4, STU3) on Bundle
    ("total.empty() or (type = 'searchset') or (type = 'history')"): any_of(
        empty("total"), equals("type", "searchset"), equals("type", "history")
    ),
    # bdl-2 (R4, STU3) on Bundle
    ("entry.search.empty() or (type = 'searchset')"): any_of(
        empty("entry.search"), equals("type", "searchset")
    ),
    # bdl-3 (R4) on Bundle
    (
        "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or "
        "%resource.type = 'history'))"
    ): all_items(
        "entry",
        same(
            exists("request"),
            any_of(
                equals("%resource.type", "batch"),
                equals("%resource.type", "transaction"),
                equals("%resource.type", "history"),
            ),
        ),
    ),
    # bdl-3 (STU3) on Bundle
    ("entry.request.empty() or type = 'batch' or type = 'transaction' or type = 'history'"): any_of(
        empty("entry.request"),
        equals("type", "batch"),
        equals("type", "transaction"),
        equals("type", "history"),
    ),
    # bdl-4 (R4) on Bundle
    (
        "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = "
        "'transaction-response' or %resource.type = 'history'))"
    ): all_items(
        "entry",
        same(
            exists("response"),
            any_of(
                equals("%resource.type", "batch-response"),
                equals("%resource.type", "transaction-response"),
                equals("%resource.type", "history"),
            ),
        ),
    ),
    # bdl-4 (STU3) on Bundle
    ("entry.response.empty() or type = 'batch-response' or type = 'transaction-response'"): any_of(
        empty("entry.response"), equals("type", "batch-response"), equals("type", "transaction-response")
    ),
    # bdl-5 (R4, STU3) on Bundle.entry
    ("resource.exists() or request.exists() or response.exists()"): any_of(
        exists("resource"), exists("request"), exists("response")
    ),
    # bdl-8 (R4, STU3) on Bundle.entry
    ("fullUrl.exists() implies fullUrl.contains('/_history/').not()"): implies(
        exists("fullUrl"), not_(contains("fullUrl", "/_history/"))
    ),
    # bdl-9 (R4, STU3) on Bundle
    ("type = 'document' implies (identifier.system.exists() and identifier.value.exists())"): implies(
        equals("type", "document"), all_of(exists("identifier.system"), exists("identifier.value"))
    ),
    # bdl-10 (R4) on Bundle
    ("type = 'document' implies (timestamp.hasValue())"): implies(
        equals("type", "document"), has_value("timestamp")
    ),
    # ces-1 (R4) on CoverageEligibilityResponse.insurance.item
    "category.exists() xor productOrService.exists()": xor(exists("category"), exists("productOrService")),
    # cmd-1 (R4, STU3) on ConceptMap.group.element.target
    (
        "comment.exists() or equivalence.empty() or ((equivalence != 'narrower') and (equivalence != "
        "'inexact'))"
    ): any_of(
        exists("comment"),
        empty("equivalence"),
        all_of(differs("equivalence", "narrower"), differs("equivalence", "inexact")),
    ),
    # cmd-2 (R4, STU3) on ConceptMap.group.unmapped
    "(mode = 'fixed') implies code.exists()": implies(equals("mode", "fixed"), exists("code")),
    # cmd-3 (R4, STU3) on ConceptMap.group.unmapped
    "(mode = 'other-map') implies url.exists()": implies(equals("mode", "other-map"), exists("url")),
    # cmp-1 (R4, STU3) on Composition.section
    ("text.exists() or entry.exists() or section.exists()"): any_of(
        exists("text"), exists("entry"), exists("section")
    ),
    # cmp-2, lst-1 (R4, STU3) on Composition.section
    "emptyReason.empty() or entry.empty()": any_of(empty("emptyReason"), empty("entry")),
    # com-1, fhs-3, inv-1 (STU3) on Communication
    "notDone or notDoneReason.exists().not()": any_of(truthy("notDone"), not_(exists("notDoneReason"))),
    # con-1 (R4, STU3) on Condition.stage
    "summary.exists() or assessment.exists()": any_of(exists("summary"), exists("assessment")),
    # con-2 (R4, STU3) on Condition.evidence
    "code.exists() or detail.exists()": any_of(exists("code"), exists("detail")),
    # con-3 (R4) on Condition
    (
        "(verificationStatus.coding.where("
        "system='http://terminology.hl7.org/CodeSystem/condition-ver-status' "
        "and code = 'entered-in-error').exists() and "
        "category.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-category' and "
        "code='problem-list-item').empty()) implies clinicalStatus.exists()"
    ): implies(
        all_of(
            exists_where(
                "verificationStatus.coding",
                all_of(
                    equals("system", "http://terminology.hl7.org/CodeSystem/condition-ver-status"),
                    equals("code", "entered-in-error"),
                ),
            ),
            empty_where(
                "category.coding",
                all_of(
                    equals("system", "http://terminology.hl7.org/CodeSystem/condition-category"),
                    equals("code", "problem-list-item"),
                ),
            ),
        ),
        exists("clinicalStatus"),
    ),
    # con-4 (R4) on Condition
    (
        "abatement.empty() or "
        "clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-clinical' "
        "and (code='resolved' or code='remission' or code='inactive')).exists()"
    ): any_of(
        empty("abatement"),
        exists_where(
            "clinicalStatus.coding",
            all_of(
                equals("system", "http://terminology.hl7.org/CodeSystem/condition-clinical"),
                any_of(equals("code", "resolved"), equals("code", "remission"), equals("code", "inactive")),
            ),
        ),
    ),
    # con-5 (R4) on Condition
    (
        "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' "
        "and code='entered-in-error').empty() or clinicalStatus.empty()"
    ): any_of(
        empty_where(
            "verificationStatus.coding",
            all_of(
                equals("system", "http://terminology.hl7.org/CodeSystem/condition-ver-status"),
                equals("code", "entered-in-error"),
            ),
        ),
        empty("clinicalStatus"),
    ),
    # cpb-1 (R4, STU3) on CapabilityStatement
    ("rest.exists() or messaging.exists() or document.exists()"): any_of(
        exists("rest"), exists("messaging"), exists("document")
    ),
    # cpb-3 (R4, STU3) on CapabilityStatement
    ("messaging.endpoint.empty() or kind = 'instance'"): any_of(
        empty("messaging.endpoint"), equals("kind", "instance")
    ),
    # cpb-14, tcp-3 (R4) on CapabilityStatement
    ("(kind != 'instance') or implementation.exists()"): any_of(
        differs("kind", "instance"), exists("implementation")
    ),
    # cpb-14 (STU3) on CapabilityStatement
    ("(software.empty() and implementation.empty()) or kind != 'requirements'"): any_of(
        all_of(empty("software"), empty("implementation")), differs("kind", "requirements")
    ),
    # cpb-15, tcp-4 (R4) on CapabilityStatement
    ("(kind != 'capability') or (implementation.exists().not() and software.exists())"): any_of(
        differs("kind", "capability"), all_of(not_(exists("implementation")), exists("software"))
    ),
    # cpb-15 (STU3) on CapabilityStatement
    ("implementation.empty() or kind != 'capability'"): any_of(
        empty("implementation"), differs("kind", "capability")
    ),
    # cpb-16, tcp-5 (R4) on CapabilityStatement
    ("(kind!='requirements') or (implementation.exists().not() and software.exists().not())"): any_of(
        differs("kind", "requirements"), all_of(not_(exists("implementation")), not_(exists("software")))
    ),
    # cpb-16 (STU3) on CapabilityStatement.messaging
    "supportedMessage.empty() != event.empty()": not_(same(empty("supportedMessage"), empty("event"))),
    # cpl-3 (R4, STU3) on CarePlan.activity
    "detail.empty() or reference.empty()": any_of(empty("detail"), empty("reference")),
    # cpt-2 (R4, STU3) on ContactPoint
    "value.empty() or system.exists()": any_of(empty("value"), exists("system")),
    # dae-1 (STU3) on DataElement.element
    "base.empty()": empty("base"),
    # dae-2 (STU3) on DataElement.element
    "slicing.empty()": empty("slicing"),
    # dae-3 (STU3) on DataElement.mapping
    "uri.exists() or name.exists()": any_of(exists("uri"), exists("name")),
    # dis-1 (R4) on Distance
    ("(code.exists() or value.empty()) and (system.empty() or system = %ucum)"): all_of(
        any_of(exists("code"), empty("value")),
        any_of(empty("system"), equals("system", "http://unitsofmeasure.org")),
    ),
    # dis-1 (STU3) on Distance
    ("(code or value.empty()) and (system.empty() or system = %ucum)"): all_of(
        any_of(truthy("code"), empty("value")),
        any_of(empty("system"), equals("system", "http://unitsofmeasure.org")),
    ),
    # dom-1 (STU3) on Account
    "contained.text.empty()": empty("contained.text"),
    # drq-1, drq-2 (R4) on DataRequirement.codeFilter
    "path.exists() xor searchParam.exists()": xor(exists("path"), exists("searchParam")),
    # drt-1 (R4, STU3) on Duration
    ("code.exists() implies ((system = %ucum) and value.exists())"): implies(
        exists("code"), all_of(equals("system", "http://unitsofmeasure.org"), exists("value"))
    ),
    # eld-1 (R4, STU3) on ElementDefinition.slicing
    "discriminator.exists() or description.exists()": any_of(exists("discriminator"), exists("description")),
    # eld-4 (R4) on ElementDefinition.type
    ("aggregation.empty() or (code = 'Reference') or (code = 'canonical')"): any_of(
        empty("aggregation"), equals("code", "Reference"), equals("code", "canonical")
    ),
    # eld-4 (STU3) on ElementDefinition.type
    "aggregation.empty() or (code = 'Reference')": any_of(empty("aggregation"), equals("code", "Reference")),
    # eld-5 (R4, STU3) on ElementDefinition
    (
        "contentReference.empty() or (type.empty() and defaultValue.empty() and fixed.empty() and "
        "pattern.empty() and example.empty() and minValue.empty() and maxValue.empty() and "
        "maxLength.empty() and binding.empty())"
    ): any_of(
        empty("contentReference"),
        all_of(
            empty("type"),
            empty("defaultValue"),
            empty("fixed"),
            empty("pattern"),
            empty("example"),
            empty("minValue"),
            empty("maxValue"),
            empty("maxLength"),
            empty("binding"),
        ),
    ),
    # eld-8 (R4, STU3) on ElementDefinition
    "pattern.empty() or fixed.empty()": any_of(empty("pattern"), empty("fixed")),
    # eld-10 (STU3) on ElementDefinition.binding
    "valueSet.exists() or description.exists()": any_of(exists("valueSet"), exists("description")),
    # eld-12 (R4) on ElementDefinition.binding
    (
        "valueSet.exists() implies (valueSet.startsWith('http:') or valueSet.startsWith('https') or "
        "valueSet.startsWith('urn:'))"
    ): implies(
        exists("valueSet"),
        any_of(
            starts_with("valueSet", "http:"),
            starts_with("valueSet", "https"),
            starts_with("valueSet", "urn:"),
        ),
    ),
    # eld-15 (R4, STU3) on ElementDefinition
    ("defaultValue.empty() or meaningWhenMissing.empty()"): any_of(
        empty("defaultValue"), empty("meaningWhenMissing")
    ),
    # eld-17 (R4) on ElementDefinition.type
    ("(code='Reference' or code = 'canonical') or targetProfile.empty()"): any_of(
        any_of(equals("code", "Reference"), equals("code", "canonical")), empty("targetProfile")
    ),
    # eld-18 (R4) on ElementDefinition
    ("(isModifier.exists() and isModifier) implies isModifierReason.exists()"): implies(
        all_of(exists("isModifier"), truthy("isModifier")), exists("isModifierReason")
    ),
    # eld-21 (R4) on ElementDefinition.constraint
    "expression.exists()": exists("expression"),
    # eld-22 (R4) on ElementDefinition
    ("sliceIsConstraining.exists() implies sliceName.exists()"): implies(
        exists("sliceIsConstraining"), exists("sliceName")
    ),
    # exp-1 (R4) on Expression
    "expression.exists() or reference.exists()": any_of(exists("expression"), exists("reference")),
    # exp-3, exp-4 (STU3) on ExpansionProfile.designation.include.designation
    "language.exists() or use.exists()": any_of(exists("language"), exists("use")),
    # fhs-1 (R4, STU3) on FamilyMemberHistory
    "age.empty() or born.empty()": any_of(empty("age"), empty("born")),
    # fhs-2 (R4, STU3) on FamilyMemberHistory
    "age.exists() or estimatedAge.empty()": any_of(exists("age"), empty("estimatedAge")),
    # gol-1 (R4, STU3) on Goal.target
    ("(detail.exists() and measure.exists()) or detail.exists().not()"): any_of(
        all_of(exists("detail"), exists("measure")), not_(exists("detail"))
    ),
    # grp-1 (R4, STU3) on Group
    "member.empty() or (actual = true)": any_of(empty("member"), equals("actual", True)),
    # imm-1 (R4) on Immunization.education
    "documentType.exists() or reference.exists()": any_of(exists("documentType"), exists("reference")),
    # imm-1 (STU3) on Immunization
    ("(notGiven = true).not() or (reaction.empty() and explanation.reason.empty())"): any_of(
        not_(equals("notGiven", True)), all_of(empty("reaction"), empty("explanation.reason"))
    ),
    # imm-2 (STU3) on Immunization
    ("(notGiven = true) or explanation.reasonNotGiven.empty()"): any_of(
        equals("notGiven", True), empty("explanation.reasonNotGiven")
    ),
    # imr-1 (R4, STU3) on ImmunizationRecommendation.recommendation
    "vaccineCode.exists() or targetDisease.exists()": any_of(exists("vaccineCode"), exists("targetDisease")),
    # inv-1 (R4) on Event
    ("status='not-done' or notDoneReason.exists().not()"): any_of(
        equals("status", "not-done"), not_(exists("notDoneReason"))
    ),
    # inv-1 (R4, STU3) on Parameters.parameter
    (
        "(part.exists() and value.empty() and resource.empty()) or (part.empty() and (value.exists() "
        "xor resource.exists()))"
    ): any_of(
        all_of(exists("part"), empty("value"), empty("resource")),
        all_of(empty("part"), xor(exists("value"), exists("resource"))),
    ),
    # inv-1, inv-2, tst-1, tst-2 (R4, STU3) on TestReport.setup.action
    "operation.exists() xor assert.exists()": xor(exists("operation"), exists("assert")),
    # inv-2 (R4) on Event
    ("status!='not-done' or (reasonCode.exists().not() and reasonReference.exists().not())"): any_of(
        differs("status", "not-done"), all_of(not_(exists("reasonCode")), not_(exists("reasonReference")))
    ),
    # inv-3, tst-3 (R4, STU3) on TestScript.variable
    ("expression.empty() or headerField.empty() or path.empty()"): any_of(
        empty("expression"), empty("headerField"), empty("path")
    ),
    # inv-4, tst-4 (R4, STU3) on TestScript.metadata
    ("capability.required.exists() or capability.validated.exists()"): any_of(
        exists("capability.required"), exists("capability.validated")
    ),
    # inv-10, inv-11, tst-10, tst-11 (R4, STU3) on TestScript.setup.action.assert
    (
        "compareToSourceId.empty() xor (compareToSourceExpression.exists() or compareToSourcePath.exists())"
    ): xor(
        empty("compareToSourceId"), any_of(exists("compareToSourceExpression"), exists("compareToSourcePath"))
    ),
    # inv-12, inv-13, tst-12, tst-13 (R4, STU3) on TestScript.setup.action.assert
    (
        "(response.empty() and responseCode.empty() and direction = 'request') or direction.empty() or "
        "direction = 'response'"
    ): any_of(
        all_of(empty("response"), empty("responseCode"), equals("direction", "request")),
        empty("direction"),
        equals("direction", "response"),
    ),
    # lst-2 (R4, STU3) on List
    "mode = 'changes' or entry.deleted.empty()": any_of(equals("mode", "changes"), empty("entry.deleted")),
    # lst-3 (R4) on List
    "mode = 'working' or entry.date.empty()": any_of(equals("mode", "working"), empty("entry.date")),
    # mad-1 (R4, STU3) on MedicationAdministration.dosage
    "dose.exists() or rate.exists()": any_of(exists("dose"), exists("rate")),
    # mad-2 (STU3) on MedicationAdministration
    "reasonNotGiven.empty() or notGiven = true": any_of(empty("reasonNotGiven"), equals("notGiven", True)),
    # mad-3 (STU3) on MedicationAdministration
    ("reasonCode.empty() or notGiven.empty() or notGiven = 'false'"): any_of(
        empty("reasonCode"), empty("notGiven"), equals("notGiven", "false")
    ),
    # mda-1 (STU3) on Media
    "height.empty() or type != 'audio'": any_of(empty("height"), differs("type", "audio")),
    # mda-2 (STU3) on Media
    "width.empty() or type != 'audio'": any_of(empty("width"), differs("type", "audio")),
    # mda-3 (STU3) on Media
    "frames.empty() or type = 'photo'": any_of(empty("frames"), equals("type", "photo")),
    # mda-4 (STU3) on Media
    "duration.empty() or type != 'photo'": any_of(empty("duration"), differs("type", "photo")),
    # mny-1 (STU3) on Money
    ("(code or value.empty()) and (system.empty() or system = 'urn:iso:std:iso:4217')"): all_of(
        any_of(truthy("code"), empty("value")),
        any_of(empty("system"), equals("system", "urn:iso:std:iso:4217")),
    ),
    # mrp-1 (R4) on MeasureReport
    ("(type != 'data-collection') or group.exists().not()"): any_of(
        differs("type", "data-collection"), not_(exists("group"))
    ),
    # mrp-2 (R4) on MeasureReport
    ("group.stratifier.stratum.all(value.exists() xor component.exists())"): all_items(
        "group.stratifier.stratum", xor(exists("value"), exists("component"))
    ),
    # msq-5, seq-5 (R4, STU3) on MolecularSequence.referenceSeq, Sequence.referenceSeq
    (
        "(chromosome.empty() and genomeBuild.empty()) or (chromosome.exists() and genomeBuild.exists())"
    ): any_of(
        all_of(empty("chromosome"), empty("genomeBuild")), all_of(exists("chromosome"), exists("genomeBuild"))
    ),
    # mst-1 (STU3) on MedicationStatement
    ("reasonNotTaken.exists().not() or (taken = 'n')"): any_of(
        not_(exists("reasonNotTaken")), equals("taken", "n")
    ),
    # nor-1 (R4, STU3) on NutritionOrder
    ("oralDiet.exists() or supplement.exists() or enteralFormula.exists()"): any_of(
        exists("oralDiet"), exists("supplement"), exists("enteralFormula")
    ),
    # nsd-1 (R4) on NamingSystem
    ("kind != 'root' or uniqueId.all(type != 'uuid')"): any_of(
        differs("kind", "root"), all_items("uniqueId", differs("type", "uuid"))
    ),
    # nsd-1 (STU3) on NamingSystem
    ("kind != 'root' or uniqueId.type = 'uuid'"): any_of(
        differs("kind", "root"), equals("uniqueId.type", "uuid")
    ),
    # nsd-3 (STU3) on NamingSystem
    "replacedBy.empty() or status = 'retired'": any_of(empty("replacedBy"), equals("status", "retired")),
    # obs-3 (R4, STU3) on Observation.referenceRange
    "low.exists() or high.exists() or text.exists()": any_of(exists("low"), exists("high"), exists("text")),
    # obs-6 (R4, STU3) on Observation
    "dataAbsentReason.empty() or value.empty()": any_of(empty("dataAbsentReason"), empty("value")),
    # opd-1 (R4, STU3) on OperationDefinition.parameter
    "type.exists() or part.exists()": any_of(exists("type"), exists("part")),
    # opd-2 (R4) on OperationDefinition.parameter
    "searchType.exists() implies type = 'string'": implies(exists("searchType"), equals("type", "string")),
    # opd-2 (STU3) on OperationDefinition.parameter
    "searchType implies type = 'string'": implies(truthy("searchType"), equals("type", "string")),
    # opd-3 (R4) on OperationDefinition.parameter
    ("targetProfile.exists() implies (type = 'Reference' or type = 'canonical')"): implies(
        exists("targetProfile"), any_of(equals("type", "Reference"), equals("type", "canonical"))
    ),
    # org-2, org-3 (R4, STU3) on Organization.address
    "where(use = 'home').empty()": empty_where("", equals("use", "home")),
    # ppc-1 (R4, STU3) on Consent
    "policy.exists() or policyRule.exists()": any_of(exists("policy"), exists("policyRule")),
    # ppc-2 (R4) on Consent
    (
        "patient.exists() or scope.coding.where(system='something' and code='patient-privacy').exists().not()"
    ): any_of(
        exists("patient"),
        not_(
            exists_where(
                "scope.coding", all_of(equals("system", "something"), equals("code", "patient-privacy"))
            )
        ),
    ),
    # ppc-3 (R4) on Consent
    ("patient.exists() or scope.coding.where(system='something' and code='research').exists().not()"): any_of(
        exists("patient"),
        not_(exists_where("scope.coding", all_of(equals("system", "something"), equals("code", "research")))),
    ),
    # ppc-4 (R4) on Consent
    ("patient.exists() or scope.coding.where(system='something' and code='adr').exists().not()"): any_of(
        exists("patient"),
        not_(exists_where("scope.coding", all_of(equals("system", "something"), equals("code", "adr")))),
    ),
    # ppc-5 (R4) on Consent
    (
        "patient.exists() or scope.coding.where(system='something' and code='treatment').exists().not()"
    ): any_of(
        exists("patient"),
        not_(
            exists_where("scope.coding", all_of(equals("system", "something"), equals("code", "treatment")))
        ),
    ),
    # pro-1 (STU3) on Procedure
    "notDoneReason.empty() or notDone = true": any_of(empty("notDoneReason"), equals("notDone", True)),
    # prr-1 (R4) on ServiceRequest
    "orderDetail.empty() or code.exists()": any_of(empty("orderDetail"), exists("code")),
    # qrs-1 (R4, STU3) on QuestionnaireResponse.item
    "(answer.exists() and item.exists()).not()": not_(all_of(exists("answer"), exists("item"))),
    # qty-3, vsd-10 (R4, STU3) on Age
    "code.empty() or system.exists()": any_of(empty("code"), exists("system")),
    # que-3 (R4, STU3) on Questionnaire.item
    "type!='display' or code.empty()": any_of(differs("type", "display"), empty("code")),
    # que-4 (R4) on Questionnaire.item
    "answerOption.empty() or answerValueSet.empty()": any_of(empty("answerOption"), empty("answerValueSet")),
    # que-4 (STU3) on Questionnaire.item
    "option.empty() or options.empty()": any_of(empty("option"), empty("options")),
    # que-5 (R4) on Questionnaire.item
    (
        "(type ='choice' or type = 'open-choice' or type = 'decimal' or type = 'integer' or type = "
        "'date' or type = 'dateTime' or type = 'time' or type = 'string' or type = 'quantity') or "
        "(answerValueSet.empty() and answerOption.empty())"
    ): any_of(
        any_of(
            equals("type", "choice"),
            equals("type", "open-choice"),
            equals("type", "decimal"),
            equals("type", "integer"),
            equals("type", "date"),
            equals("type", "dateTime"),
            equals("type", "time"),
            equals("type", "string"),
            equals("type", "quantity"),
        ),
        all_of(empty("answerValueSet"), empty("answerOption")),
    ),
    # que-5 (STU3) on Questionnaire.item
    ("(type ='choice' or type = 'open-choice') or (options.empty() and option.empty())"): any_of(
        any_of(equals("type", "choice"), equals("type", "open-choice")),
        all_of(empty("options"), empty("option")),
    ),
    # que-6 (R4, STU3) on Questionnaire.item
    ("type!='display' or (required.empty() and repeats.empty())"): any_of(
        differs("type", "display"), all_of(empty("required"), empty("repeats"))
    ),
    # que-7 (STU3) on Questionnaire.item.enableWhen
    "hasAnswer.exists() xor answer.exists()": xor(exists("hasAnswer"), exists("answer")),
    # que-8 (R4, STU3) on Questionnaire.item
    ("(type!='group' and type!='display') or initial.empty()"): any_of(
        all_of(differs("type", "group"), differs("type", "display")), empty("initial")
    ),
    # que-9 (R4, STU3) on Questionnaire.item
    "type!='display' or readOnly.empty()": any_of(differs("type", "display"), empty("readOnly")),
    # que-10 (R4) on Questionnaire.item
    (
        "(type in ('boolean' | 'decimal' | 'integer' | 'string' | 'text' | 'url' | 'open-choice')) or "
        "maxLength.empty()"
    ): any_of(
        one_of("type", "boolean", "decimal", "integer", "string", "text", "url", "open-choice"),
        empty("maxLength"),
    ),
    # que-10 (STU3) on Questionnaire.item
    (
        "(type in ('boolean' | 'decimal' | 'integer' | 'string' | 'text' | 'url')) or maxLength.empty()"
    ): any_of(one_of("type", "boolean", "decimal", "integer", "string", "text", "url"), empty("maxLength")),
    # que-11 (R4) on Questionnaire.item
    "answerOption.empty() or initial.empty()": any_of(empty("answerOption"), empty("initial")),
    # ras-1 (R4, STU3) on RiskAssessment.prediction.probability[x]
    (
        "(low.empty() or ((low.code = '%') and (low.system = %ucum))) and (high.empty() or ((high.code "
        "= '%') and (high.system = %ucum)))"
    ): all_of(
        any_of(
            empty("low"), all_of(equals("low.code", "%"), equals("low.system", "http://unitsofmeasure.org"))
        ),
        any_of(
            empty("high"),
            all_of(equals("high.code", "%"), equals("high.system", "http://unitsofmeasure.org")),
        ),
    ),
    # rat-1 (R4, STU3) on Ratio
    ("(numerator.empty() xor denominator.exists()) and (numerator.exists() or extension.exists())"): all_of(
        xor(empty("numerator"), exists("denominator")), any_of(exists("numerator"), exists("extension"))
    ),
    # rqg-1 (R4, STU3) on RequestGroup.action
    "resource.exists() != action.exists()": not_(same(exists("resource"), exists("action"))),
    # sdf-2 (R4, STU3) on StructureDefinition.mapping
    "name.exists() or uri.exists()": any_of(exists("name"), exists("uri")),
    # sdf-3 (R4) on StructureDefinition.snapshot
    ("element.all(definition.exists() and min.exists() and max.exists())"): all_items(
        "element", all_of(exists("definition"), exists("min"), exists("max"))
    ),
    # sdf-3 (STU3) on StructureDefinition.snapshot
    ("element.all(definition and min and max)"): all_items(
        "element", all_of(truthy("definition"), truthy("min"), truthy("max"))
    ),
    # sdf-4 (R4, STU3) on StructureDefinition
    "abstract = true or baseDefinition.exists()": any_of(equals("abstract", True), exists("baseDefinition")),
    # sdf-5 (R4) on StructureDefinition
    ("type != 'Extension' or derivation = 'specialization' or (context.exists())"): any_of(
        differs("type", "Extension"), equals("derivation", "specialization"), exists("context")
    ),
    # sdf-5 (STU3) on StructureDefinition
    (
        "type != 'Extension' or derivation = 'specialization' or (context.exists() and contextType.exists())"
    ): any_of(
        differs("type", "Extension"),
        equals("derivation", "specialization"),
        all_of(exists("context"), exists("contextType")),
    ),
    # sdf-6 (R4, STU3) on StructureDefinition
    "snapshot.exists() or differential.exists()": any_of(exists("snapshot"), exists("differential")),
    # sdf-10 (R4) on StructureDefinition.snapshot.element
    ("binding.empty() or binding.valueSet.exists() or binding.description.exists()"): any_of(
        empty("binding"), exists("binding.valueSet"), exists("binding.description")
    ),
    # sdf-12 (STU3) on StructureDefinition
    ("snapshot.exists() implies (snapshot.element.base.exists() = baseDefinition.exists())"): implies(
        exists("snapshot"), same(exists("snapshot.element.base"), exists("baseDefinition"))
    ),
    # sdf-14 (R4, STU3) on StructureDefinition
    ("snapshot.element.all(id.exists()) and differential.element.all(id.exists())"): all_of(
        all_items("snapshot.element", exists("id")), all_items("differential.element", exists("id"))
    ),
    # sdf-18 (R4, STU3) on StructureDefinition
    ("contextInvariant.exists() implies type = 'Extension'"): implies(
        exists("contextInvariant"), equals("type", "Extension")
    ),
    # sdf-21 (R4) on StructureDefinition
    ("differential.element.defaultValue.exists() implies (derivation = 'specialization')"): implies(
        exists("differential.element.defaultValue"), equals("derivation", "specialization")
    ),
    # sdf-22 (R4) on StructureDefinition
    (
        "url.startsWith('http://hl7.org/fhir/StructureDefinition') implies "
        "(snapshot.element.defaultValue.empty() and differential.element.defaultValue.empty())"
    ): implies(
        starts_with("url", "http://hl7.org/fhir/StructureDefinition"),
        all_of(empty("snapshot.element.defaultValue"), empty("differential.element.defaultValue")),
    ),
    # sdf-8b (R4) on StructureDefinition.snapshot
    "element.all(base.exists())": all_items("element", exists("base")),
    # sev-1 (R4, STU3) on AuditEvent.entity
    "name.empty() or query.empty()": any_of(empty("name"), empty("query")),
    # smp-1 (R4, STU3) on StructureMap.group.rule.target
    "element.exists() implies context.exists()": implies(exists("element"), exists("context")),
    # smp-2 (R4, STU3) on StructureMap.group.rule.target
    "context.exists() implies contextType.exists()": implies(exists("context"), exists("contextType")),
    # spd-1 (R4, STU3) on SearchParameter
    "xpath.empty() or xpathUsage.exists()": any_of(empty("xpath"), exists("xpathUsage")),
    # spd-2 (R4, STU3) on SearchParameter
    "chain.empty() or type = 'reference'": any_of(empty("chain"), equals("type", "reference")),
    # sqty-1 (UK Core)
    "comparator.empty()": empty("comparator"),
    # tim-1 (R4, STU3) on Timing.repeat
    "duration.empty() or durationUnit.exists()": any_of(empty("duration"), exists("durationUnit")),
    # tim-2 (R4, STU3) on Timing.repeat
    "period.empty() or periodUnit.exists()": any_of(empty("period"), exists("periodUnit")),
    # tim-4 (R4, STU3) on Timing.repeat
    "duration.exists() implies duration >= 0": implies(exists("duration"), compares("duration", ">=", 0)),
    # tim-5 (R4, STU3) on Timing.repeat
    "period.exists() implies period >= 0": implies(exists("period"), compares("period", ">=", 0)),
    # tim-6 (R4, STU3) on Timing.repeat
    "periodMax.empty() or period.exists()": any_of(empty("periodMax"), exists("period")),
    # tim-7 (R4, STU3) on Timing.repeat
    "durationMax.empty() or duration.exists()": any_of(empty("durationMax"), exists("duration")),
    # tim-8 (R4, STU3) on Timing.repeat
    "countMax.empty() or count.exists()": any_of(empty("countMax"), exists("count")),
    # tim-10 (R4, STU3) on Timing.repeat
    "timeOfDay.empty() or when.empty()": any_of(empty("timeOfDay"), empty("when")),
    # trd-1 (R4) on TriggerDefinition
    "data.empty() or timing.empty()": any_of(empty("data"), empty("timing")),
    # trd-2 (R4) on TriggerDefinition
    "condition.exists() implies data.exists()": implies(exists("condition"), exists("data")),
    # trd-3 (R4) on TriggerDefinition
    (
        "(type = 'named-event' implies name.exists()) and (type = 'periodic' implies timing.exists()) "
        "and (type.startsWith('data-') implies data.exists())"
    ): all_of(
        implies(equals("type", "named-event"), exists("name")),
        implies(equals("type", "periodic"), exists("timing")),
        implies(starts_with("type", "data-"), exists("data")),
    ),
    # ukcore-diag-lab-001 (UK Core)
    (
        "issued.exists() or (issued.empty() and (status in ('partial' | 'preliminary' | 'final' | "
        "'amended' | 'corrected' | 'appended')).not())"
    ): any_of(
        exists("issued"),
        all_of(
            empty("issued"),
            not_(one_of("status", "partial", "preliminary", "final", "amended", "corrected", "appended")),
        ),
    ),
    # ukcore-imm-001 (UK Core)
    ("(status != 'not-done') or (status = 'not-done' and statusReason.exists())"): any_of(
        differs("status", "not-done"), all_of(equals("status", "not-done"), exists("statusReason"))
    ),
    # ukcore-obs-lab-001 (UK Core)
    ("value.exists() or dataAbsentReason.exists() or note.exists()"): any_of(
        exists("value"), exists("dataAbsentReason"), exists("note")
    ),
    # vsd-1 (R4, STU3) on ValueSet.compose.include
    "valueSet.exists() or system.exists()": any_of(exists("valueSet"), exists("system")),
    # vsd-2 (R4, STU3) on ValueSet.compose.include
    ("(concept.exists() or filter.exists()) implies system.exists()"): implies(
        any_of(exists("concept"), exists("filter")), exists("system")
    ),
    # vsd-3 (R4, STU3) on ValueSet.compose.include
    "concept.empty() or filter.empty()": any_of(empty("concept"), empty("filter")),
    # vsd-5 (STU3) on ValueSet
    "compose.exists() or expansion.exists()": any_of(exists("compose"), exists("expansion")),
    # vsd-6 (R4, STU3) on ValueSet.expansion.contains
    "code.exists() or display.exists()": any_of(exists("code"), exists("display")),
    # vsd-9 (R4, STU3) on ValueSet.expansion.contains
    "code.exists() or abstract = true": any_of(exists("code"), equals("abstract", True)),
    # cpb-2 (R4, STU3) on CapabilityStatement, tcp-2 (R4) on TerminologyCapabilities
    "(description.count() + software.count() + implementation.count()) > 0": counts_compare(
        ("description", "software", "implementation"), ">", 0
    ),
    # eld-6 (R4, STU3) on ElementDefinition
    "fixed.empty() or (type.count()  <= 1)": any_of(empty("fixed"), counts_compare(("type",), "<=", 1)),
    # eld-7 (R4, STU3) on ElementDefinition
    "pattern.empty() or (type.count() <= 1)": any_of(empty("pattern"), counts_compare(("type",), "<=", 1)),
    # ipn-1 (R4) on InsurancePlan, org-1 (R4, STU3) on Organization
    "(identifier.count() + name.count()) > 0": counts_compare(("identifier", "name"), ">", 0),
    # lnk-1 (R4, STU3) on Linkage
    "item.count()>1": counts_compare(("item",), ">", 1),
    # msq-6 (R4) on MolecularSequence.referenceSeq, seq-6 (STU3) on Sequence.referenceSeq
    (
        "(genomeBuild.count()+referenceSeqId.count()+ referenceSeqPointer.count()+ "
        "referenceSeqString.count()) = 1"
    ): counts_compare(("genomeBuild", "referenceSeqId", "referenceSeqPointer", "referenceSeqString"), "=", 1),
    # que-12 (R4) on Questionnaire.item
    "enableWhen.count() > 1 implies enableBehavior.exists()": implies(
        counts_compare(("enableWhen",), ">", 1), exists("enableBehavior")
    ),
    # que-13 (R4) on Questionnaire.item
    "repeats=true or initial.count() <= 1": any_of(
        equals("repeats", True), counts_compare(("initial",), "<=", 1)
    ),
    # tim-9 (R4, STU3) on Timing.repeat
    (
        "offset.empty() or (when.exists() and when.select($this in ('C' | 'CM' | 'CD' | 'CV')).allFalse())"
    ): any_of(empty("offset"), all_of(exists("when"), none_in("when", "C", "CM", "CD", "CV"))),
    # obs-7 (R4) on Observation: the codes of the components are compared with the Observation's only
    # when it has both a value and coded components
    "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()": any_of(
        empty("value"), empty("component.code"), undecided
    ),
    # ukcore-obs-grplab-001 (UK Core) on Observation
    "value.empty()": empty("value"),
    # obs-7 (STU3) on Observation
    "value.empty() or (code in component.code).not()": any_of(
        empty("value"), not_(member_of("code", "component.code"))
    ),
    # con-4 (STU3) on Condition
    (
        "abatement.empty() or (abatement is boolean).not() or (abatement as boolean).not() or "
        "clinicalStatus='resolved' or clinicalStatus='remission' or clinicalStatus='inactive'"
    ): any_of(
        empty("abatement"),
        not_(is_type("abatement", "boolean")),
        not_(as_type("abatement", "boolean")),
        equals("clinicalStatus", "resolved"),
        equals("clinicalStatus", "remission"),
        equals("clinicalStatus", "inactive"),
    ),
    # cpb-8 (STU3) on CapabilityStatement
    "rest.select(mode).isDistinct()": distinct_values("rest.mode"),
    # cpb-9 (R4, STU3) on CapabilityStatement.rest
    "resource.select(type).isDistinct()": distinct_values("resource.type"),
    # cpb-12 (R4, STU3) on CapabilityStatement.rest.resource
    "searchParam.select(name).isDistinct()": distinct_values("searchParam.name"),
    # eld-13 (R4) on ElementDefinition
    "type.select(code).isDistinct()": distinct_values("type.code"),
    # eld-14 (R4, STU3) on ElementDefinition
    "constraint.select(key).isDistinct()": distinct_values("constraint.key"),
    # sdf-1 (R4, STU3) on StructureDefinition
    "derivation = 'constraint' or snapshot.element.select(path).isDistinct()": any_of(
        equals("derivation", "constraint"), distinct_values("snapshot.element.path")
    ),
    # sdf-16 (R4) on StructureDefinition
    "snapshot.element.all(id.exists()) and snapshot.element.id.trace('ids').isDistinct()": all_of(
        all_items("snapshot.element", exists("id")), distinct_values("snapshot.element.id")
    ),
    # sdf-16 (STU3) on StructureDefinition
    "snapshot.element.id.trace('ids').isDistinct()": distinct_values("snapshot.element.id"),
    # sdf-17 (R4) on StructureDefinition
    "differential.element.all(id.exists()) and differential.element.id.trace('ids').isDistinct()": all_of(
        all_items("differential.element", exists("id")), distinct_values("differential.element.id")
    ),
    # sdf-17 (STU3) on StructureDefinition
    "differential.element.id.trace('ids').isDistinct()": distinct_values("differential.element.id"),
    # bdl-7 (R4) on Bundle
    (
        "(type = 'history') or "
        "entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()"
    ): any_of(equals("type", "history"), _distinct_full_urls(exists("fullUrl"))),
    # bdl-7 (STU3) on Bundle
    ("entry.where(fullUrl).select(fullUrl&resource.meta.versionId).isDistinct()"): _distinct_full_urls(
        truthy("fullUrl")
    ),
}

SIMPLE_FAST_PATHS: Mapping[str, FastPath] = {text: fast_path(term) for text, term in _TERMS.items()}
