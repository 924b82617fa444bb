"""fixed[x] (exact) and pattern[x] (partial) comparison on the JSON form.

A pattern matches when every property it has is present with a matching value;
for arrays, each item of the pattern must match some item of the instance.
A fixed value must be equal in every property, no more and no less.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _same_primitive(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float | Decimal) and isinstance(actual, int | float | Decimal):
        return Decimal(str(expected)) == Decimal(str(actual))
    return bool(expected == actual)


def matches_pattern(pattern: Any, actual: Any) -> bool:
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return False
        return all(key in actual and matches_pattern(value, actual[key]) for key, value in pattern.items())
    if isinstance(pattern, list):
        items = actual if isinstance(actual, list) else [actual]
        return all(any(matches_pattern(want, item) for item in items) for want in pattern)
    return _same_primitive(pattern, actual)


def _ignorable(key: str) -> bool:
    # Element ids and primitive extension siblings carry no meaning for fixed values.
    return key == "id"


def matches_fixed(fixed: Any, actual: Any) -> bool:
    if isinstance(fixed, dict):
        if not isinstance(actual, dict):
            return False
        fixed_keys = {key for key in fixed if not _ignorable(key)}
        actual_keys = {key for key in actual if not _ignorable(key) and not key.startswith("_")}
        return fixed_keys == actual_keys and all(matches_fixed(fixed[key], actual[key]) for key in fixed_keys)
    if isinstance(fixed, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(fixed)
            and all(matches_fixed(want, item) for want, item in zip(fixed, actual, strict=True))
        )
    return _same_primitive(fixed, actual)


def fixed_differences(fixed: Any, actual: Any, where: str = "") -> list[str]:
    """What makes a value differ from a fixed one: each extra, missing or different property."""
    if not (isinstance(fixed, dict) and isinstance(actual, dict)):
        if matches_fixed(fixed, actual):
            return []
        label = f" for {where}" if where else ""
        return [f"Value{label} is {show(actual)} but must be {show(fixed)}"]
    messages: list[str] = []
    for key in actual:
        if not _ignorable(key) and not key.startswith("_") and key not in fixed:
            messages.append(
                f"The element {key} is present in the instance but not allowed in the applicable fixed value "
                "specified in profile"
            )
    for key, want in fixed.items():
        if _ignorable(key):
            continue
        if key not in actual:
            messages.append(f"Missing element '{key}' - required by fixed value {show(fixed)}")
        else:
            messages.extend(fixed_differences(want, actual[key], key))
    return messages


def show(value: Any, limit: int = 200) -> str:
    text = repr(value) if not isinstance(value, dict | list) else _json(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _json(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)
