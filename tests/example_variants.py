"""UK Core examples and single-change variants of them, for tests that hold two ways of walking to the same
report (the coverage skip and its absence, the child programs and the interpreter)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.validation import Validator

PACKAGES = Path(__file__).resolve().parents[1].parent / "shared" / "fhir-packages"
UKCORE_EXAMPLES = PACKAGES / "_examples" / "ukcore-stu2"
UKCORE_PROFILES = PACKAGES / "_examples" / "ukcore-stu2-profiles.json"
UKCORE = "fhir.r4.ukcore.stu2#2.0.2"

Case = tuple[str, Any, str | None]  # a name, a payload, the profile it is validated against


def examples() -> list[tuple[str, str | None]]:
    """Each UK Core example's file name and the profile it exemplifies; skips when ../shared is absent."""
    if not UKCORE_PROFILES.is_file():
        pytest.skip("../shared/fhir-packages/_examples is not beside the project")
    profiles: dict[str, str | None] = json.loads(UKCORE_PROFILES.read_text())
    return sorted(profiles.items())


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaf_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaf_paths(child, (*path, index))
    if path:
        yield path


def variants(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One change at a time, spread over the resource: removed, emptied, retyped, an unknown key beside."""
    paths = [path for path in leaf_paths(resource) if path != ("resourceType",)]
    for number, path in enumerate(paths[:: max(1, len(paths) // 12)]):
        for replacement in (None, "", 7, {"unknownKey": True}, ["x"]):
            variant = copy.deepcopy(resource)
            holder = variant
            for step in path[:-1]:
                holder = holder[step]
            if replacement is None:
                if isinstance(holder, dict):
                    del holder[path[-1]]
                else:
                    holder.pop(path[-1])
            elif isinstance(holder, dict) and number % 2:
                holder[f"{path[-1]}Extra"] = replacement  # unknown, or a choice type the rule may not allow
            else:
                holder[path[-1]] = replacement
            yield variant


# Values of every JSON type; `retyped` puts each in place of every value in turn.
OTHER_TYPES: tuple[Any, ...] = (7, "x", True, [7], {})


def enriched(resource: dict[str, Any], profile: str | None) -> dict[str, Any]:
    """The resource with the common parts an example may lack (meta, narrative, an extension), so that
    `retyped` reaches the code that reads them too."""
    div = '<div xmlns="http://www.w3.org/1999/xhtml">text</div>'
    parts: dict[str, Any] = {
        "meta": {"profile": [profile] if profile else [], "tag": [{"system": "urn:x", "code": "t"}]},
        "text": {"status": "generated", "div": div},
        "extension": [{"url": "http://example.org/StructureDefinition/x", "valueString": "v"}],
    }
    return {**parts, **copy.deepcopy(resource)}


def retyped(resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every value of the resource (but its resourceType) replaced in turn by a value of each JSON type."""
    for path in leaf_paths(resource):
        if path == ("resourceType",):
            continue
        for replacement in OTHER_TYPES:
            variant = copy.deepcopy(resource)
            holder = variant
            for step in path[:-1]:
                holder = holder[step]
            holder[path[-1]] = copy.deepcopy(replacement)
            yield f"{'/'.join(map(str, path))}={json.dumps(replacement)}", variant


def example_cases() -> list[Case]:
    """Every UK Core example and its variants."""
    cases: list[Case] = []
    for name, profile in examples():
        resource = json.loads((UKCORE_EXAMPLES / name).read_text())
        cases.append((name, resource, profile))
        cases.extend(
            (f"{name} variant {n}", variant, profile) for n, variant in enumerate(variants(resource))
        )
    return cases


class CallCount:
    """How many times a method was called since the count was set up (or last reset)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> None:
        self.calls = 0
        real = getattr(owner, name)

        def counted(*args: Any) -> Any:
            self.calls += 1
            return real(*args)

        monkeypatch.setattr(owner, name, counted)

    def reset(self) -> int:
        """The count so far, now set back to zero."""
        calls, self.calls = self.calls, 0
        return calls


def issues(validator: Validator, payload: Any, profile: str | None) -> list[tuple[Any, ...]]:
    """Every field of every issue, in order."""
    outcome = validator.validate(copy.deepcopy(payload), profiles=[profile] if profile else [])
    return [
        (i.severity, i.message_id, i.message, i.location, i.line, i.column, i.profile, i.element_id)
        for i in outcome.issues
    ]
