"""A MeasureReport against its Measure: groups, populations and stratifiers by code, the measureScore."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.context import Context
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.validation import Validator
from conformance.validation.measure import check_report

POP = "http://terminology.hl7.org/CodeSystem/measure-population"
SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
MEASURE_URL = "http://example.org/fhir/Measure/m1"


def _code(code: str, system: str = POP) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _measure(
    scoring: str, *, strata: tuple[str, ...] = (), unit: dict[str, str] | None = None
) -> dict[str, Any]:
    group: dict[str, Any] = {
        "population": [{"code": _code("initial-population")}, {"code": _code("numerator")}],
    }
    if strata:
        group["stratifier"] = [{"id": f"s-{name}", "code": {"text": name}} for name in strata]
    measure: dict[str, Any] = {
        "resourceType": "Measure",
        "url": MEASURE_URL,
        "status": "active",
        "scoring": _code(scoring, SCORING),
        "group": [group],
    }
    if unit is not None:
        measure["extension"] = [
            {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-unit", "valueCoding": unit}
        ]
    return measure


def _report(score: dict[str, Any] | None = None, **group: Any) -> dict[str, Any]:
    populations = [
        {"code": _code("initial-population"), "count": 10},
        {"code": _code("numerator"), "count": 5},
    ]
    body: dict[str, Any] = {"population": populations, **group}
    if score is not None:
        body["measureScore"] = score
    return {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": MEASURE_URL,
        "period": {"start": "2020-01-01", "end": "2020-12-31"},
        "group": [body],
    }


def _found(report: dict[str, Any], measure: dict[str, Any] | None) -> list[str]:
    return [
        f"{p.severity.value} {p.message_id} @ {'.'.join(map(str, p.path))}"
        for p in check_report(report, measure, MEASURE_URL)
    ]


@pytest.mark.parametrize(
    ("scoring", "score", "expected"),
    [
        pytest.param("proportion", {"value": 0.5}, [], id="proportion-ok"),
        pytest.param(
            "proportion",
            {"value": 1.5},
            ["error measurereport.score-out-of-range @ group.0.measureScore.value"],
            id="proportion-above-1",
        ),
        pytest.param(
            "proportion",
            {"value": 0.5, "unit": "%"},
            ["error measurereport.score-unit-prohibited @ group.0.measureScore.unit"],
            id="proportion-with-unit",
        ),
        pytest.param(
            "proportion",
            None,
            ["error measurereport.score-required @ group.0"],
            id="proportion-without-score",
        ),
        pytest.param(
            "cohort",
            {"value": 3},
            ["error measurereport.score-prohibited @ group.0.measureScore"],
            id="cohort-with-score",
        ),
        pytest.param("cohort", None, [], id="cohort-ok"),
        pytest.param(
            "ratio",
            {"value": 3},
            ["warning measurereport.score-unit-required @ group.0.measureScore"],
            id="ratio-without-unit",
        ),
    ],
)
def test_measure_score_suits_the_scoring(
    scoring: str, score: dict[str, Any] | None, expected: list[str]
) -> None:
    assert _found(_report(score), _measure(scoring)) == expected


def test_the_unit_the_measure_fixes() -> None:
    measure = _measure("continuous-variable", unit={"system": "http://unitsofmeasure.org", "code": "min"})
    score = {"value": 30, "system": "http://unitsofmeasure.org", "code": "h"}
    assert _found(_report(score), measure) == ["error measurereport.score-fixed @ group.0.measureScore.code"]
    assert _found(_report({**score, "code": "min"}), measure) == []


def test_populations_match_the_measure_by_code() -> None:
    report = _report({"value": 0.5})
    report["group"][0]["population"] = [
        {"code": _code("initial-population"), "count": 10},
        {"code": _code("denominator"), "count": 10},
        {"count": 1},
    ]
    assert _found(report, _measure("proportion")) == [
        "error measurereport.population-unknown-code @ group.0.population.1",
        "error measurereport.population-no-code @ group.0.population.2",
        "error measurereport.population-missing @ group.0",
    ]


def test_a_summary_population_has_a_count_and_no_subjects() -> None:
    report = _report({"value": 0.5})
    report["group"][0]["population"][1] = {
        "code": _code("numerator"),
        "subjectResults": {"reference": "List/1"},
    }
    assert _found(report, _measure("proportion")) == [
        "error measurereport.population-subjects @ group.0.population.1",
        "warning measurereport.population-no-count @ group.0.population.1",
    ]


def test_stratifiers_match_the_measure_by_code_or_text() -> None:
    measure = _measure("cohort", strata=("age", "sex"))
    report = _report(stratifier=[{"code": [{"text": "age"}]}, {"stratum": []}])
    assert _found(report, measure) == [
        "error measurereport.stratifier-no-code @ group.0.stratifier.1",
        "error measurereport.stratifier-missing @ group.0",
    ]


def test_groups_must_say_which_measure_group_they_report_when_there_are_several() -> None:
    report = _report({"value": 0.5})
    report["group"].append(dict(report["group"][0]))
    assert _found(report, _measure("proportion")) == [
        "error measurereport.group-no-code @ group.0",
        "error measurereport.group-no-code @ group.1",
        "error measurereport.group-missing @ ",
    ]


def test_an_unknown_measure_is_a_warning_and_nothing_else() -> None:
    assert _found(_report({"value": 7}), None) == ["warning measurereport.measure-not-found @ measure"]


def test_hostile_shapes_do_not_crash() -> None:
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "group": [1, {"population": "x", "stratifier": [{}]}],
    }
    measure: dict[str, Any] = {"scoring": [], "group": [{"stratifier": [1, {"code": "x"}]}]}
    assert _found(report, measure) == [
        "information measurereport.scoring-unknown @ measure",
        "error measurereport.stratifier-no-code @ group.1.stratifier.0",
        "error measurereport.stratifier-missing @ group.1",
    ]


@pytest.mark.shared
def test_the_validator_checks_a_report_against_a_loaded_measure(shared_settings: Settings) -> None:
    validator = Validator(
        Context.build(shared_settings, FhirVersion.R4, extra_resources=[_measure("cohort")])
    )
    outcome = validator.validate(_report({"value": 3}))
    assert [(i.message_id, i.location) for i in outcome.errors] == [
        ("measurereport.score-prohibited", "MeasureReport.group[0].measureScore")
    ]
