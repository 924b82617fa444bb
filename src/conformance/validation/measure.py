"""A MeasureReport against the Measure it reports on, as the HL7 validator checks it (R4).

Each group, population and stratifier of the report is matched by code to one of the Measure's; the
measureScore must suit the Measure's scoring (none for a cohort, 0..1 and unitless for a proportion, a
value for ratio and continuous-variable, the unit the Measure fixes); populations of a summary carry a
count and no subjects. Problems are paths from the MeasureReport, so the engine can place them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from conformance.outcome import Severity

Path = tuple[str | int, ...]
Json = Mapping[str, Any]
UNIT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
DEQM_ALTERNATE_SCORE = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-alternateScoreType"
MEASURE_OBSERVATION = ("http://terminology.hl7.org/CodeSystem/measure-population", "measure-observation")
SCORED = ("proportion", "ratio", "continuous-variable")
KNOWN_SCORING = (*SCORED, "cohort")


@dataclass(frozen=True)
class MeasureProblem:
    severity: Severity
    message_id: str
    message: str
    path: Path


def measure_reference(report: Json) -> str | None:
    """The Measure a report names (R4 `measure` canonical; a Reference's `reference` is accepted too)."""
    measure = report.get("measure")
    if isinstance(measure, Mapping):
        measure = measure.get("reference")
    return measure if isinstance(measure, str) and measure.strip() else None


def check_report(report: Json, measure: Json | None, reference: str | None) -> list[MeasureProblem]:
    checker = _ReportChecker(report, measure or {})
    if reference is None:
        checker.add(
            Severity.INFORMATION,
            "no-measure",
            "No Measure is identified, so no validation can be performed against the Measure",
            (),
        )
    elif measure is None:
        checker.add(
            Severity.WARNING,
            "measure-not-found",
            f"The Measure '{reference}' could not be resolved, "
            "so no validation can be performed against the Measure",
            ("measure",),
        )
    else:
        checker.run()
    return checker.problems


def _objects(value: Any) -> list[Json]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _indexed(value: Any) -> Iterator[tuple[int, Json]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _codings(concept: Json | None) -> list[tuple[Any, Any]]:
    return [(c.get("system"), c.get("code")) for c in _objects((concept or {}).get("coding"))]


def _first_concept(value: Any) -> Json | None:
    """A CodeableConcept, or the first of a list of them (R4 stratifier.code repeats)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, Mapping) else None


def _shows(concept: Json | None) -> str:
    """A code as the HL7 validator writes it: system#code, several in brackets, then ': 'text''."""
    if concept is None:
        return ""
    codings = [f"{system}#{code}" for system, code in _codings(concept)]
    shown = codings[0] if len(codings) == 1 else (f"[{', '.join(codings)}]" if codings else "")
    text = concept.get("text")
    if isinstance(text, str):
        shown += (": " if shown else "") + f"'{text}'"
    return shown


def _matching(concept: Json, candidates: list[Json], *, by_text: bool = False) -> Json | None:
    """The candidate whose code shares a system and code with `concept` (or, when asked, its text)."""
    wanted = set(_codings(concept))
    for candidate in candidates:
        code = candidate.get("code")
        if not isinstance(code, Mapping):
            continue
        if wanted & set(_codings(code)):
            return candidate
        texts_match = concept.get("text") is not None and concept.get("text") == code.get("text")
        if by_text and not wanted and not _codings(code) and texts_match:
            return candidate
    return None


@dataclass
class _ReportChecker:
    report: Json
    measure: Json
    problems: list[MeasureProblem] = field(default_factory=list)

    def add(self, severity: Severity, kind: str, message: str, path: Path) -> None:
        self.problems.append(MeasureProblem(severity, f"measurereport.{kind}", message, path))

    def error(self, kind: str, message: str, path: Path) -> None:
        self.add(Severity.ERROR, kind, message, path)

    @property
    def scoring(self) -> str | None:
        codings = _codings(_first_concept(self.measure.get("scoring")))
        return codings[0][1] if codings else None

    def run(self) -> None:
        if self.scoring not in KNOWN_SCORING:
            self.add(
                Severity.INFORMATION,
                "scoring-unknown",
                "The scoring system in this measure is unknown, so the measureScore values cannot be checked",
                ("measure",),
            )
        measure_groups = _objects(self.measure.get("group"))
        if measure_groups:
            self._groups(measure_groups)

    # ---- groups

    def _groups(self, measure_groups: list[Json]) -> None:
        report_groups = list(_indexed(self.report.get("group")))
        if len(report_groups) == 1 and len(measure_groups) == 1:
            index, group = report_groups[0]
            self._only_group(group, measure_groups[0], ("group", index))
            return
        matched: list[Json] = []
        for index, group in report_groups:
            path: Path = ("group", index)
            concept = _first_concept(group.get("code"))
            if concept is None:
                self.error(
                    "group-no-code",
                    "Group should have a code that matches the group definition in the measure",
                    path,
                )
                continue
            found = _matching(concept, measure_groups)
            if found is None:
                self.error(
                    "group-unknown-code",
                    f"The code '{_shows(concept)}' for this group has no match in the measure definition",
                    path,
                )
            elif any(found is seen for seen in matched):
                self.error(
                    "group-duplicate-code", "The code for this group is duplicated with another group", path
                )
            else:
                matched.append(found)
                self._group(group, found, path)
        if self.report.get("type") == "data-collection":
            return
        for group in measure_groups:
            if not any(group is seen for seen in matched):
                code = _shows(_first_concept(group.get("code")))
                self.error(
                    "group-missing",
                    f"The MeasureReport does not include a group for the group with code '{code}'",
                    (),
                )

    def _only_group(self, group: Json, measure_group: Json, path: Path) -> None:
        """One group each: it may be anonymous, but codes on both must agree."""
        concept, expected = _first_concept(group.get("code")), _first_concept(measure_group.get("code"))
        if concept is not None and expected is not None:
            if not any(system and code for system, code in _codings(concept)):
                self.error(
                    "group-code-unusable",
                    "None of the codes provided are usable for comparison - "
                    "need both system and code on at least one code",
                    path,
                )
            elif _matching(concept, [measure_group]) is None:
                self.error(
                    "group-wrong-code",
                    f"The code provided ({_shows(concept)}) does not match the code specified in the "
                    f"measure report ({_shows(expected)})",
                    path,
                )
        self._group(group, measure_group, path)

    def _group(self, group: Json, measure_group: Json, path: Path) -> None:
        self._populations(group, measure_group, path)
        self._score(group, path)
        self._stratifiers(group, measure_group, path)

    # ---- populations

    def _populations(self, group: Json, measure_group: Json, path: Path) -> None:
        defined = _objects(measure_group.get("population"))
        matched: list[Json] = []
        for index, population in _indexed(group.get("population")):
            here = (*path, "population", index)
            concept = _first_concept(population.get("code"))
            if concept is None:
                self.error(
                    "population-no-code",
                    "Group should have a code that matches the group population definition in the measure",
                    here,
                )
                continue
            found = _matching(concept, defined)
            if found is None:
                self.error(
                    "population-unknown-code",
                    "The code for this group population has no match in the measure definition",
                    here,
                )
            elif any(found is seen for seen in matched):
                self.error(
                    "population-duplicate-code",
                    "The code for this group population is duplicated with another group",
                    here,
                )
            else:
                matched.append(found)
                self._population(population, here)
        for population in defined:
            concept = _first_concept(population.get("code"))
            if any(population is seen for seen in matched) or MEASURE_OBSERVATION in _codings(concept):
                continue
            self.error(
                "population-missing",
                "The MeasureReport does not include a population for the population with code "
                f"'{_shows(concept)}'",
                path,
            )

    def _population(self, population: Json, path: Path) -> None:
        if self.report.get("type") == "subject-list":
            return  # counting the subjects means resolving their Lists: not checked
        if population.get("subjectResults") is not None:
            self.error(
                "population-subjects",
                "Reports where type is not 'subject-list' don't have subjects listed",
                path,
            )
        if population.get("count") is None:
            self.add(
                Severity.WARNING,
                "population-no-count",
                "Count should be present for reports where type is not 'subject-list'",
                path,
            )

    # ---- measureScore

    def _score(self, group: Json, path: Path) -> None:
        score = group.get("measureScore")
        here = (*path, "measureScore")
        if self.report.get("type") == "data-collection":
            if score is not None:
                self.error(
                    "score-prohibited",
                    "No measureScore when the type of the report is 'data-collection'",
                    here,
                )
        elif self.scoring == "cohort":
            if score is not None:
                self.error(
                    "score-prohibited", "No measureScore when the scoring of the message is 'cohort'", here
                )
        elif self.scoring in SCORED:
            if not isinstance(score, Mapping):
                self.error(
                    "score-required",
                    f"A measureScore is required when the Measure.scoring={self.scoring}",
                    path,
                )
            else:
                self._score_value(score, here)

    def _score_value(self, score: Json, path: Path) -> None:
        value = score.get("value")
        if value is None:
            alternate = [e for e in _objects(score.get("extension")) if e.get("url") == DEQM_ALTERNATE_SCORE]
            value = alternate[0].get("valueDecimal") if alternate else None
        if value is None:
            self.error(
                "score-value-required", f"A value is required when the Measure.scoring = {self.scoring}", path
            )
        if self.scoring == "proportion":
            self._proportion(score, value, path)
        elif value is not None:
            self._unit(score, path)

    def _proportion(self, score: Json, value: Any, path: Path) -> None:
        for unit_part in ("unit", "system", "code"):
            if score.get(unit_part) is not None:
                self.error(
                    "score-unit-prohibited",
                    "A measureScore for this Measure Scoring (proportion) should not have units",
                    (*path, unit_part),
                )
        try:
            number = Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
        except InvalidOperation:
            number = None  # a malformed decimal has its own error
        if number is not None and not Decimal(0) <= number <= Decimal(1):
            self.error(
                "score-out-of-range", "The value is invalid - it must be between 0 and 1", (*path, "value")
            )

    def _unit(self, score: Json, path: Path) -> None:
        """Ratio and continuous-variable: the unit the Measure fixes (questionnaire-unit extension)."""
        fixed = [
            e.get("valueCoding")
            for e in _objects(self.measure.get("extension"))
            if e.get("url") == UNIT_EXTENSION
        ]
        unit = fixed[0] if fixed and isinstance(fixed[0], Mapping) else None
        if score.get("code") is None:
            if unit is not None:
                self.error(
                    "score-fixed",
                    f"This value is fixed by the Measure to '{_shows({'coding': [unit]})}'",
                    path,
                )
            elif self.scoring == "ratio":
                self.add(
                    Severity.WARNING,
                    "score-unit-required",
                    "A unit should be present when the scoring type is ratio",
                    path,
                )
            return
        if unit is None:
            return
        if score.get("code") != unit.get("code"):
            self.error(
                "score-fixed", f"This value is fixed by the Measure to '{unit.get('code')}'", (*path, "code")
            )
        if score.get("system") != unit.get("system"):
            self.error("score-fixed", f"This value is fixed by the Measure to '{unit.get('system')}'", path)

    # ---- stratifiers

    def _stratifiers(self, group: Json, measure_group: Json, path: Path) -> None:
        defined = _objects(measure_group.get("stratifier"))
        matched: list[Json] = []
        for index, stratifier in _indexed(group.get("stratifier")):
            here = (*path, "stratifier", index)
            concept = _first_concept(stratifier.get("code"))
            if concept is None:
                self.error(
                    "stratifier-no-code",
                    "Group should have a code that matches the group stratifier definition in the measure",
                    here,
                )
                continue
            found = _matching(concept, defined, by_text=True)
            if found is None:
                self.error(
                    "stratifier-unknown-code",
                    "The code for this group stratifier has no match in the measure definition",
                    here,
                )
            elif any(found is seen for seen in matched):
                self.error(
                    "stratifier-duplicate-code",
                    "The code for this group stratifier is duplicated with another group",
                    here,
                )
            else:
                matched.append(found)
        for stratifier in defined:
            if any(stratifier is seen for seen in matched):
                continue
            code = _shows(_first_concept(stratifier.get("code")))
            ident = stratifier.get("id") if isinstance(stratifier.get("id"), str) else ""
            self.error(
                "stratifier-missing",
                "The MeasureReport does not include a stratifier for the stratifier with code "
                f"'{code}' (id = '{ident}')",
                path,
            )
