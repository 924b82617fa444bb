"""UK identifier rules, kept as data (profiles/identifiers/*.toml), checked offline.

A rule names identifier systems, the format of a value, an optional
check-digit algorithm from `checkdigits`, the severity of a failure and the
source that defines it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from conformance._resources import profiles_folder
from conformance.errors import InputError
from conformance.outcome import Severity
from conformance.terminology.checkdigits import DigitProblem, nhs_number_problem, sctid_problem
from conformance.terminology.results import IDENTIFIER_VALID, CodeResult, invalid, valid

CHECK_ALGORITHMS: Mapping[str, Callable[[str], DigitProblem | None]] = {
    "nhs-number": nhs_number_problem,
    "sct": sctid_problem,
}
_SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, "information": Severity.INFORMATION}


def default_rules_folder() -> Path:
    """profiles/identifiers, shipped inside the package; InputError when it is missing."""
    return profiles_folder("identifiers")


@dataclass(frozen=True)
class IdentifierRule:
    id: str
    name: str
    systems: tuple[str, ...]
    pattern: str
    check: str | None
    severity: Severity
    source: str
    note: str = ""

    def problem(self, value: str) -> DigitProblem | None:
        if not re.fullmatch(self.pattern, value):
            return DigitProblem("format", f"'{value}' does not have the format of a {self.name}")
        algorithm = CHECK_ALGORITHMS.get(self.check) if self.check else None
        return algorithm(value) if algorithm else None

    def message_id(self, problem: DigitProblem) -> str:
        # Format problems belong to the rule; check-digit and partition problems to the algorithm.
        owner = self.id if problem.kind == "format" or not self.check else self.check
        return f"identifier.{owner}.{problem.kind}"

    def check_value(self, system: str, value: str) -> CodeResult:
        problem = self.problem(value)
        if problem is None:
            return valid(
                IDENTIFIER_VALID, f"'{value}' is a well-formed {self.name} ({system}; rule: {self.source})"
            )
        return invalid(
            self.message_id(problem),
            f"{problem.message} ({self.name}, {system}; rule: {self.source})",
            hint=self.severity,
            issue_type="value",
        )


@dataclass(frozen=True)
class IdentifierRules:
    rules: tuple[IdentifierRule, ...] = ()

    @classmethod
    def load(cls, *paths: Path) -> IdentifierRules:
        """Rules from TOML files, or from every *.toml of a folder; raise InputError on a broken file."""
        files = [
            file for path in paths for file in (sorted(path.glob("*.toml")) if path.is_dir() else [path])
        ]
        return cls(tuple(rule for file in files for rule in _read_rules(file)))

    def for_system(self, system: str) -> IdentifierRule | None:
        return next((rule for rule in self.rules if system in rule.systems), None)

    def check(self, system: str, value: str) -> CodeResult | None:
        """The rule's verdict on `value`; None when no rule covers `system`."""
        rule = self.for_system(system)
        return rule.check_value(system, value) if rule else None


def _read_rules(file: Path) -> Iterable[IdentifierRule]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read identifier rules {file}: {exc}") from exc
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise InputError(f"identifier rules {file}: 'rule' must be an array of tables")
    return [_rule(file, raw) for raw in raw_rules]


def _rule(file: Path, raw: Any) -> IdentifierRule:
    where = f"identifier rules {file}"
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: each rule must be a table")
    try:
        rule = IdentifierRule(
            id=str(raw["id"]),
            name=str(raw["name"]),
            systems=tuple(str(system) for system in raw["systems"]),
            pattern=str(raw["pattern"]),
            check=str(raw["check"]) if "check" in raw else None,
            severity=_SEVERITIES[str(raw.get("severity", "error"))],
            source=str(raw["source"]),
            note=str(raw.get("note", "")),
        )
        re.compile(rule.pattern)
    except (KeyError, TypeError, re.error) as exc:
        raise InputError(f"{where}: rule {raw.get('id', '?')!r} is incomplete or invalid ({exc})") from exc
    if rule.check is not None and rule.check not in CHECK_ALGORITHMS:
        raise InputError(f"{where}: rule {rule.id!r} names an unknown check {rule.check!r}")
    return rule


@cache
def default_rules() -> IdentifierRules:
    """The rules shipped in profiles/identifiers; InputError when that folder is missing."""
    return IdentifierRules.load(default_rules_folder())


def check_identifier(system: str, value: str, rules: IdentifierRules | None = None) -> CodeResult | None:
    """Check an identifier value against the rule for its system; None when no rule covers the system."""
    return (rules if rules is not None else default_rules()).check(system, value)
