"""The pytest plugin, registered through the `pytest11` entry point.

It is inert unless used: loading it registers options, a marker and two fixtures, and nothing else
happens until a test asks for `fhir_context` / `fhir_validator`, calls `assert_conforms` without a
validator, or the run is given `--fhir-payloads`. Only then are packages loaded and Plans compiled,
once for the whole session.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.testing.assertions import (
    Allowance,
    NonConformance,
    conformance_report,
    default_profiles,
    validator_source,
)

if TYPE_CHECKING:
    from conformance.context import Context
    from conformance.reports.payloads import Payload
    from conformance.reports.runner import ContextSpec, RunSpec
    from conformance.validation import Validator

MARKER = "fhir_profile"
_DEFAULT_VERSION = "4.0"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fhir-conformance", "FHIR conformance (fhir-conformance plugin)")
    group.addoption(
        "--fhir-version", default=None, metavar="V", help="FHIR version: 4.0 (R4, default) or 3.0 (STU3)"
    )
    group.addoption(
        "--fhir-package-path",
        action="append",
        default=[],
        metavar="DIR",
        help="folder of FHIR packages (.tgz or unpacked) searched before the package cache; repeatable",
    )
    group.addoption(
        "--fhir-ig",
        action="append",
        default=[],
        metavar="NAME#VERSION",
        help="load this FHIR package; repeatable",
    )
    group.addoption(
        "--fhir-extra-resources",
        action="append",
        default=[],
        metavar="DIR_OR_FILE",
        help="conformance resources (profiles, value sets) to load on top of the packages; repeatable",
    )
    group.addoption(
        "--fhir-offline", action="store_true", default=None, help="never use the network for packages"
    )
    group.addoption(
        "--fhir-payloads",
        action="append",
        default=[],
        metavar="DIR",
        help="make a test of every payload (.json, .xml, each line of .ndjson) in DIR; repeatable",
    )
    group.addoption(
        "--fhir-profile",
        action="append",
        default=[],
        metavar="URL",
        help="check --fhir-payloads of this profile's resource type against it; repeatable",
    )
    group.addoption(
        "--fhir-allow",
        action="append",
        default=[],
        metavar="MESSAGE_ID[@LOCATION]",
        help="issues --fhir-payloads tests tolerate; repeatable",
    )
    parser.addini("fhir_version", "FHIR version (4.0 or 3.0)", default=_DEFAULT_VERSION)
    parser.addini("fhir_package_path", "folders of FHIR packages", type="paths", default=[])
    parser.addini("fhir_igs", "FHIR packages to load (NAME#VERSION), one a line", type="linelist", default=[])
    parser.addini(
        "fhir_extra_resources", "profiles and other conformance resources", type="paths", default=[]
    )
    parser.addini("fhir_offline", "never use the network for packages", type="bool", default=False)
    parser.addini("fhir_payloads", "folders of payloads to make tests of", type="paths", default=[])
    parser.addini("fhir_profiles", "profiles for the payload tests", type="linelist", default=[])
    parser.addini("fhir_allow", "issues the payload tests tolerate", type="linelist", default=[])


class FhirSession:
    """The plugin's options, and the Context and Validator built from them on first use."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._validator: Validator | None = None
        self._run_spec: RunSpec | None = None

    def _option(self, name: str, ini: str) -> Any:
        given = self.config.getoption(name)
        return given if given not in (None, []) else self.config.getini(ini)

    @property
    def payload_folders(self) -> tuple[Path, ...]:
        return tuple(Path(p) for p in self._option("fhir_payloads", "fhir_payloads"))

    @property
    def allowances(self) -> tuple[Allowance, ...]:
        return tuple(Allowance.parse(text) for text in self._option("fhir_allow", "fhir_allow"))

    def context_spec(self) -> ContextSpec:
        from conformance.fhirversion import FhirVersion  # noqa: PLC0415 - inert until used
        from conformance.reports.runner import ContextSpec  # noqa: PLC0415
        from conformance.settings import Settings  # noqa: PLC0415

        offline = self.config.getoption("fhir_offline") or self.config.getini("fhir_offline")
        folders = tuple(Path(p) for p in self._option("fhir_package_path", "fhir_package_path"))
        return ContextSpec(
            settings=Settings.from_environment().with_options(package_path=folders, offline=offline or None),
            fhir_version=FhirVersion.parse(str(self._option("fhir_version", "fhir_version"))),
            igs=tuple(self._option("fhir_ig", "fhir_igs")),
            extra_resources=tuple(
                Path(p) for p in self._option("fhir_extra_resources", "fhir_extra_resources")
            ),
            wanted_profiles=tuple(self._option("fhir_profile", "fhir_profiles")),
        )

    def validator(self) -> Validator:
        """The session's Validator, built on first use; a broken setup fails the test asking for it."""
        if self._validator is None:
            from conformance.errors import ConformanceError  # noqa: PLC0415
            from conformance.validation import Validator  # noqa: PLC0415

            try:
                self._validator = Validator(self.context_spec().build())
            except ConformanceError as exc:
                pytest.fail(f"fhir-conformance could not load its packages: {exc}", pytrace=False)
        return self._validator

    def run_spec(self) -> RunSpec:
        if self._run_spec is None:
            from conformance.reports.runner import RunSpec  # noqa: PLC0415

            validator = self.validator()
            profiles = self._option("fhir_profile", "fhir_profiles")
            self._run_spec = RunSpec.for_context(self.context_spec(), validator.context, profiles)
        return self._run_spec


