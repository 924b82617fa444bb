"""fhir.resources model instances as payloads: the FHIR JSON form of a model, its FHIR version checked.

fhir.resources (the `models` extra) ships one set of pydantic models per FHIR version: the default
modules (`fhir.resources.patient`) are R5, `fhir.resources.R4B` is R4B and `fhir.resources.STU3` is
STU3. A model is turned into a payload with its own JSON export (by alias, without empty fields) and
read back through this project's JSON reader, so decimals stay exactly as the model wrote them and the
validator sees what it would see in a JSON file.

Versions: an STU3 model belongs to an STU3 context. An R4B model is accepted by an R4 context: R4B is a
ballot-free interim release whose data types and most resources are R4's (the common resources, Patient
or Observation, serialise alike), and whatever R4B added is then judged by R4's definitions, which
report it like any other unknown element. An R5 model is refused by both: R5 changed too many resources
for its JSON to be taken as R4. fhir.resources is imported only when a model has to be made.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from importlib import import_module
from types import ModuleType
from typing import Any, Protocol, cast

from conformance import instance
from conformance.errors import UsageError
from conformance.fhirversion import FhirVersion


class FhirModel(Protocol):
    """What a fhir.resources model offers that is used here: its pydantic JSON export."""

    def model_dump_json(self, *, by_alias: bool = ..., exclude_none: bool = ...) -> str: ...


Payload = bytes | str | os.PathLike[str] | Mapping[str, Any] | instance.Parsed
"""What the validator reads: a payload's bytes or text, a path to one, or a resource in the JSON form."""

_PACKAGE = "fhir.resources"
_INSTALL_HINT = "install the models extra: pip install 'fhir-conformance[models]'"

# The FHIR releases (major.minor) whose models each context takes, and the module that models them.
_ACCEPTED_RELEASES: dict[FhirVersion, tuple[str, ...]] = {
    FhirVersion.R4: ("4.0", "4.3"),
    FhirVersion.STU3: ("3.0",),
}
_MODEL_MODULES: dict[FhirVersion, str] = {
    FhirVersion.R4: "fhir.resources.R4B",
    FhirVersion.STU3: "fhir.resources.STU3",
}
_RELEASE_NAMES = {"3.0": "STU3", "4.0": "R4", "4.3": "R4B", "5.0": "R5", "6.0": "R6"}


def is_model(source: object) -> bool:
    """Whether `source` is an instance of a fhir.resources model (told without importing fhir.resources)."""
    if type(source) in (bytes, str, dict):  # what nearly every call is given: not a model
        return False
    return any(
        (cls.__module__ or "").startswith(f"{_PACKAGE}.") for cls in type(source).__mro__
    ) and callable(getattr(source, "model_dump_json", None))


def model_release(model: Any) -> str:
    """The FHIR release a model's module set models ("4.3.0" for fhir.resources.R4B)."""
    module_name: str = type(model).__module__
    package = module_name.rsplit(".", 1)[0]
    while package.startswith(_PACKAGE):
        release = getattr(sys.modules.get(package), "__fhir_version__", None)
        if isinstance(release, str):
            return release
        package = package.rsplit(".", 1)[0]
    raise UsageError(f"cannot tell which FHIR version the model {type(model).__name__} is for")


def model_json(model: Any, version: FhirVersion) -> bytes:
    """The model's FHIR JSON (its own export, by alias, no empty fields), after checking its version."""
    check_release(model_release(model), version, type(model).__name__)
    text = model.model_dump_json(by_alias=True, exclude_none=True)
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def check_release(release: str, version: FhirVersion, what: str = "model") -> None:
    """Refuse a model of a FHIR release the context's version does not take (see the module docstring)."""
    minor = ".".join(release.split(".")[:2])
    if minor in _ACCEPTED_RELEASES[version]:
        return
    name = _RELEASE_NAMES.get(minor, release)
    module = _MODEL_MODULES[version]
    raise UsageError(
        f"the {what} is a FHIR {name} model ({release}) and this context is FHIR {version.label}: "
        f"use the {module} models"
    )


def payload_of(source: Payload | FhirModel, version: FhirVersion) -> Payload:
    """A model as the validator's input (its FHIR JSON form); any other source unchanged.

    The JSON is read by this project's reader, so decimals stay exact; should the reader find a
    problem in it, the text itself is given back for the validator to report on.
    """
    if not is_model(source):
        return cast(Payload, source)  # not a model, so one of the other sources
    data = model_json(source, version)
    parsed = instance.parse(data, format="json")
    if parsed.resource is None or parsed.issues:
        return data
    if "resourceType" not in parsed.resource:
        raise UsageError(f"a {type(source).__name__} model is not a resource: give a resource model")
    return parsed.resource


def fhir_resources(version: FhirVersion) -> ModuleType:
    """The fhir.resources module set for a context's version, or a UsageError saying how to install it."""
    try:
        return import_module(_MODEL_MODULES[version])
    except ImportError:
        raise UsageError(f"fhir.resources models need the fhir.resources package: {_INSTALL_HINT}") from None


def to_model(resource: Mapping[str, Any], version: FhirVersion) -> Any:
    """A resource in the FHIR JSON form as a fhir.resources model of the context's version.

    Raises the model's own (pydantic) validation error when fhir.resources does not accept it.
    """
    module = fhir_resources(version)
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        raise UsageError("a resource without a resourceType cannot become a model")
    try:
        model_class = module.get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError):
        raise UsageError(f"fhir.resources has no {resource_type} model for FHIR {version.label}") from None
    return model_class.model_validate(dict(resource))
