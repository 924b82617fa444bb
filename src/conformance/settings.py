"""The one place that reads environment variables.

Library code receives a `Settings` value; only `Settings.from_environment`
looks at `os.environ`, so behaviour is explicit and testable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from conformance.errors import UsageError

DEFAULT_REGISTRY = "https://packages.fhir.org"

ENV_PACKAGE_PATH = "CONFORMANCE_PACKAGE_PATH"
ENV_PACKAGE_CACHE = "CONFORMANCE_PACKAGE_CACHE"
ENV_REGISTRY = "CONFORMANCE_REGISTRY"
ENV_OFFLINE = "CONFORMANCE_OFFLINE"
ENV_WORK_CACHE = "CONFORMANCE_CACHE_DIR"
ENV_EXTENSIONS_PACK = "CONFORMANCE_EXTENSIONS_PACK"
ENV_TX_SERVER = "CONFORMANCE_TX_SERVER"
ENV_TX_CLIENT_ID = "CONFORMANCE_TX_CLIENT_ID"
ENV_TX_CLIENT_SECRET = "CONFORMANCE_TX_CLIENT_SECRET"
ENV_TX_TOKEN_URL = "CONFORMANCE_TX_TOKEN_URL"
ENV_TX_TIMEOUT = "CONFORMANCE_TX_TIMEOUT"
ENV_TX_RECORD = "CONFORMANCE_TX_RECORD"
ENV_TX_REPLAY = "CONFORMANCE_TX_REPLAY"


def default_package_cache() -> Path:
    """The FHIR tool ecosystem's shared package cache."""
    return Path.home() / ".fhir" / "packages"


def default_work_cache() -> Path:
    """Where this tool keeps what it derives (extracted archives, compiled profiles)."""
    return Path(platformdirs.user_cache_dir("fhir-conformance"))


def _truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in {"1", "true", "yes", "on"}


def _switch(text: str | None, name: str, *, default: bool) -> bool:
    """An on/off variable: unset or empty keeps the default; anything unrecognised is a usage error."""
    value = (text or "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise UsageError(f"{name} must be on or off (1/0, true/false, yes/no), not {text!r}")


def _optional_path(text: str | None) -> Path | None:
    return Path(text).expanduser() if text and text.strip() else None


def _optional_seconds(text: str | None, name: str) -> float | None:
    if not text or not text.strip():
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise UsageError(f"{name} must be a number of seconds, not {text!r}") from None
    if not seconds > 0:
        raise UsageError(f"{name} must be a positive number of seconds, not {text!r}")
    return seconds


def read_secret(variable: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of the environment variable a user named to hold a secret (None when unset or empty).

    Secrets are passed by the name of a variable, never on the command line, where any user of the
    machine could read them in the process list.
    """
    env = os.environ if environ is None else environ
    return env.get(variable) or None


def _split_path(text: str | None) -> tuple[Path, ...]:
    if not text:
        return ()
    return tuple(Path(part).expanduser() for part in text.split(os.pathsep) if part.strip())


@dataclass(frozen=True)
class Settings:
    """Where packages come from and whether the network may be used."""

    package_path: tuple[Path, ...] = ()
    package_cache: Path = field(default_factory=default_package_cache)
    work_cache: Path = field(default_factory=default_work_cache)
    registry_url: str = DEFAULT_REGISTRY
    offline: bool = False
    # Load the HL7 extensions pack (hl7.fhir.uv.extensions.r4) into R4 contexts, as the HL7 validator does.
    extensions_pack: bool = True
    # A FHIR terminology server for what the loaded packages cannot answer (SNOMED CT, LOINC, dm+d...).
    tx_server: str | None = None
    tx_client_id: str | None = None
    tx_client_secret: str | None = field(default=None, repr=False)  # never shown in a repr or a log
    tx_token_url: str | None = None
    tx_timeout: float | None = None
    tx_record: Path | None = None  # save every terminology answer here
    tx_replay: Path | None = None  # answer from this recording, with no network

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            package_path=_split_path(env.get(ENV_PACKAGE_PATH)),
            package_cache=Path(env[ENV_PACKAGE_CACHE]).expanduser()
            if env.get(ENV_PACKAGE_CACHE)
            else base.package_cache,
            work_cache=Path(env[ENV_WORK_CACHE]).expanduser() if env.get(ENV_WORK_CACHE) else base.work_cache,
            registry_url=env.get(ENV_REGISTRY) or base.registry_url,
            offline=_truthy(env.get(ENV_OFFLINE)),
            extensions_pack=_switch(env.get(ENV_EXTENSIONS_PACK), ENV_EXTENSIONS_PACK, default=True),
            tx_server=env.get(ENV_TX_SERVER) or None,
            tx_client_id=env.get(ENV_TX_CLIENT_ID) or None,
            tx_client_secret=env.get(ENV_TX_CLIENT_SECRET) or None,
            tx_token_url=env.get(ENV_TX_TOKEN_URL) or None,
            tx_timeout=_optional_seconds(env.get(ENV_TX_TIMEOUT), ENV_TX_TIMEOUT),
            tx_record=_optional_path(env.get(ENV_TX_RECORD)),
            tx_replay=_optional_path(env.get(ENV_TX_REPLAY)),
        )

    def with_options(
        self,
        *,
        package_path: tuple[Path, ...] = (),
        offline: bool | None = None,
        package_cache: Path | None = None,
        registry_url: str | None = None,
        extensions_pack: bool | None = None,
    ) -> Settings:
        """Command-line or API options on top: explicit folders come before the environment's."""
        return replace(
            self,
            package_path=(*package_path, *self.package_path),
            offline=self.offline if offline is None else offline,
            package_cache=package_cache or self.package_cache,
            registry_url=registry_url or self.registry_url,
            extensions_pack=self.extensions_pack if extensions_pack is None else extensions_pack,
        )

    def with_terminology(
        self,
        *,
        tx_server: str | None = None,
        tx_client_id: str | None = None,
        tx_client_secret: str | None = None,
        tx_token_url: str | None = None,
        tx_timeout: float | None = None,
        tx_record: Path | None = None,
        tx_replay: Path | None = None,
    ) -> Settings:
        """Command-line or API terminology options on top of the environment's; None keeps what is there."""
        return replace(
            self,
            tx_server=tx_server or self.tx_server,
            tx_client_id=tx_client_id or self.tx_client_id,
            tx_client_secret=tx_client_secret or self.tx_client_secret,
            tx_token_url=tx_token_url or self.tx_token_url,
            tx_timeout=tx_timeout if tx_timeout is not None else self.tx_timeout,
            tx_record=tx_record or self.tx_record,
            tx_replay=tx_replay or self.tx_replay,
        )
