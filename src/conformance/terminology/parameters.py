"""FHIR `Parameters` resources: the bodies of terminology operations, built and read.

Reading is defensive: a server's answer is untrusted input, so anything that
is not the expected shape reads as absent rather than raising.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Param = tuple[str, Any]  # (name, value); the value's FHIR type is chosen by `_typed`

VALUE_KEYS = (
    "valueBoolean",
    "valueString",
    "valueCode",
    "valueUri",
    "valueUrl",
    "valueCanonical",
    "valueInteger",
    "valueDateTime",
    "valueCoding",
    "valueCodeableConcept",
)


@dataclass(frozen=True)
class Typed:
    """A parameter value with an explicit FHIR type: `Typed("uri", url)` -> valueUri."""

    type: str
    value: Any


def uri(value: str) -> Typed:
    return Typed("Uri", value)


def code(value: str) -> Typed:
    return Typed("Code", value)


def coding(system: str | None, value: str, display: str | None = None, version: str | None = None) -> Typed:
    data: dict[str, Any] = {"code": value}
    optional = {"system": system, "version": version, "display": display}
    data.update({key: item for key, item in optional.items() if item is not None})
    return Typed("Coding", data)


def codeable_concept(codings: Sequence[Mapping[str, Any]]) -> Typed:
    return Typed("CodeableConcept", {"coding": [dict(item) for item in codings]})


def _parameter(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Typed):
        return {"name": name, f"value{value.type}": value.value}
    if isinstance(value, bool):
        return {"name": name, "valueBoolean": value}
    if isinstance(value, int):
        return {"name": name, "valueInteger": value}
    if isinstance(value, Mapping) and "resourceType" in value:
        return {"name": name, "resource": dict(value)}
    return {"name": name, "valueString": str(value)}


def build(params: Sequence[Param]) -> dict[str, Any]:
    """A Parameters resource; parameters whose value is None are left out."""
    return {
        "resourceType": "Parameters",
        "parameter": [_parameter(name, value) for name, value in params if value is not None],
    }


def as_query(params: Sequence[Param]) -> list[tuple[str, str]]:
    """The same parameters as URL query pairs (primitive values only), for a GET."""
    pairs: list[tuple[str, str]] = []
    for name, value in params:
        if value is None:
            continue
        plain = value.value if isinstance(value, Typed) else value
        if isinstance(plain, bool):
            plain = "true" if plain else "false"
        pairs.append((name, str(plain)))
    return pairs


def is_primitive(params: Sequence[Param]) -> bool:
    """Every value can travel in a query string (no Coding, CodeableConcept or resource)."""
    for _, value in params:
        plain = value.value if isinstance(value, Typed) else value
        if isinstance(plain, Mapping):
            return False
    return True


class Reader:
    """Reads a Parameters resource from an untrusted source."""

    def __init__(self, resource: Any) -> None:
        entries = resource.get("parameter") if isinstance(resource, Mapping) else None
        self._entries = [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []

    @property
    def names(self) -> frozenset[str]:
        return frozenset(str(entry.get("name")) for entry in self._entries)

    def entries(self, name: str) -> Iterator[Mapping[str, Any]]:
        return (entry for entry in self._entries if entry.get("name") == name)

    def value(self, name: str) -> Any:
        """The value of the first parameter called `name`, whatever its type; None when absent."""
        for entry in self.entries(name):
            return value_of(entry)
        return None

    def string(self, name: str) -> str | None:
        found = self.value(name)
        return found if isinstance(found, str) else None

    def boolean(self, name: str) -> bool | None:
        found = self.value(name)
        if isinstance(found, bool):
            return found
        if isinstance(found, str) and found in ("true", "false"):
            return found == "true"  # some servers send valueString / valueCode
        return None

    def resource(self, name: str) -> Mapping[str, Any] | None:
        for entry in self.entries(name):
            found = entry.get("resource")
            if isinstance(found, Mapping):
                return found
        return None

    def parts(self, name: str) -> Iterator[Reader]:
        """Each parameter called `name` with parts (designation, property), as a Reader of its parts."""
        for entry in self.entries(name):
            yield Reader({"parameter": entry.get("part")})


def value_of(entry: Mapping[str, Any]) -> Any:
    for key in VALUE_KEYS:
        if key in entry:
            return entry[key]
    return None
