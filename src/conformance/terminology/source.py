"""Where terminology definitions come from: anything that resolves canonicals.

`conformance.context.Context` satisfies `ResourceSource`; `InMemorySource`
is a small stand-alone one for tests and for callers that hold a few
resources of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

Resource = Mapping[str, Any]


class ResourceSource(Protocol):
    def resolve(self, url: str, version: str | None = None) -> Resource | None: ...

    def resources(self, resource_type: str) -> Iterator[Resource]: ...


def split_canonical(canonical: str) -> tuple[str, str | None]:
    """`url|version` -> (url, version); a plain url has no version."""
    url, bar, version = canonical.partition("|")
    return url, (version or None) if bar else None


class InMemorySource:
    """Resources held in memory, resolved by canonical url and optional version.

    Without a version the resource added first wins, like a context's
    precedence order; with one, an exact version match or else the first
    version that extends it (`1.0` finds `1.0.2`).
    """

    def __init__(self, resources: Iterable[Resource] = ()) -> None:
        self._by_url: dict[str, list[Resource]] = {}
        self._by_type: dict[str, list[Resource]] = {}
        for resource in resources:
            self._add(resource)

    def _add(self, resource: Resource) -> None:
        resource_type = resource.get("resourceType")
        if isinstance(resource_type, str):
            self._by_type.setdefault(resource_type, []).append(resource)
        url = resource.get("url")
        if isinstance(url, str) and url:
            self._by_url.setdefault(url, []).append(resource)

    def resolve(self, url: str, version: str | None = None) -> Resource | None:
        if version is None:
            url, version = split_canonical(url)
        candidates = self._by_url.get(url, [])
        if not candidates:
            return None
        if version is None:
            return candidates[0]
        exact = [c for c in candidates if c.get("version") == version]
        if exact:
            return exact[0]
        extending = re.compile(re.escape(version) + r"\.")
        return next((c for c in candidates if extending.match(str(c.get("version", "")))), None)

    def resources(self, resource_type: str) -> Iterator[Resource]:
        yield from self._by_type.get(resource_type, ())

    def __len__(self) -> int:
        return sum(len(items) for items in self._by_type.values())
