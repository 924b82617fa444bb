"""The one-file command imports only what validating needs, and what it reads lazily still reads right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fhirpathpy.models import models as fhirpathpy_models

import conformance
from conformance.cli import main
from conformance.fhirpath import FhirPathEngine, FhirPathError, _syntax
from conformance.fhirpath._fhirpathpy import models
from conformance.fhirpath._functions import SIGNATURES
from conformance.fhirpath.engine import is_known_constant
from conformance.fhirpath.fastpath import FAST_PATHS
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_PACKAGES = REPO.parent / "shared" / "fhir-packages"

# What `validate` of one small file must not load: each costs tens of milliseconds to import and is
# only needed by other commands, by terminal output, by --version, or by other FHIR versions.
NOT_ON_THE_VALIDATE_PATH = (
    "rich",
    "importlib.metadata",
    "fhirpathpy",
    "antlr4",
    "regex",
    "pydantic",
    "httpx",
    "jsonschema",
    "cryptography",
    "starlette",
)

_PROBE = """
import io, json, sys
from contextlib import redirect_stdout
from conformance.cli import main
with redirect_stdout(io.StringIO()) as out:
    code = main(["validate", sys.argv[1]])
print(json.dumps({"code": code, "output": out.getvalue(), "modules": sorted(sys.modules)}))
"""


@pytest.mark.shared
def test_validating_one_file_loads_none_of_the_heavy_modules(
    tmp_path: Path, shared_settings: Settings
) -> None:
    payload = tmp_path / "p.json"
    payload.write_text('{"resourceType": "Patient", "id": "p1", "active": true}')
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CONFORMANCE_PACKAGE_PATH": str(SHARED_PACKAGES),
        "CONFORMANCE_CACHE_DIR": str(shared_settings.work_cache),  # extracted once per session (or kept)
        "CONFORMANCE_PACKAGE_CACHE": str(tmp_path / "packages"),
        "CONFORMANCE_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(payload)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )
    report = json.loads(done.stdout)
    assert report["code"] == 0
    assert "p.json  valid: 0 error(s), 1 warning(s)" in report["output"]
    loaded = set(report["modules"])
    assert [name for name in NOT_ON_THE_VALIDATE_PATH if name in loaded] == []


def test_version_is_read_on_first_use_and_printed_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    # The checkout runs its Python sources; the installed wheel's build is checked in tests/smoke.
    assert capsys.readouterr().out == f"conformance {conformance.__version__} (pure Python)\n"
    assert conformance.__version__.count(".") >= 2


def test_an_unknown_module_attribute_is_still_an_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = conformance.no_such_name


@pytest.mark.parametrize("version", sorted(fhirpathpy_models))
def test_type_tables_read_on_demand_are_fhirpathpys_own(version: str) -> None:
    assert models[version] == fhirpathpy_models[version]
    assert models[version] is models[version]  # read once


def test_type_tables_list_the_versions_fhirpathpy_ships_and_refuse_others() -> None:
    assert sorted(models) == sorted(fhirpathpy_models)
    with pytest.raises(KeyError):
        models["r9"]


@pytest.mark.parametrize("text", sorted(FAST_PATHS))
def test_every_fast_path_text_is_valid_fhirpath(text: str) -> None:
    """Expressions with a fast path are parsed only when first evaluated the general way: safe because
    every one of them parses."""
    assert _syntax.parse(text, SIGNATURES, is_known_constant).tree


def test_an_expression_with_a_fast_path_is_parsed_when_first_needed_and_agrees() -> None:
    engine = FhirPathEngine(FhirVersion.R4)
    text = next(iter(sorted(FAST_PATHS)))
    compiled = engine.compile(text)
    assert compiled.is_fast and "parsed" not in vars(compiled)
    assert compiled.tree == _syntax.parse(text, SIGNATURES, is_known_constant).tree
    assert "parsed" in vars(compiled)


def test_an_expression_without_a_fast_path_is_still_refused_when_compiled() -> None:
    engine = FhirPathEngine(FhirVersion.R4)
    with pytest.raises(FhirPathError, match="syntax error"):
        engine.compile("name.exists( or")
    with pytest.raises(FhirPathError, match="unknown FHIRPath variable"):
        engine.compile("%nowhere.exists()")
