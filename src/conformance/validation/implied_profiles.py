"""Profiles the FHIR specification requires of an Observation because of its code (R4 vital signs).

FHIR R4 says an Observation that reports a vital sign SHALL conform to the vital signs profile for it
(Observation "Vital Signs"). The HL7 validator applies that rule by code, LOINC first and then SNOMED CT,
with the first matching group deciding, and says so in an information issue; this table holds the same
groups of codes, so that the same Observations get the same profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.definitions.plan import Plan

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CORE = "http://hl7.org/fhir/StructureDefinition/"


@dataclass(frozen=True)
class ImpliedProfile:
    url: str
    name: str
    system_name: str
    code: str  # the code of the Observation that implies it


# (profile id, name, LOINC codes, SNOMED CT codes), in the order the codes are tried
_VITAL_SIGNS: tuple[tuple[str, str, frozenset[str], frozenset[str]], ...] = (
    ("vitalspanel", "Vital Signs Panel", frozenset({"85353-1"}), frozenset({"46680005"})),
    (
        "resprate",
        "Respiratory Rate",
        frozenset({"9279-1", "76170-0", "76172-6", "76171-8", "19840-8", "33438-3", "76270-8", "11291-2"}),
        frozenset({"86290005", "271625008", "271306003"}),
    ),
    (
        "heartrate",
        "Heart rate",
        frozenset(
            {
                "60978-4", "73795-7", "73799-9", "76476-1", "76477-9", "8867-4", "8889-8", "8890-6", "8891-4",
                "8892-2", "8893-0", "40443-4", "55425-3", "68999-2", "11328-2", "69000-8", "8886-4",
            }
        ),
        frozenset(
            {"271306003", "249043002", "444981005", "399017001", "251670001", "429525003", "429614003"}
        ),
    ),
    (
        "oxygensat",
        "Oxygen saturation",
        frozenset(
            {"2708-6", "19224-5", "20564-1", "2709-4", "2710-2", "2713-6", "51733-4", "59408-5", "59417-6",
             "89276-0", "97549-0"}
        ),
        frozenset({"442476006", "431314004"}),
    ),
    (
        "bodytemp",
        "Body temperature",
        frozenset(
            {
                "8310-5", "60834-9", "60835-6", "60836-4", "60838-0", "60955-2", "61009-7", "75539-7",
                "75987-8", "76010-8", "76011-6", "76278-1", "8309-7", "8328-7", "8329-5", "8330-3", "8331-1",
                "8332-9", "8333-7", "8334-5", "91371-5", "98657-0", "98663-8",
            }
        ),
        frozenset(
            {
                "386725007", "276885007", "300076005", "1222808002", "364246006", "307047009", "708499008",
                "431598003", "698831002", "698832009", "415882003", "415974002", "415929009", "415945006",
            }
        ),
    ),
    (
        "bodyheight",
        "Body height",
        frozenset({"8302-2", "3137-7", "3138-5", "8306-3", "8308-9"}),
        frozenset(
            {"1153637007", "1162419008", "50373000", "1162418000", "1230278008", "1162392001", "1162417005"}
        ),
    ),
    (
        "headcircum",
        "Head circumference",
        frozenset({"9843-4", "8287-5"}),
        frozenset({"363812007", "169876006", "1269262007", "363811000"}),
    ),
    (
        "bodyweight",
        "Body weight",
        frozenset({"29463-7", "3141-9", "3142-7", "75292-3", "79348-9", "8350-1", "8351-9"}),
        frozenset({"735395000", "425024002", "424927000", "784399000", "1162416001", "1162415002"}),
    ),
    ("bmi", "Body mass index", frozenset({"39156-5", "89270-3"}), frozenset({"60621009"})),
    (
        "bp",
        "Blood pressure systolic and diastolic",
        frozenset({"85354-9", "35094-2", "8459-0", "76534-7", "55284-4", "8480-6"}),
        frozenset(
            {"251076008", "163033001", "163035008", "386534000", "386536003", "271649006", "271650006",
             "407556006", "407554009", "716579001", "399304008"}
        ),
    ),
)  # fmt: skip


VITAL_SIGNS = CORE + "vitalsigns"
_VITAL_SIGNS_UNITS = "http://hl7.org/fhir/ValueSet/ucum-vitals-common|4.0.1"


def binding_strength(plan: Plan, path: str, value_set: str, strength: str) -> str:
    """The strength a binding is checked with: the R4 vital signs profiles' component units one is extensible.

    R4's vitalsigns profile (and each core profile derived from it) binds Observation.component.value[x] to a
    units value set as required, for every type of value, so a coded component value could never conform.
    The HL7 validator backs that binding off to extensible when it loads the R4 core, and so does this.
    """
    vital_signs = VITAL_SIGNS in (plan.url, plan.base_definition) and plan.url.startswith(CORE)
    if vital_signs and path == "Observation.component.value[x]" and value_set == _VITAL_SIGNS_UNITS:
        return "extensible" if strength == "required" else strength
    return strength


def implied_profile(observation: Mapping[str, Any]) -> ImpliedProfile | None:
    """The vital signs profile an Observation's code requires, if any (all LOINC groups before SNOMED CT)."""
    codings = _codings(observation.get("code"))
    for system, system_name, column in ((LOINC, "LOINC", 2), (SNOMED, "SNOMED CT", 3)):
        codes = [code for coding_system, code in codings if coding_system == system]
        for group in _VITAL_SIGNS:
            found = next((code for code in codes if code in group[column]), None)
            if found is not None:
                return ImpliedProfile(CORE + group[0], group[1], system_name, found)
    return None


def _codings(concept: Any) -> list[tuple[str, str]]:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    if not isinstance(codings, list):
        return []
    # wrongly shaped codings are reported by the structure checks; here they simply imply nothing
    found: list[tuple[str, str]] = []
    for coding in codings:
        system = coding.get("system") if isinstance(coding, Mapping) else None
        code = coding.get("code") if isinstance(coding, Mapping) else None
        if isinstance(system, str) and isinstance(code, str):
            found.append((system, code))
    return found
