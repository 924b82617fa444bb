"""Apply one differential element onto the snapshot element it constrains.

A profile may only tighten its base: min up, max down, types narrowed, bindings
made stronger, fixed and pattern values added, constraints appended. When a
differential element loosens its base, the base's stricter value is kept and
the problem is reported (`Finding`), so a snapshot never accepts what its base
forbids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.definitions.elements import (
    Element,
    binding_strength_rank,
    is_value_key,
    max_value,
    min_value,
    types_of,
    value_keys,
)
from conformance.definitions.snapshot_tree import clone

# Structural keys are written from the tree; `base` always comes from the base element.
_STRUCTURAL = frozenset({"id", "path", "sliceName", "base"})
# A profile cannot change these (ElementDefinition.isSummary, representation and contentReference
# belong to the base definition).
_KEEP_BASE = frozenset({"isSummary", "representation", "contentReference"})
_LIST_UNIONS = frozenset({"condition", "alias", "code"})


@dataclass(frozen=True)
class Finding:
    """A problem in the differential element, before it becomes an Issue."""

    message_id: str
    message: str


# Says whether type code `code` is, or is derived from, type `base_code` (Age -> Quantity).
TypeRelation = Callable[[str, str], bool]


def constrain(
    target: Element,
    diff: Mapping[str, Any],
    *,
    profile_url: str,
    is_new_slice: bool,
    derives: TypeRelation,
) -> list[Finding]:
    """Write `diff` onto `target` (a copy of the base element). Returns what was wrong with `diff`."""
    findings: list[Finding] = []
    context = _Context(profile_url, is_new_slice, derives)
    for key, value in diff.items():
        if key in _STRUCTURAL or (key in _KEEP_BASE and key in target):
            continue
        handler = _HANDLERS.get(key)
        if handler is not None:
            findings.extend(handler(target, value, context))
        elif is_value_key(key):
            findings.extend(_set_value(target, key, value))
        elif key in _LIST_UNIONS and isinstance(value, list):
            target[key] = _union(target.get(key), value)
        else:
            target[key] = clone(value)
    return findings


@dataclass(frozen=True)
class _Context:
    profile_url: str
    is_new_slice: bool
    derives: TypeRelation


def _min(target: Element, value: Any, context: _Context) -> list[Finding]:
    if not isinstance(value, int) or isinstance(value, bool):
        return [Finding("snapshot.invalid-value", f"min {value!r} is not an integer")]
    base_min = min_value(target.get("min"))
    if value < base_min and not context.is_new_slice:
        return [Finding("snapshot.loosens-cardinality", f"min {value} is below the base's min {base_min}")]
    target["min"] = value
    return _check_order(target)


def _max(target: Element, value: Any, context: _Context) -> list[Finding]:
    if not isinstance(value, str) or (value != "*" and not value.isdigit()):
        return [Finding("snapshot.invalid-value", f"max {value!r} is neither a number nor '*'")]
    base_max = target.get("max")
    if base_max is not None and max_value(value) > max_value(base_max):
        return [Finding("snapshot.loosens-cardinality", f"max {value} is above the base's max {base_max}")]
    target["max"] = value
    return _check_order(target)


def _check_order(target: Element) -> list[Finding]:
    if min_value(target.get("min")) > max_value(target.get("max")):
        return [
            Finding(
                "snapshot.invalid-cardinality", f"min {target.get('min')} exceeds max {target.get('max')}"
            )
        ]
    return []


def _types(target: Element, value: Any, context: _Context) -> list[Finding]:
    if not isinstance(value, list):
        return [Finding("snapshot.invalid-value", "type is not a list")]
    base_types = types_of(target)
    if not base_types:
        target["type"] = clone(value)
        return []
    narrowed, findings = narrow_types(base_types, value, context.derives)
    if narrowed:
        target["type"] = narrowed
    return findings


def narrow_types(
    base_types: list[dict[str, Any]], diff_types: Iterable[Any], derives: TypeRelation
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The base's types restricted to the differential's. A differential type the base lacks is a finding."""
    result: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for diff_type in diff_types:
        if not isinstance(diff_type, Mapping) or not isinstance(diff_type.get("code"), str):
            findings.append(Finding("snapshot.invalid-value", f"type {diff_type!r} has no code"))
            continue
        code = str(diff_type["code"])
        matches = [t for t in base_types if t.get("code") == code]
        if matches:
            result.extend(_narrow_one(diff_type, matches))
        elif any(_fhir_type(t) == code or derives(code, str(t.get("code"))) for t in base_types):
            result.append(clone(dict(diff_type)))
        else:
            allowed = ", ".join(dict.fromkeys(str(t.get("code")) for t in base_types))
            findings.append(
                Finding("snapshot.type-not-in-base", f"type {code} is not allowed by the base ({allowed})")
            )
    return _dedupe(result), findings


_FHIR_TYPE = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


