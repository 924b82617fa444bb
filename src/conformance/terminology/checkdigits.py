"""Check-digit algorithms that need no server: NHS number (Modulus 11) and SNOMED CT identifiers (Verhoeff).

Sources:
- NHS number: NHS Data Model and Dictionary, attribute NHS NUMBER
  (https://www.datadictionary.nhs.uk/attributes/nhs_number.html): 10 digits, the
  tenth a Modulus 11 check digit over weights 10..2; a computed check of 10 means
  the number is invalid.
- SCTID: SNOMED CT Release File Specification, 6.2 SCTID Representation and 6.4
  Check-digit (https://docs.snomed.org/snomed-ct-specifications/snomed-ct-release-file-specification/snomed-ct-identifiers):
  6 to 18 digits, no leading zero, a two-digit partition identifier before a
  Verhoeff (dihedral group D5) check digit.
"""

from __future__ import annotations

from dataclasses import dataclass

NHS_NUMBER_LENGTH = 10
SCTID_MIN_LENGTH = 6
SCTID_MAX_LENGTH = 18

# Partition identifiers: the first digit is the format (0 short, 1 long with a namespace),
# the second the kind of component.
_COMPONENT_KINDS = {"0": "concept", "1": "description", "2": "relationship"}


def _dihedral_product(i: int, j: int) -> int:
    """Multiplication in D5: 0-4 are rotations, 5-9 reflections."""
    if i < 5:
        return (i + j) % 5 + (5 if j >= 5 else 0)
    return (i - j) % 5 + (0 if j >= 5 else 5)


def _permutations() -> tuple[tuple[int, ...], ...]:
    # Verhoeff's position permutation (1 5 8 9 4 2 7 0)(3 6), applied once more per position, period 8.
    first = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)
    rows = [tuple(range(10)), first]
    while len(rows) < 8:
        rows.append(tuple(first[digit] for digit in rows[-1]))
    return tuple(rows)


_D5 = tuple(tuple(_dihedral_product(i, j) for j in range(10)) for i in range(10))
_P = _permutations()
_INVERSE = tuple(next(j for j in range(10) if _D5[i][j] == 0) for i in range(10))


def verhoeff_check(digits: str) -> int:
    """The Verhoeff checksum of a digit string that ends with its check digit: 0 when it is right."""
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _D5[check][_P[position % 8][int(digit)]]
    return check


def verhoeff_digit(digits: str) -> int:
    """The check digit to append to `digits`."""
    check = 0
    for position, digit in enumerate(reversed(digits), start=1):
        check = _D5[check][_P[position % 8][int(digit)]]
    return _INVERSE[check]


def nhs_check_digit(first_nine: str) -> int | None:
    """The Modulus 11 check digit of an NHS number's first nine digits; None when no valid one exists."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


@dataclass(frozen=True)
class DigitProblem:
    """Why a number fails: `kind` is format, check-digit or partition (it ends the message id)."""

    kind: str
    message: str


def nhs_number_problem(value: str) -> DigitProblem | None:
    if len(value) != NHS_NUMBER_LENGTH or not value.isascii() or not value.isdigit():
        return DigitProblem("format", f"'{value}' is not an NHS number: it must be exactly 10 digits")
    expected = nhs_check_digit(value[:9])
    if expected is None:
        return DigitProblem(
            "check-digit", f"'{value}' is not a valid NHS number: no check digit fits its first nine digits"
        )
    if int(value[9]) != expected:
        return DigitProblem(
            "check-digit",
            f"'{value}' is not a valid NHS number: its check digit should be {expected}, not {value[9]}",
        )
    return None


def sctid_problem(value: str, *, component: str = "concept") -> DigitProblem | None:
    """Why `value` is not the SCTID of a SNOMED CT `component` (concept by default); None when it is one."""
    if not (value.isascii() and value.isdigit()) or value.startswith("0"):
        return DigitProblem(
            "format", f"'{value}' is not a SNOMED CT identifier: it must be digits without a leading zero"
        )
    if not SCTID_MIN_LENGTH <= len(value) <= SCTID_MAX_LENGTH:
        return DigitProblem("format", f"'{value}' is not a SNOMED CT identifier: it must have 6 to 18 digits")
    if verhoeff_check(value) != 0:
        return DigitProblem(
            "check-digit", f"'{value}' is not a valid SNOMED CT identifier: its check digit is wrong"
        )
    partition = value[-3:-1]
    kind = _COMPONENT_KINDS.get(partition[1]) if partition[0] in "01" else None
    if kind != component:
        found = f"a {kind} id" if kind else f"partition '{partition}'"
        return DigitProblem("partition", f"'{value}' is not a SNOMED CT {component} id ({found})")
    return None
