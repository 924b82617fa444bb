"""Small, version-neutral helpers over ElementDefinition JSON (R4 and STU3).

STU3 and R4 spell a few things differently (a type's `profile` is one string in
STU3 and a list in R4; a binding names its ValueSet in `valueSetReference` /
`valueSetUri` in STU3 and `valueSet` in R4). Every reader of element JSON goes
through these helpers so that the difference lives in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Element = dict[str, Any]

UNBOUNDED = "*"

_BINDING_RANK = {"example": 0, "preferred": 1, "extensible": 2, "required": 3}


@dataclass(frozen=True)
class IdStep:
    """One dot-separated step of an element id: the element name and, for a slice, its slice name."""

    name: str
    slice_name: str | None = None


def path_steps(path: str) -> list[str]:
    return path.split(".")


def parse_id(element_id: str) -> list[IdStep]:
    """`Patient.identifier:nhs.system` -> steps (Patient) (identifier, nhs) (system)."""
    steps = []
    for part in element_id.split("."):
        name, colon, slice_name = part.partition(":")
        steps.append(IdStep(name, slice_name if colon else None))
    return steps


def is_choice(name: str) -> bool:
    return name.endswith("[x]")


def choice_stem(name: str) -> str:
    return name[:-3] if is_choice(name) else name


def type_suffix(code: str) -> str:
    """The suffix a type gives a renamed choice element: `dateTime` -> `DateTime`."""
    tail = code.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    return tail[:1].upper() + tail[1:]


def renamed_choice_type(segment: str, choice_name: str, codes: Iterable[str]) -> str | None:
    """The type code that `segment` (e.g. `valueQuantity`) selects from choice `choice_name` (`value[x]`).

    None when `segment` is not a renaming of that choice element to one of `codes`.
    """
    stem = choice_stem(choice_name)
    if not is_choice(choice_name) or not segment.startswith(stem) or len(segment) == len(stem):
        return None
    suffix = segment[len(stem) :]
    for code in codes:
        if type_suffix(code) == suffix:
            return code
    return None


# --- types -------------------------------------------------------------------------------------


def types_of(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`ElementDefinition.type`, skipping anything that is not an object."""
    types = element.get("type")
    return [t for t in types if isinstance(t, dict)] if isinstance(types, list) else []


def type_codes(element: Mapping[str, Any]) -> list[str]:
    codes = [t.get("code") for t in types_of(element)]
    return list(dict.fromkeys(code for code in codes if isinstance(code, str)))


def string_tuple(value: Any) -> tuple[str, ...]:
    """A string or a list of strings (STU3 and R4 spell some fields either way) as a tuple."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def type_profiles(type_ref: Mapping[str, Any]) -> tuple[str, ...]:
    """`profile` of an ElementDefinition.type: one string in STU3, a list in R4."""
    return string_tuple(type_ref.get("profile"))


def type_target_profiles(type_ref: Mapping[str, Any]) -> tuple[str, ...]:
    return string_tuple(type_ref.get("targetProfile"))


def single_type_profile(element: Mapping[str, Any]) -> str | None:
    """The one profile the element's types name, if exactly one is named."""
    profiles = {p for t in types_of(element) for p in type_profiles(t)}
    return profiles.pop() if len(profiles) == 1 else None


# --- cardinality ---------------------------------------------------------------------------------


def max_value(text: Any) -> float:
    """`ElementDefinition.max` as a number: `*` is infinity; junk counts as unbounded."""
    if text == UNBOUNDED or not isinstance(text, str):
        return float("inf")
    try:
        return float(int(text))
    except ValueError:
        return float("inf")


def min_value(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- bindings, fixed and pattern values ----------------------------------------------------------


def binding_strength_rank(binding: Mapping[str, Any]) -> int:
    return _BINDING_RANK.get(str(binding.get("strength")), -1)


def binding_value_set(binding: Mapping[str, Any]) -> str | None:
    """The ValueSet a binding names, whichever version's spelling it uses."""
    if isinstance(binding.get("valueSet"), str):
        return str(binding["valueSet"])
    reference = binding.get("valueSetReference")
    if isinstance(reference, Mapping) and isinstance(reference.get("reference"), str):
        return str(reference["reference"])
    if isinstance(binding.get("valueSetUri"), str):
        return str(binding["valueSetUri"])
    return None


_VALUE_KEY = re.compile(r"^(fixed|pattern)[A-Z]")


def is_value_key(key: str) -> bool:
    """`fixedUri`, `patternCodeableConcept`...: a fixed[x] or pattern[x] property."""
    return _VALUE_KEY.match(key) is not None


def value_keys(element: Mapping[str, Any], prefix: str) -> list[str]:
    """The `fixed[x]` (prefix "fixed") or `pattern[x]` keys present on an element."""
    return [key for key in element if key.startswith(prefix) and _VALUE_KEY.match(key)]


def constraint_keys(element: Mapping[str, Any]) -> tuple[str, ...]:
    constraints = element.get("constraint")
    if not isinstance(constraints, list):
        return ()
    return tuple(str(c.get("key")) for c in constraints if isinstance(c, Mapping) and c.get("key"))


def elements_of(sd: Mapping[str, Any], part: str) -> Sequence[Mapping[str, Any]]:
    """`snapshot` or `differential` elements of a StructureDefinition (empty when absent or malformed)."""
    section = sd.get(part)
    if not isinstance(section, Mapping):
        return ()
    elements = section.get("element")
    if not isinstance(elements, list):
        return ()
    return [e for e in elements if isinstance(e, Mapping) and isinstance(e.get("path"), str)]
