"""Quantities and a small UCUM table: enough to compare the everyday units of lengths, masses, volumes and
durations; anything else is reported as not comparable rather than guessed."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from conformance.validation.questionnaire.json_values import as_decimal, as_text

UCUM = "http://unitsofmeasure.org"

_Dimension = tuple[int, int, int]  # powers of length, mass, time
_LENGTH, _MASS, _TIME, _VOLUME = (1, 0, 0), (0, 1, 0), (0, 0, 1), (3, 0, 0)

_UCUM_METRIC: Mapping[str, tuple[Decimal, _Dimension]] = {
    "m": (Decimal(1), _LENGTH),
    "g": (Decimal(1), _MASS),
    "s": (Decimal(1), _TIME),
    "L": (Decimal("0.001"), _VOLUME),
    "l": (Decimal("0.001"), _VOLUME),
}
_UCUM_OTHER: Mapping[str, tuple[Decimal, _Dimension]] = {
    "[in_i]": (Decimal("0.0254"), _LENGTH),
    "[ft_i]": (Decimal("0.3048"), _LENGTH),
    "[yd_i]": (Decimal("0.9144"), _LENGTH),
    "[mi_i]": (Decimal("1609.344"), _LENGTH),
    "[lb_av]": (Decimal("453.59237"), _MASS),
    "[oz_av]": (Decimal("28.349523125"), _MASS),
    "[stone_av]": (Decimal("6350.29318"), _MASS),
    "t": (Decimal(1_000_000), _MASS),
    "min": (Decimal(60), _TIME),
    "h": (Decimal(3600), _TIME),
    "d": (Decimal(86400), _TIME),
    "wk": (Decimal(604800), _TIME),
    "mo": (Decimal(2629800), _TIME),
    "a": (Decimal(31557600), _TIME),
}
_UCUM_PREFIXES: Mapping[str, Decimal] = {
    "da": Decimal(10),
    "Y": Decimal("1e24"),
    "Z": Decimal("1e21"),
    "E": Decimal("1e18"),
    "P": Decimal("1e15"),
    "T": Decimal("1e12"),
    "G": Decimal("1e9"),
    "M": Decimal("1e6"),
    "k": Decimal(1000),
    "h": Decimal(100),
    "d": Decimal("0.1"),
    "c": Decimal("0.01"),
    "m": Decimal("0.001"),
    "u": Decimal("1e-6"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
    "f": Decimal("1e-15"),
}


def _ucum_unit(code: str) -> tuple[Decimal, _Dimension] | None:
    if code in _UCUM_OTHER:
        return _UCUM_OTHER[code]
    if code in _UCUM_METRIC:
        return _UCUM_METRIC[code]
    for prefix, factor in _UCUM_PREFIXES.items():  # "da" is listed first so that it wins over "d"
        atom = _UCUM_METRIC.get(code[len(prefix) :]) if code.startswith(prefix) else None
        if atom is not None:
            return factor * atom[0], atom[1]
    return None


def compare_quantities(quantity: Mapping[str, Any], bound: Mapping[str, Any]) -> int | str:
    """-1, 0 or 1 as the quantity is below, at or above the bound, or the reason they cannot be compared."""
    amount, limit = as_decimal(quantity.get("value")), as_decimal(bound.get("value"))
    systems = (as_text(quantity.get("system")), as_text(bound.get("system")))
    codes = (as_text(quantity.get("code")), as_text(bound.get("code")))
    if amount is None or limit is None:
        return "one of them has no numeric value"
    if None in systems or None in codes:
        return "both need coded units (system and code)"
    if systems == (UCUM, UCUM) and codes[0] != codes[1]:
        return _compare_ucum(amount, codes[0] or "", limit, codes[1] or "")
    if systems[0] != systems[1] or codes[0] != codes[1]:
        return "their units differ"
    return (amount > limit) - (amount < limit)


def _compare_ucum(amount: Decimal, unit: str, limit: Decimal, limit_unit: str) -> int | str:
    mine, theirs = _ucum_unit(unit), _ucum_unit(limit_unit)
    if mine is None or theirs is None:
        return "the units cannot be converted into one another here"
    if mine[1] != theirs[1]:
        return "the units measure different things"
    left, right = amount * mine[0], limit * theirs[0]
    return (left > right) - (left < right)


def unit_matches(quantity: Mapping[str, Any], unit: Mapping[str, Any]) -> bool:
    pairs = (("system", "system"), ("code", "code"), ("display", "unit"))
    return all(unit.get(mine) is None or unit.get(mine) == quantity.get(theirs) for mine, theirs in pairs)
