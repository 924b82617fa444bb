"""fhir.resources models as payloads: validated like their JSON, version checked, wherever payloads go.

The UK Core examples are turned into fhir.resources R4B models and validated both ways; the issues must be
the same. Model versions: R4B models go to R4 contexts, STU3 models to STU3 contexts, R5 models nowhere.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from conformance import instance
from conformance.context import Context
from conformance.errors import UsageError
from conformance.fhirversion import FhirVersion
from conformance.models import is_model, model_release, payload_of, to_model
from conformance.outcome import Issue
from conformance.settings import Settings
from conformance.standards import load_standard
from conformance.statements.assess import Product, assess
from conformance.testing import NonConformance, assert_conforms
from conformance.testing.strategies import resources
from conformance.validation import Validator

pytest.importorskip("fhir.resources", reason="the models extra (fhir.resources) is not installed")

from fhir.resources.humanname import HumanName
from fhir.resources.patient import Patient as R5Patient
from fhir.resources.R4B.humanname import HumanName as R4BHumanName
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.STU3.patient import Patient as STU3Patient

pytest_plugins = ["pytester"]

UKCORE = "fhir.r4.ukcore.stu2#2.0.2"
UKCORE_PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"


def _examples_dir(settings: Settings) -> Path:
    return settings.package_path[0] / "_examples" / "ukcore-stu2"


@pytest.fixture(scope="module")
def ukcore(shared_settings: Settings) -> Validator:
    return Validator(Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE]))


def _seen(issues: tuple[Issue, ...]) -> list[tuple[str, str, str | None, str]]:
    return sorted((i.severity.value, i.message_id, i.location, i.message) for i in issues)


def _found(issues: tuple[Issue, ...]) -> list[tuple[str, str, str | None]]:
    return sorted((i.severity.value, i.message_id, i.location) for i in issues)


def _read(path: Path) -> dict[str, Any]:
    parsed = instance.parse(path.read_bytes(), format="json")
    assert parsed.resource is not None
    return parsed.resource


def test_uk_core_examples_validate_the_same_as_models_and_as_json(
    ukcore: Validator, shared_settings: Settings
) -> None:
    folder = _examples_dir(shared_settings)
    if not folder.is_dir():
        pytest.skip(f"needs the UK Core examples at {folder}")
    compared = 0
    for path in sorted(folder.glob("*.json")):
        resource = _read(path)
        model = to_model(resource, FhirVersion.R4)
        # What the model exports is the JSON the model stands for; both must give the same issues.
        exported = json.loads(model.model_dump_json(by_alias=True, exclude_none=True), parse_float=Decimal)
        from_model = ukcore.validate(model)
        assert _seen(from_model.issues) == _seen(ukcore.validate(exported).issues), path.name
        # Against the file itself: the model may write a dateTime's +00:00 as Z, so messages may quote
        # another spelling, but the same rules must fail at the same places.
        from_file = ukcore.validate(resource)
        assert _found(from_model.issues) == _found(from_file.issues), path.name
        compared += 1
    assert compared > 100


def test_a_model_of_a_uk_core_example_gives_the_issues_of_the_example_file(
    ukcore: Validator, shared_settings: Settings
) -> None:
    path = _examples_dir(shared_settings) / "UKCore-Patient-RichardSmith-Example.json"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    model = Patient.model_validate(_read(path))
    model.gender = "mail"  # a code outside the required value set; assignment is not checked by the model
    resource = _read(path)
    resource["gender"] = "mail"
    from_model = ukcore.validate(model, profiles=[UKCORE_PATIENT])
    from_json = ukcore.validate(resource, profiles=[UKCORE_PATIENT])
    assert not from_model.valid
    assert "binding.required.not-in-valueset" in {i.message_id for i in from_model.errors}
    assert _seen(from_model.issues) == _seen(from_json.issues)


def test_a_model_with_an_error_reports_it(r4_validator: Validator) -> None:
    model = Observation.model_validate(
        {"resourceType": "Observation", "status": "final", "code": {"text": "weight"}, "valueString": "x"}
    )
    model.status = "finished"  # assignment is not validated by the model: the validator must catch it
    outcome = r4_validator.validate(model)
    assert ("binding.required.not-in-valueset", "Observation.status") in {
        (i.message_id, i.location) for i in outcome.errors
    }


def test_decimals_are_read_exactly_as_the_model_wrote_them(r4_validator: Validator) -> None:
    model = Observation.model_validate(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "weight"},
            "valueQuantity": {"value": Decimal("0.1")},
        }
    )
    payload = payload_of(model, FhirVersion.R4)
    assert isinstance(payload, dict)
    value = payload["valueQuantity"]["value"]
    assert isinstance(value, Decimal) and value == Decimal("0.1")  # not the float 0.1000000000000000055...
    assert r4_validator.validate(model).valid


def test_versions_r4b_goes_to_r4_stu3_and_r5_do_not(r4_validator: Validator) -> None:
    assert model_release(Patient(id="p")) == "4.3.0"
    assert r4_validator.validate(Patient(id="p")).valid
    with pytest.raises(
        UsageError, match=r"FHIR STU3 model .* context is FHIR R4: use the fhir.resources.R4B"
    ):
        r4_validator.validate(STU3Patient(id="p"))
    with pytest.raises(UsageError, match=r"FHIR R5 model .* context is FHIR R4"):
        r4_validator.validate(R5Patient(id="p"))


def test_an_r4b_model_goes_nowhere_near_stu3(shared_settings: Settings) -> None:
    context = Context.build(shared_settings, FhirVersion.STU3)
    validator = Validator(context)
    assert validator.validate(STU3Patient(id="p", gender="female")).valid
    with pytest.raises(
        UsageError, match=r"FHIR R4B model .* context is FHIR STU3: use the fhir.resources.STU3"
    ):
        validator.validate(Patient(id="p"))


def test_a_model_that_is_not_a_resource_is_refused(r4_validator: Validator) -> None:
    assert is_model(HumanName(family="Smith"))
    with pytest.raises(UsageError, match="not a resource"):
        r4_validator.validate(R4BHumanName(family="Smith"))
    assert not is_model({"resourceType": "Patient"}) and not is_model(b"{}")


def test_assert_conforms_takes_models_and_names_them(r4_validator: Validator) -> None:
    assert_conforms(Patient(id="p1", gender="female"), validator=r4_validator)
    broken = Patient(id="p2")
    broken.gender = "mail"
    with pytest.raises(NonConformance, match=r"Patient/p2 does not conform") as failure:
        assert_conforms(broken, validator=r4_validator)
    # a code of no known system for a required binding: both the value set and the code's system fail
    failed = {i.message_id for i in failure.value.failures}
    assert failed == {"binding.required.not-in-valueset", "binding.code.system-unknown"}
    assert_conforms(broken, validator=r4_validator, allow=sorted(failed))


def test_models_become_payloads_of_a_statement(shared_settings: Settings, tmp_path: Path) -> None:
    standard = load_standard("uk-core-stu2")
    context = Context.build(shared_settings, FhirVersion.R4, igs=[UKCORE])
    good = Patient(id="p1", gender="female")
    file = tmp_path / "bad.json"
    file.write_text(json.dumps({"resourceType": "Patient", "id": "b1", "gender": "mail"}), encoding="utf-8")
    statement = assess(standard, [file, good], context, Product("Supplier", "Product", "1"))
    names = [payload.name for payload in statement.evidence.payloads]
    assert names == ["bad.json", "model-1-Patient-p1.json"]
    verdicts = {p.name: [item.valid for item in p.items] for p in statement.evidence.payloads}
    assert verdicts == {"bad.json": [False], "model-1-Patient-p1.json": [True]}
    with pytest.raises(UsageError, match="STU3 model"):
        assess(standard, [STU3Patient(id="p")], context, Product("Supplier", "Product", "1"))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=pytest.importorskip("hypothesis.strategies").data())
def test_strategies_give_models_that_conform(data: Any, r4_validator: Validator) -> None:
    model = data.draw(
        resources("http://hl7.org/fhir/StructureDefinition/Patient", r4_validator, as_model=True)
    )
    assert isinstance(model, Patient)
    assert r4_validator.validate(model).valid


def test_without_fhir_resources_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fhir.resources.R4B", None)  # import now fails as if not installed
    with pytest.raises(UsageError, match=r"pip install 'fhir-conformance\[models\]'"):
        to_model({"resourceType": "Patient"}, FhirVersion.R4)


def test_the_pytest_plugin_validates_models(
    pytester: pytest.Pytester, shared_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(shared_settings.work_cache))
    monkeypatch.setenv("CONFORMANCE_PACKAGE_CACHE", str(pytester.path / "package-cache"))
    monkeypatch.delenv("CONFORMANCE_PACKAGE_PATH", raising=False)
    pytester.makepyfile(
        test_user_models="""
from fhir.resources.R4B.patient import Patient
from conformance.testing import assert_conforms

def test_good():
    assert_conforms(Patient(id="p1", gender="female"))

def test_bad():
    patient = Patient(id="p2")
    patient.gender = "mail"
    assert_conforms(patient)

def test_fixture(fhir_validator):
    assert fhir_validator.validate(Patient(id="p3")).valid
"""
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", f"--fhir-package-path={shared_settings.package_path[0]}", "--fhir-offline"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*Patient/p2 does not conform*", "*binding.required.not-in-valueset*"])
