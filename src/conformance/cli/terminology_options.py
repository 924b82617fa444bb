"""Terminology options shared by the commands that validate: a server, its credentials, recordings.

`add_terminology_options(parser)` adds the options; `terminology_from(args,
context)` builds the service they describe. The service must be closed at the
end of the run (`close_terminology`, or use `terminology_session`): that is
when a recording is written.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conformance.cli.options import positive_seconds
from conformance.errors import UsageError
from conformance.settings import Settings, read_secret
from conformance.terminology import LocalTerminology, TerminologyService

if TYPE_CHECKING:
    from conformance.terminology.oauth import ClientCredentials

# The remote, recorded and composite services (and httpx under them) are imported where they are built:
# a run without a terminology server never loads them, which keeps a one-file `validate` quick to start.

NO_SERVER = frozenset({"none", "n/a", "off"})


def add_terminology_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("terminology")
    group.add_argument(
        "--tx",
        default=None,
        metavar="URL",
        help="FHIR terminology server for the codes the packages cannot check (SNOMED CT, LOINC, dm+d); "
        "'none' for none (default: $CONFORMANCE_TX_SERVER, else none)",
    )
    group.add_argument("--tx-client-id", default=None, metavar="ID", help="OAuth2 client id for the server")
    group.add_argument(
        "--tx-client-secret-env",
        default=None,
        metavar="NAME",
        help="name of the environment variable holding the OAuth2 client secret "
        "(default: $CONFORMANCE_TX_CLIENT_SECRET)",
    )
    group.add_argument(
        "--tx-token-url", default=None, metavar="URL", help="OAuth2 token endpoint of the server"
    )
    group.add_argument(
        "--tx-timeout",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="seconds to wait for each answer of the server (default 20)",
    )
    group.add_argument(
        "--tx-record", type=Path, default=None, metavar="FILE", help="save every terminology answer in FILE"
    )
    group.add_argument(
        "--tx-replay",
        type=Path,
        default=None,
        metavar="FILE",
        help="answer what the packages cannot from a recording (--tx-record), with no network",
    )
    group.add_argument(
        "--display-warnings",
        action="store_true",
        default=False,
        help="report wrong displays of codes as warnings, not errors",
    )


def terminology_settings(args: argparse.Namespace, settings: Settings | None = None) -> Settings:
    """The environment's terminology settings with the command line's on top."""
    base = settings if settings is not None else Settings.from_environment()
    secret_variable = _option(args, "tx_client_secret_env")
    secret = read_secret(secret_variable) if secret_variable else None
    if secret_variable and secret is None:
        raise UsageError(
            f"the environment variable {secret_variable} (named by --tx-client-secret-env) is not set"
        )
    chosen = base.with_terminology(
        tx_client_id=_option(args, "tx_client_id"),
        tx_client_secret=secret,
        tx_token_url=_option(args, "tx_token_url"),
        tx_timeout=_option(args, "tx_timeout"),
        tx_record=_option(args, "tx_record"),
        tx_replay=_option(args, "tx_replay"),
    )
    return _with_server_choice(chosen, args)


def _with_server_choice(settings: Settings, args: argparse.Namespace) -> Settings:
    explicit = _option(args, "tx")
    wants_none = explicit is not None and explicit.strip().lower() in NO_SERVER
    explicit_server = explicit.strip() if explicit is not None and not wants_none else None
    if explicit_server is not None:
        if _option(args, "tx_replay") is not None:
            raise UsageError("--tx-replay answers from a recording: it cannot be combined with --tx")
        settings = replace(settings, tx_replay=None)  # the command line wins over the environment
    if settings.tx_replay is not None and settings.tx_record is not None:
        raise UsageError("a run can record terminology answers or replay them, not both")
    offline = bool(_option(args, "offline")) or settings.offline
    if explicit_server is not None and offline:
        raise UsageError("--tx needs the network, which --offline forbids")
    server = None if wants_none else explicit_server or settings.tx_server
    if settings.tx_replay is not None or offline:
        server = None  # a replay and an offline run never use the network, whatever the environment says
    return _replace_server(settings, server)


def _replace_server(settings: Settings, server: str | None) -> Settings:
    if server is not None:
        _check_url(server, "--tx")
    return replace(settings, tx_server=server)


def _check_url(url: str, option: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option} must be an http:// or https:// URL, not {url!r}")


def credentials_of(settings: Settings) -> ClientCredentials | None:
    """OAuth2 client credentials when any are configured; all three parts are then needed."""
    client_id, secret, token_url = settings.tx_client_id, settings.tx_client_secret, settings.tx_token_url
    if client_id is None and secret is None and token_url is None:
        return None
    if client_id is None or secret is None or token_url is None:
        parts = {
            "client id (--tx-client-id)": client_id,
            "client secret (--tx-client-secret-env)": secret,
            "token endpoint (--tx-token-url)": token_url,
        }
        missing = " and a ".join(name for name, value in parts.items() if value is None)
        raise UsageError(f"OAuth2 for the terminology server also needs a {missing}")
    _check_url(token_url, "--tx-token-url")
    from conformance.terminology.oauth import ClientCredentials, Secret  # noqa: PLC0415

    return ClientCredentials(token_url, client_id, Secret(secret))


def terminology_from(
    args: argparse.Namespace, context: Any, settings: Settings | None = None
) -> TerminologyService:
    """The terminology service the options describe, over `context` (its packages are the local answers).

    Close it when the run ends (`close_terminology`): a recording is written then.
    """
    chosen = terminology_settings(args, settings)
    display_warnings = bool(_option(args, "display_warnings"))
    local = LocalTerminology(context, context.fhir_version, display_mismatch_is_warning=display_warnings)
    service: TerminologyService = local
    if chosen.tx_replay is None and chosen.tx_server is None and chosen.tx_record is None:
        return service
    from conformance.terminology.composite import CompositeTerminology  # noqa: PLC0415
    from conformance.terminology.recorded import Recorder, Replayer  # noqa: PLC0415
    from conformance.terminology.remote import RemoteOptions, RemoteTerminology  # noqa: PLC0415
    from conformance.terminology.transport import HttpOptions  # noqa: PLC0415

    if chosen.tx_replay is not None:
        service = CompositeTerminology(local, Replayer.from_file(chosen.tx_replay))
    elif chosen.tx_server is not None:
        http = HttpOptions(timeout=chosen.tx_timeout) if chosen.tx_timeout else HttpOptions()
        remote = RemoteTerminology(
            chosen.tx_server,
            fhir_version=context.fhir_version,
            source=context,
            options=RemoteOptions(http=http, display_mismatch_is_warning=display_warnings),
            credentials=credentials_of(chosen),
        )
        service = CompositeTerminology(local, remote)
    if chosen.tx_record is not None:
        service = Recorder(service, chosen.tx_record)
    return service


def close_terminology(service: object) -> None:
    """End the run's use of the service: write its recording, close its connections."""
    closer = getattr(service, "close", None)
    if callable(closer):
        closer()


@contextmanager
def terminology_session(
    args: argparse.Namespace, context: Any, settings: Settings | None = None
) -> Iterator[TerminologyService]:
    service = terminology_from(args, context, settings)
    try:
        yield service
    finally:
        close_terminology(service)


def _option(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, None)
