"""A tiny npm-style FHIR package registry on 127.0.0.1, for tests.

`GET /{name}` answers the listing; `GET /tarballs/{name}-{version}.tgz` the
bytes. The test decides what each tarball holds and what hash is published.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class _Published:
    data: bytes
    integrity: str | None
    shasum: str | None


@dataclass
class FakeRegistry:
    url: str = ""
    packages: dict[str, dict[str, _Published]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    broken_listing: bool = False

    def publish(
        self,
        name: str,
        version: str,
        data: bytes,
        *,
        integrity: str | None = "auto",
        shasum: str | None = "auto",
    ) -> None:
        """Publish a tarball; "auto" hashes are computed from `data`, None leaves the hash out."""
        if integrity == "auto":
            integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if shasum == "auto":
            shasum = hashlib.sha1(data).hexdigest()
        self.packages.setdefault(name, {})[version] = _Published(data, integrity, shasum)

    def listing(self, name: str) -> dict[str, Any] | None:
        versions = self.packages.get(name)
        if versions is None:
            return None
        entries: dict[str, Any] = {}
        for version, published in versions.items():
            dist: dict[str, Any] = {"tarball": f"{self.url}/tarballs/{name}-{version}.tgz"}
            if published.integrity is not None:
                dist["integrity"] = published.integrity
            if published.shasum is not None:
                dist["shasum"] = published.shasum
            entries[version] = {"name": name, "version": version, "dist": dist}
        latest = max(versions, key=lambda v: tuple(int(p) for p in v.split("-")[0].split(".")))
        return {"name": name, "versions": entries, "dist-tags": {"latest": latest}}

    def tarball(self, filename: str) -> bytes | None:
        for name, versions in self.packages.items():
            for version, published in versions.items():
                if filename == f"{name}-{version}.tgz":
                    return published.data
        return None


def _handler(registry: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            registry.requests.append(self.path)
            if self.path.startswith("/tarballs/"):
                self._answer_bytes(registry.tarball(self.path.removeprefix("/tarballs/")), "application/gzip")
                return
            if registry.broken_listing:
                self._answer_bytes(b"<html>not json</html>", "text/html")
                return
            listing = registry.listing(self.path.strip("/"))
            self._answer_bytes(None if listing is None else json.dumps(listing).encode(), "application/json")

        def _answer_bytes(self, body: bytes | None, content_type: str) -> None:
            if body is None:
                self.send_response(404)
                body, content_type = b'{"error": "not found"}', "application/json"
            else:
                self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep test output quiet

    return Handler


@contextmanager
def running_registry() -> Iterator[FakeRegistry]:
    """Start a registry on a free loopback port; it stops when the block ends."""
    registry = FakeRegistry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
