"""The terminology options: parsing, settings from the environment, and the service they build."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cli.options import add_package_options
from conformance.cli.terminology_options import (
    add_terminology_options,
    credentials_of,
    terminology_from,
    terminology_session,
    terminology_settings,
)
from conformance.errors import UsageError
from conformance.fhirversion import FhirVersion
from conformance.settings import Settings
from conformance.terminology import InMemorySource, LocalTerminology
from conformance.terminology.composite import CompositeTerminology
from conformance.terminology.recorded import FORMAT, Recorder, Replayer
from conformance.terminology.remote import RemoteTerminology
from conformance.terminology.results import CodeCheck
from tx_server import CLINICAL_FINDINGS, SNOMED, client_resources, running_tx_server


class FakeContext(InMemorySource):
    """What terminology_from needs of a Context: definitions and a FHIR version."""

    fhir_version = FhirVersion.R4


def parser() -> argparse.ArgumentParser:
    built = argparse.ArgumentParser(prog="conformance validate")
    add_package_options(built)
    add_terminology_options(built)
    return built


def parse(*argv: str) -> argparse.Namespace:
    return parser().parse_args(list(argv))


def build(*argv: str, environ: dict[str, str] | None = None) -> Any:
    settings = Settings.from_environment(environ or {})
    return terminology_from(parse(*argv), FakeContext(client_resources()), settings)


def test_every_option_is_offered() -> None:
    text = parser().format_help()
    for option in (
        "--tx URL",
        "--tx-client-id ID",
        "--tx-client-secret-env NAME",
        "--tx-token-url URL",
        "--tx-timeout SECONDS",
        "--tx-record FILE",
        "--tx-replay FILE",
        "--display-warnings",
    ):
        assert option in text


def test_no_option_means_the_local_definitions_only() -> None:
    assert isinstance(build(), LocalTerminology)


def test_a_server_is_asked_after_the_local_definitions() -> None:
    service = build("--tx", "https://tx.example.org/fhir/", "--tx-timeout", "2.5", "--display-warnings")
    assert isinstance(service, CompositeTerminology)
    assert isinstance(service.local, LocalTerminology) and service.local.display_mismatch_is_warning
    assert isinstance(service.remote, RemoteTerminology)
    assert service.remote.url == "https://tx.example.org/fhir"
    assert service.remote.options.http.timeout == 2.5
    assert service.remote.options.display_mismatch_is_warning


def test_the_environment_names_a_server_and_none_turns_it_off() -> None:
    environ = {"CONFORMANCE_TX_SERVER": "https://env.example.org/fhir"}
    from_env = build(environ=environ)
    assert isinstance(from_env, CompositeTerminology)
    assert (
        isinstance(from_env.remote, RemoteTerminology)
        and from_env.remote.url == "https://env.example.org/fhir"
    )
    assert isinstance(build("--tx", "none", environ=environ), LocalTerminology)
    assert isinstance(build("--offline", environ=environ), LocalTerminology)


def test_a_server_on_the_command_line_wins_over_a_replay_in_the_environment(tmp_path: Path) -> None:
    service = build(
        "--tx", "https://tx.example.org/fhir", environ={"CONFORMANCE_TX_REPLAY": str(tmp_path / "r.json")}
    )
    assert isinstance(service, CompositeTerminology)
    assert isinstance(service.remote, RemoteTerminology)


def test_recording_wraps_whatever_answers(tmp_path: Path) -> None:
    service = build("--tx", "https://tx.example.org/fhir", "--tx-record", str(tmp_path / "a.json"))
    assert isinstance(service, Recorder)
    assert isinstance(service.service, CompositeTerminology)
    assert service.path == tmp_path / "a.json"


def test_replaying_answers_what_the_packages_cannot_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"format": FORMAT, "version": 1, "answers": []}), encoding="utf-8")
    environ = {"CONFORMANCE_TX_SERVER": "https://env.example.org/fhir"}
    service = build("--tx-replay", str(path), environ=environ)  # a replay never uses the network
    assert isinstance(service, CompositeTerminology)
    assert isinstance(service.remote, Replayer)


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (("--tx", "https://a.example/fhir", "--tx-replay", "r.json"), {}, "cannot be combined with --tx"),
        (("--tx-record", "a.json", "--tx-replay", "b.json"), {}, "record terminology answers or replay them"),
        (("--tx", "https://a.example/fhir", "--offline"), {}, "--offline forbids"),
        (("--tx", "tx.example.org/fhir"), {}, "must be an http:// or https:// URL"),
        (("--tx", "ftp://tx.example.org/fhir"), {}, "must be an http:// or https:// URL"),
        (("--tx", "https://a.example/fhir", "--tx-client-id", "me"), {}, "client secret"),
        (
            (
                "--tx",
                "https://a.example/fhir",
                "--tx-client-id",
                "me",
                "--tx-client-secret-env",
                "TX_TEST_SECRET_ABSENT",
            ),
            {},
            "TX_TEST_SECRET_ABSENT (named by --tx-client-secret-env) is not set",
        ),
        (
            ("--tx", "https://a.example/fhir"),
            {"CONFORMANCE_TX_CLIENT_ID": "me", "CONFORMANCE_TX_CLIENT_SECRET": "s"},
            "token endpoint (--tx-token-url)",
        ),
    ],
)
def test_contradictory_or_incomplete_options_are_usage_errors(
    argv: tuple[str, ...], environ: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TX_TEST_SECRET_ABSENT", raising=False)
    with pytest.raises(UsageError) as raised:
        build(*argv, environ=environ)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_timeout_that_is_not_a_positive_number_is_refused_by_the_parser(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        parse("--tx-timeout", value)
    assert raised.value.code == 2
    assert "--tx-timeout" in capsys.readouterr().err


def test_the_secret_comes_from_the_variable_the_user_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TX_SECRET", "from-my-variable")
    args = parse(
        "--tx",
        "https://a.example/fhir",
        "--tx-client-id",
        "me",
        "--tx-client-secret-env",
        "MY_TX_SECRET",
        "--tx-token-url",
        "https://auth.example/token",
    )
    chosen = terminology_settings(args, Settings.from_environment({}))
    credentials = credentials_of(chosen)
    assert credentials is not None
    assert credentials.client_secret.reveal() == "from-my-variable"
    assert "from-my-variable" not in repr(chosen) and "from-my-variable" not in repr(credentials)


def test_settings_read_the_terminology_environment() -> None:
    settings = Settings.from_environment(
        {
            "CONFORMANCE_TX_SERVER": "https://tx.example.org/fhir",
            "CONFORMANCE_TX_CLIENT_ID": "client",
            "CONFORMANCE_TX_CLIENT_SECRET": "hush",
            "CONFORMANCE_TX_TOKEN_URL": "https://auth.example/token",
            "CONFORMANCE_TX_TIMEOUT": "7.5",
            "CONFORMANCE_TX_RECORD": "~/answers.json",
            "CONFORMANCE_TX_REPLAY": "",
        }
    )
    assert settings.tx_server == "https://tx.example.org/fhir"
    assert (settings.tx_client_id, settings.tx_client_secret, settings.tx_token_url) == (
        "client",
        "hush",
        "https://auth.example/token",
    )
    assert settings.tx_timeout == 7.5
    assert settings.tx_record == Path("~/answers.json").expanduser()
    assert settings.tx_replay is None
    assert "hush" not in repr(settings)


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_a_bad_timeout_in_the_environment_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="CONFORMANCE_TX_TIMEOUT"):
        Settings.from_environment({"CONFORMANCE_TX_TIMEOUT": value})


def test_a_session_asks_the_server_and_writes_its_recording_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    with running_tx_server() as server:
        args = parse("--tx", server.url, "--tx-record", str(path), "--tx-timeout", "5")
        with terminology_session(
            args, FakeContext(client_resources()), Settings.from_environment({})
        ) as service:
            result = service.validate_code(CLINICAL_FINDINGS, system=SNOMED, code="44054006")
            assert not path.exists()
    assert result.status is CodeCheck.VALID
    recording = json.loads(path.read_text(encoding="utf-8"))
    assert [a["question"]["code"] for a in recording["answers"]] == ["44054006"]
