"""The installed wheel is what runs, and the data it reads at run time came inside it."""

from __future__ import annotations

import json
import sys
from importlib.metadata import distribution
from pathlib import Path

from installed_support import Runner, shown

import conformance
from conformance.cli.sample_cmd import default_payload_folder
from conformance.standards import available_standards, load_standard
from conformance.terminology.identifiers import default_rules


def test_the_package_imported_is_the_installed_wheel_not_a_checkout() -> None:
    package = Path(conformance.__file__).resolve()
    assert package.is_relative_to(Path(sys.prefix).resolve()), f"{package} is outside {sys.prefix}"
    direct_url = distribution("fhir-conformance").read_text("direct_url.json")
    editable = bool(direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"))
    assert not editable, "this suite tests a wheel installed normally, not an editable install"


def test_the_version_comes_from_the_installed_metadata(run_conformance: Runner) -> None:
    version = distribution("fhir-conformance").version
    assert conformance.__version__ == version != "0.0.0"
    result = run_conformance("--version")
    assert result.returncode == 0 and version in result.stdout, shown(result)


def test_the_shipped_standards_load_from_inside_the_package() -> None:
    installed = Path(conformance.__file__).resolve().parent
    found = dict(available_standards())
    assert "uk-core-stu2" in found and "care-connect-stu3" in found, found
    assert all(path.resolve().is_relative_to(installed) for path in found.values()), found
    assert load_standard("uk-core-stu2").fhir_version.label == "R4"


def test_the_uk_identifier_rules_load_from_inside_the_package() -> None:
    rule = default_rules().for_system("https://fhir.nhs.uk/Id/nhs-number")
    assert rule is not None and rule.check == "nhs-number"
    assert rule.problem("9486072311") is not None and rule.problem("9486072310") is None


def test_the_sample_payloads_ship_with_the_package() -> None:
    folder = default_payload_folder()
    assert folder.resolve().is_relative_to(Path(conformance.__file__).resolve().parent)
    assert sorted(path.name for path in folder.iterdir()) == ["invalid", "valid"]
    assert list((folder / "valid").glob("*.json")) and list((folder / "invalid").glob("*.json"))


def test_keygen_writes_a_key_pair(run_conformance: Runner, tmp_path: Path) -> None:
    result = run_conformance("keygen", "--out", "supplier.key")
    assert result.returncode == 0, shown(result)
    assert "PRIVATE KEY" in (tmp_path / "supplier.key").read_text()
    assert "PUBLIC KEY" in (tmp_path / "supplier.key.pub").read_text()


def test_explain_reads_its_entries_from_inside_the_package(run_conformance: Runner) -> None:
    result = run_conformance("explain", "--format", "json", "binding.required.not-in-valueset")
    assert result.returncode == 0, shown(result)
    entry = json.loads(result.stdout)
    assert entry["id"] == "binding.required.not-in-valueset" and entry["severity"] == "error", entry
    assert entry["fix"] and entry["examples"], entry
