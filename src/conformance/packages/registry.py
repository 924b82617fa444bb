"""A client for npm-style FHIR package registries.

`GET {base}/{name}` lists a package's versions, each with a `dist.tarball`
address and, usually, an `integrity` (SRI, sha512) or `shasum` (sha1). The
HTTP client is created on first use only, so a registry that is never asked
never opens a socket.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from conformance.errors import PackageNotFoundError, RegistryError
from conformance.packages.archive import check_integrity

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_DOWNLOAD = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Distribution:
    """Where one version's tarball is, and the hashes the registry publishes for it."""

    tarball: str
    integrity: str | None = None
    shasum: str | None = None


@dataclass(frozen=True)
class Listing:
    """What the registry knows about one package name."""

    name: str
    versions: Mapping[str, Distribution]
    dist_tags: Mapping[str, str]


class Registry:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_download_bytes = max_download_bytes
        self._transport = transport
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=self.timeout,
                follow_redirects=True,
                transport=self._transport,
                headers={"Accept": "application/json"},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def listing(self, name: str) -> Listing:
        """The versions the registry has for `name`; PackageNotFoundError when it has none."""
        url = f"{self.base_url}/{name}"
        try:
            response = self._http().get(url)
        except httpx.HTTPError as exc:
            raise RegistryError(f"registry {self.base_url} cannot be reached: {_reason(exc)}") from None
        if response.status_code == 404:
            raise PackageNotFoundError(f"registry {self.base_url} has no package {name}")
        if response.status_code != 200:
            raise RegistryError(f"registry {self.base_url} answered {response.status_code} for {name}")
        try:
            data = response.json()
        except ValueError:
            raise RegistryError(f"registry {self.base_url} answered {name} with non-JSON") from None
        return _listing_of(name, data, self.base_url)

    def download(self, name: str, version: str, distribution: Distribution, folder: Path) -> Path:
        """Fetch a tarball into a new temporary file in `folder`, hash-checked; the caller removes it."""
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".download-", suffix=".tgz", dir=folder)
        path = Path(temporary)
        try:
            with os.fdopen(handle, "wb") as sink:
                self._stream(distribution.tarball, sink, f"{name}#{version}")
            check_integrity(
                path, integrity=distribution.integrity, shasum=distribution.shasum, label=f"{name}#{version}"
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def _stream(self, url: str, sink: Any, label: str) -> None:
        received = 0
        url = urljoin(
            f"{self.base_url}/", url
        )  # registries may give tarball addresses relative to themselves
        try:
            with self._http().stream("GET", url) as response:
                if response.status_code != 200:
                    raise RegistryError(f"{label}: the tarball download answered {response.status_code}")
                for chunk in response.iter_bytes():
                    received += len(chunk)
                    if received > self.max_download_bytes:
                        raise RegistryError(f"{label}: tarball larger than {self.max_download_bytes} bytes")
                    sink.write(chunk)
        except httpx.HTTPError as exc:
            raise RegistryError(f"{label}: the tarball download failed: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _listing_of(name: str, data: Any, base_url: str) -> Listing:
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
        raise RegistryError(f"registry {base_url} answered {name} without a 'versions' object")
    versions: dict[str, Distribution] = {}
    for version, details in data["versions"].items():
        distribution = _distribution_of(details)
        if distribution is not None:
            versions[str(version)] = distribution
    tags = data.get("dist-tags")
    dist_tags = {str(k): v for k, v in tags.items() if isinstance(v, str)} if isinstance(tags, dict) else {}
    return Listing(name=name, versions=versions, dist_tags=dist_tags)


def _distribution_of(details: Any) -> Distribution | None:
    dist = details.get("dist") if isinstance(details, dict) else None
    if not isinstance(dist, dict) or not isinstance(dist.get("tarball"), str):
        return None
    integrity, shasum = dist.get("integrity"), dist.get("shasum")
    return Distribution(
        tarball=dist["tarball"],
        integrity=integrity if isinstance(integrity, str) else None,
        shasum=shasum if isinstance(shasum, str) else None,
    )
