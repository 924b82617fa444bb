"""Published constraint expressions that are wrong as written, and what is evaluated instead.

Several core invariants of FHIR R4 and STU3 were published with expressions that fail
on valid content: an empty operand turns the whole expression empty (which counts as
failure), a pattern is not anchored, or a System type is named where a FHIR type is
meant. The HL7 reference validator evaluates corrected expressions for these; so does
this package, so that both agree. Corrections are matched on the exact published text
(and, where one text serves two constraints, on the constraint key), never on anything
else. Each entry says why it is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.fhirversion import FhirVersion


@dataclass(frozen=True)
class Correction:
    published: str
    corrected: str
    reason: str
    versions: frozenset[FhirVersion] = frozenset(FhirVersion)
    key: str | None = None  # only for this constraint key, when the published text is shared


_R4 = frozenset({FhirVersion.R4})
_STU3 = frozenset({FhirVersion.STU3})
_NAME_PATTERN = "[A-Z]([A-Za-z0-9_]){0,254}"
_ELD19_CHARACTERS = "[^\\\\s\\\\.,:;\\\\\\'\"\\\\/|?!@#$%&*()\\\\[\\\\]{}]"

CORRECTIONS: tuple[Correction, ...] = (
    Correction(
        published="enableWhen.count() > 2 implies enableBehavior.exists()",
        corrected="enableWhen.count() > 1 implies enableBehavior.exists()",
        reason="que-12's own human text says 'more than one enableWhen'; the published count is off by one",
        versions=_R4,
    ),
    Correction(
        published=f"name.matches('{_NAME_PATTERN}')",
        corrected=f"name.exists() implies name.matches('^{_NAME_PATTERN}$')",
        reason="the pattern is meant for the whole name, and a missing name is allowed (xxx-0)",
    ),
    Correction(
        published="reference.startsWith('#').not() or "
        "(reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))",
        corrected="reference.exists() implies (reference = '#' or reference.startsWith('#').not() or "
        "(reference.substring(1) in %rootResource.contained.id))",
        reason="a Reference without a reference string is empty, not a failure; '#' names the container",
        versions=_R4,
    ),
    Correction(
        published="reference.startsWith('#').not() or "
        "(reference.substring(1).trace('url') in %resource.contained.id.trace('ids'))",
        corrected="reference.exists() implies (reference = '#' or reference.startsWith('#').not() or "
        "(reference.substring(1) in %rootResource.contained.id))",
        reason="as R4 ref-1; contained resources are listed by the root resource, not by %resource",
        versions=_STU3,
    ),
    Correction(
        published="fullUrl.contains('/_history/').not()",
        corrected="fullUrl.exists() implies fullUrl.contains('/_history/').not()",
        reason="an entry without fullUrl is allowed (bdl-8)",
    ),
    Correction(
        published="probability is decimal implies (probability as decimal) <= 100",
        corrected="probability.exists() implies "
        "(probability is decimal implies (probability as decimal) <= 100)",
        reason="a prediction without probability is allowed (ras-2)",
        versions=_R4,
    ),
    Correction(
        published="probability is decimal implies probability.as(decimal) <= 100",
        corrected="probability.exists() implies "
        "(probability is decimal implies probability.as(decimal) <= 100)",
        reason="a prediction without probability is allowed (ras-2)",
        versions=_STU3,
    ),
    Correction(
        published="operator = 'exists' implies (answer is Boolean)",
        corrected="operator = 'exists' implies (answer is boolean)",
        reason="the answer is a FHIR boolean, not a System Boolean (que-7)",
        versions=_R4,
    ),
    Correction(
        published="text.`div`.exists()",
        corrected="(%rootResource != $this) or text.`div`.exists()",
        reason="the narrative is recommended for the resource itself, not for the resources it contains"
        " (dom-6)",
        versions=_R4,
    ),
    Correction(
        published="htmlChecks()",
        corrected="htmlChecks2()",
        reason="txt-2 asks for non-whitespace content, not for the element rules of txt-1",
        versions=_R4,
        key="txt-2",
    ),
    Correction(
        published="htmlchecks()",
        corrected="htmlChecks2()",
        reason="txt-2 asks for non-whitespace content, not for the element rules of txt-1",
        versions=_STU3,
        key="txt-2",
    ),
    Correction(
        published=f"path.matches('{_ELD19_CHARACTERS}{{1,64}}(\\\\.{_ELD19_CHARACTERS}{{1,64}}"
        "(\\\\[x\\\\])?(\\\\:[^\\\\s\\\\.]+)?)*')",
        corrected=f"path.matches('^{_ELD19_CHARACTERS}{{1,64}}(\\\\.{_ELD19_CHARACTERS}{{1,64}}"
        "(\\\\[x\\\\])?(\\\\:[^\\\\s\\\\.]+)?)*$')",
        reason="the pattern is meant for the whole path (eld-19)",
        versions=_R4,
    ),
    Correction(
        published="path.matches('[A-Za-z][A-Za-z0-9]*(\\\\.[a-z][A-Za-z0-9]*(\\\\[x])?)*')",
        corrected="path.matches('^[A-Za-z][A-Za-z0-9]*(\\\\.[a-z][A-Za-z0-9]*(\\\\[x])?)*$')",
        reason="the pattern is meant for the whole path (eld-20)",
        versions=_R4,
    ),
    Correction(
        published="clinicalStatus.exists() or verificationStatus.coding.where(system='http://terminology.hl7.org/"
        "CodeSystem/condition-ver-status' and code = 'entered-in-error').exists() or "
        "category.select($this='problem-list-item').empty()",
        corrected="(verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/"
        "condition-ver-status' and code = 'entered-in-error').exists() and category.coding.where("
        "system='http://terminology.hl7.org/CodeSystem/condition-category' and code='problem-list-item')"
        ".empty()) implies clinicalStatus.exists()",
        reason="the published text compares a CodeableConcept with a string; this is the HL7 validator's"
        " reading (con-3)",
        versions=_R4,
    ),
    Correction(
        published="offset.empty() or (when.exists() and ((when in ('C' | 'CM' | 'CD' | 'CV')).not()))",
        corrected="offset.empty() or "
        "(when.exists() and when.select($this in ('C' | 'CM' | 'CD' | 'CV')).allFalse())",
        reason="`when` repeats, and `in` needs a single value (tim-9)",
    ),
    Correction(
        published="value.empty() or code!=component.code",
        corrected="value.empty() or (code in component.code).not()",
        reason="compares one code with every component code, not with the list as a whole (obs-7)",
        versions=_STU3,
    ),
    Correction(
        published="abatement.empty() or (abatement as boolean).not()  or clinicalStatus='resolved' or "
        "clinicalStatus='remission' or clinicalStatus='inactive'",
        corrected="abatement.empty() or (abatement is boolean).not() or (abatement as boolean).not() or "
        "clinicalStatus='resolved' or clinicalStatus='remission' or clinicalStatus='inactive'",
        reason="an abatement that is not a boolean makes the published text empty (con-4)",
        versions=_STU3,
    ),
)


_KEYED_TEXTS = frozenset(correction.published for correction in CORRECTIONS if correction.key is not None)


def depends_on_key(text: str) -> bool:
    """Is there a correction of this text for some constraint keys only?"""
    return text in _KEYED_TEXTS


def correct(text: str, version: FhirVersion, key: str | None = None) -> Correction | None:
    """The correction that applies to this published expression, if any."""
    for correction in CORRECTIONS:
        if (
            correction.published == text
            and version in correction.versions
            and (correction.key is None or correction.key == key)
        ):
            return correction
    return None