_SESSION = pytest.StashKey[FhirSession]()


def fhir_session(config: pytest.Config) -> FhirSession:
    return config.stash[_SESSION]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(url, ...): profiles that assert_conforms checks against in this test when given none",
    )
    config.stash[_SESSION] = FhirSession(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    session = fhir_session(item.config)
    marker = item.get_closest_marker(MARKER)
    profiles: Sequence[str] = tuple(str(url) for url in marker.args) if marker is not None else ()
    with validator_source(session.validator), default_profiles(profiles):
        return (yield)


@pytest.fixture(scope="session")
def fhir_context(pytestconfig: pytest.Config) -> Context:
    """The Context of the plugin's options (`--fhir-ig`, `--fhir-package-path`...), built once."""
    context: Context = fhir_session(pytestconfig).validator().context
    return context


@pytest.fixture(scope="session")
def fhir_validator(pytestconfig: pytest.Config) -> Validator:
    """A Validator over `fhir_context`; Plans compile on first use and stay for the session."""
    return fhir_session(pytestconfig).validator()


# ---------------------------------------------------------------- --fhir-payloads


class PayloadFile(pytest.File):
    """A payload file: one test, or one per line for NDJSON."""

    def collect(self) -> Iterator[pytest.Item]:
        from conformance.reports.payloads import Input, payloads_of  # noqa: PLC0415

        for payload in payloads_of(Input(self.path, named=False)):
            name = self.path.name if payload.line is None else f"line {payload.line}"
            yield PayloadItem.from_parent(self, name=name, payload=payload)


class PayloadItem(pytest.Item):
    """One payload; fails with the conformance report when it has errors the run does not allow."""

    def __init__(self, *, payload: Payload, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.payload = payload

    def runtest(self) -> None:
        from conformance.reports.runner import PayloadChecker  # noqa: PLC0415

        session = fhir_session(self.config)
        result = PayloadChecker(session.validator(), session.run_spec()).check(self.payload)
        allowances = session.allowances
        failures = [
            issue
            for issue in result.outcome.errors
            if not any(allowance.covers(issue) for allowance in allowances)
        ]
        if failures:
            report = conformance_report(result.name, result.profiles, failures, result.outcome)
            raise NonConformance(report, result.outcome, failures)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, NonConformance):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.payload.line
        return self.path, (line - 1 if line else None), self.name


def _payload_files(folders: Sequence[Path]) -> Iterator[Path]:
    from conformance.reports.payloads import discover  # noqa: PLC0415

    for item in discover(folders):
        yield item.path.absolute()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # tryfirst: the payload tests must exist before -k, -m and other plugins select among the items.
    folders = fhir_session(config).payload_folders
    if not folders:
        return
    from conformance.errors import ConformanceError  # noqa: PLC0415

    try:
        files = list(_payload_files(folders))
    except ConformanceError as exc:
        raise pytest.UsageError(f"--fhir-payloads: {exc}") from exc
    for path in files:
        items.extend(PayloadFile.from_parent(session, path=path).collect())
