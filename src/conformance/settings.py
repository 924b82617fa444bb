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

DEFAULT_REGISTRY = "https://packages.fhir.org"

ENV_PACKAGE_PATH = "CONFORMANCE_PACKAGE_PATH"
ENV_PACKAGE_CACHE = "CONFORMANCE_PACKAGE_CACHE"
ENV_REGISTRY = "CONFORMANCE_REGISTRY"
ENV_OFFLINE = "CONFORMANCE_OFFLINE"
ENV_WORK_CACHE = "CONFORMANCE_CACHE_DIR"


def default_package_cache() -> Path:
    """The FHIR tool ecosystem's shared package cache."""
    return Path.home() / ".fhir" / "packages"


def default_work_cache() -> Path:
    """Where this tool keeps what it derives (extracted archives, compiled profiles)."""
    return Path(platformdirs.user_cache_dir("fhir-conformance"))


def _truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in {"1", "true", "yes", "on"}


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
        )

    def with_options(
        self,
        *,
        package_path: tuple[Path, ...] = (),
        offline: bool | None = None,
        package_cache: Path | None = None,
        registry_url: str | None = None,
    ) -> Settings:
        """Command-line or API options on top: explicit folders come before the environment's."""
        return replace(
            self,
            package_path=(*package_path, *self.package_path),
            offline=self.offline if offline is None else offline,
            package_cache=package_cache or self.package_cache,
            registry_url=registry_url or self.registry_url,
        )