def _fhir_type(type_ref: Mapping[str, Any]) -> str | None:
    """The FHIR type an R4 system type stands for (`Extension.url` is System.String standing for uri)."""
    extensions = type_ref.get("extension")
    for extension in extensions if isinstance(extensions, list) else ():
        if isinstance(extension, Mapping) and extension.get("url") == _FHIR_TYPE:
            value = extension.get("valueUrl", extension.get("valueUri"))
            return value if isinstance(value, str) else None
    return None


def _narrow_one(diff_type: Mapping[str, Any], matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A differential type that says nothing but its code keeps what the base said about that type;
    one that says more (a profile, target profiles, aggregation) replaces it."""
    said = {key for key in diff_type if key != "code"}
    if not said:
        return [clone(t) for t in matches]
    return [clone(dict(diff_type))]


def _dedupe(types: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for t in types:
        if t not in seen:
            seen.append(t)
    return seen


def _binding(target: Element, value: Any, context: _Context) -> list[Finding]:
    if not isinstance(value, Mapping):
        return [Finding("snapshot.invalid-value", "binding is not an object")]
    base = target.get("binding")
    if (
        isinstance(base, Mapping)
        and "strength" in value
        and binding_strength_rank(value) < binding_strength_rank(base)
    ):
        return [
            Finding(
                "snapshot.weakens-binding",
                f"binding strength {value.get('strength')} is weaker than the base's {base.get('strength')}",
            )
        ]
    merged = dict(base) if isinstance(base, Mapping) else {}
    if any(key in value for key in ("valueSet", "valueSetReference", "valueSetUri")):
        for key in ("valueSet", "valueSetReference", "valueSetUri"):
            merged.pop(key, None)
    merged.update(clone(dict(value)))
    target["binding"] = merged
    return []


def _constraints(target: Element, value: Any, context: _Context) -> list[Finding]:
    if not isinstance(value, list):
        return [Finding("snapshot.invalid-value", "constraint is not a list")]
    current = [c for c in target.get("constraint", []) if isinstance(c, Mapping)]
    for constraint in value:
        if not isinstance(constraint, Mapping):
            continue
        added = clone(dict(constraint))
        added.setdefault("source", context.profile_url)
        current = [c for c in current if c.get("key") != added.get("key")] + [added]
    target["constraint"] = current
    return []


def _mappings(target: Element, value: Any, context: _Context) -> list[Finding]:
    if not isinstance(value, list):
        return [Finding("snapshot.invalid-value", "mapping is not a list")]
    current = list(target.get("mapping", []))
    current.extend(clone(m) for m in value if m not in current)
    target["mapping"] = current
    return []


def _extensions(target: Element, value: Any, context: _Context) -> list[Finding]:
    if not isinstance(value, list):
        return [Finding("snapshot.invalid-value", "extension is not a list")]
    urls = {e.get("url") for e in value if isinstance(e, Mapping)}
    kept = [e for e in target.get("extension", []) if not isinstance(e, Mapping) or e.get("url") not in urls]
    target["extension"] = kept + clone(value)
    return []


def _is_modifier(target: Element, value: Any, context: _Context) -> list[Finding]:
    if not isinstance(value, bool):
        return [Finding("snapshot.invalid-value", f"isModifier {value!r} is not true or false")]
    if target.get("isModifier") is True and value is False and not context.is_new_slice:
        return [Finding("snapshot.loosens-modifier", "isModifier false where the base is a modifier")]
    target["isModifier"] = value
    return []


def _slicing(target: Element, value: Any, context: _Context) -> list[Finding]:
    if not isinstance(value, Mapping):
        return [Finding("snapshot.invalid-value", "slicing is not an object")]
    merged = dict(target.get("slicing", {}))
    merged.update(clone(dict(value)))
    target["slicing"] = merged
    return []


def _set_value(target: Element, key: str, value: Any) -> list[Finding]:
    """A fixed or pattern value; the base's fixed value, if any, stays (a differing one is a finding)."""
    fixed = value_keys(target, "fixed")
    if fixed:
        if target[fixed[0]] != value:
            return [Finding("snapshot.conflicting-value", f"{key} conflicts with the base's {fixed[0]}")]
        return []
    for old in value_keys(target, "fixed" if key.startswith("fixed") else "pattern"):
        del target[old]
    target[key] = clone(value)
    return []


def _union(current: Any, added: list[Any]) -> list[Any]:
    result = list(current) if isinstance(current, list) else []
    result.extend(clone(item) for item in added if item not in result)
    return result


_HANDLERS: dict[str, Callable[[Element, Any, _Context], list[Finding]]] = {
    "min": _min,
    "max": _max,
    "type": _types,
    "binding": _binding,
    "constraint": _constraints,
    "mapping": _mappings,
    "extension": _extensions,
    "isModifier": _is_modifier,
    "slicing": _slicing,
}
