"""Code systems that are not defined by a CodeSystem resource, and what can be known about them offline.

- Syntax-defined systems (UCUM, mime types, language tags): every well-formed
  code is a code of the system, so a whole-system include is decided by syntax.
- SNOMED CT and dm+d: the codes are SCTIDs, so a malformed or mis-checked id
  is certainly wrong, while a well-formed one needs a terminology server.
- Well-known external systems: their codes cannot be checked here at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from conformance.terminology.bcp import language_tag_problem, mime_type_problem
from conformance.terminology.checkdigits import sctid_problem
from conformance.terminology.results import LANGUAGE_INVALID, MIME_INVALID, UCUM_INVALID
from conformance.terminology.ucum import ucum_problem

UCUM = "http://unitsofmeasure.org"
MIME_TYPES = "urn:ietf:bcp:13"
LANGUAGES = "urn:ietf:bcp:47"
SNOMED_CT = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"
LOINC = "http://loinc.org"


@dataclass(frozen=True)
class SyntaxRule:
    """How to tell a well-formed code of a syntax-defined system."""

    label: str
    message_id: str
    problem: Callable[[str], str | None]


SYNTAX_SYSTEMS: Mapping[str, SyntaxRule] = {
    UCUM: SyntaxRule("UCUM unit", UCUM_INVALID, ucum_problem),
    MIME_TYPES: SyntaxRule("mime type", MIME_INVALID, mime_type_problem),
    LANGUAGES: SyntaxRule("language tag", LANGUAGE_INVALID, language_tag_problem),
}

SCTID_SYSTEMS = frozenset({SNOMED_CT, DMD})

# Systems known to exist though no package defines their content; a code from one of these is
# "not checked", never "unknown system". NamingSystems in the loaded packages add to this list.
KNOWN_EXTERNAL_SYSTEMS = frozenset(
    {
        SNOMED_CT,
        DMD,
        LOINC,
        "http://hl7.org/fhir/sid/icd-10",
        "http://hl7.org/fhir/sid/icd-10-cm",
        "http://hl7.org/fhir/sid/icd-9-cm",
        "http://hl7.org/fhir/sid/cvx",
        "http://hl7.org/fhir/sid/ndc",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "http://www.ama-assn.org/go/cpt",
        "http://nucc.org/provider-taxonomy",
        "http://unstats.un.org/unsd/methods/m49/m49.htm",
        "urn:iso:std:iso:3166",
        "urn:iso:std:iso:3166:-2",
        "urn:iso:std:iso:4217",
        "urn:iso:std:iso:11073:10101",
        "http://www.whocc.no/atc",
        "http://read.info/readv2",
        "http://read.info/ctv3",
        "https://fhir.nhs.uk/Id/ods-organization-code",
        "https://fhir.nhs.uk/Id/ods-site-code",
    }
)


@dataclass(frozen=True)
class SyntaxProblem:
    message_id: str
    message: str


def sctid_syntax_problem(system: str, code: str) -> SyntaxProblem | None:
    """What is wrong with a SNOMED CT or dm+d code that is all digits; None otherwise.

    A code with other characters may be a SNOMED CT expression, which only a
    server can judge, so it is not called wrong here.
    """
    if system not in SCTID_SYSTEMS or not (code.isascii() and code.isdigit()):
        return None
    problem = sctid_problem(code)
    return SyntaxProblem(f"identifier.sct.{problem.kind}", problem.message) if problem else None


def syntax_problem(system: str, code: str) -> SyntaxProblem | None:
    """Why `code` cannot be a code of `system`, judged by syntax alone; None when it may be one."""
    rule = SYNTAX_SYSTEMS.get(system)
    if rule is None:
        return sctid_syntax_problem(system, code)
    message = rule.problem(code)
    return SyntaxProblem(rule.message_id, message) if message else None
