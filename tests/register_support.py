"""Statements made by the tests, for the framework and register tests: several suppliers, signed.

- Riverside: conformant to shared-care-record and to uk-core-stu2 (the valid fixtures), trusted key;
- Brook: non-conformant to shared-care-record (valid and invalid fixtures), trusted key;
- a tampered copy of Brook's statement (verdict turned to conformant after signing, as version 2.1);
- Stranger: conformant, but signed with a key the register does not trust;
- Cedar: conformant to a standard that is retired (a copy of shared-care-record in a test folder).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from conformance.settings import Settings
from conformance.statements import (
    Product,
    RunDetails,
    load_private_key,
    sign,
    write_key_pair,
    write_statement,
)
from statements_support import INVALID, REPO, RIVERSIDE, VALID, assessor

BROOK = Product("Brook Systems", "Brook PAS", "2.0")
STRANGER = Product("Stranger Ltd", "Odd Records", "1.0")
CEDAR = Product("Cedar Health", "Cedar Record", "4.2")
RETIRED_ID = "retired-care-record"
TRUSTED = ("riverside", "brook", "cedar")


@dataclass(frozen=True)
class Made:
    root: Path
    statements: Path
    keys: Path
    standards: Path
    frameworks: Path

    def statement(self, name: str) -> Path:
        return self.statements / f"{name}.json"


def retired_standard(folder: Path) -> Path:
    """shared-care-record under another id, retired, with shared-care-record as its successor."""
    text = (REPO / "profiles" / "standards" / "shared-care-record.toml").read_text(encoding="utf-8")
    text = text.replace('id = "shared-care-record"', f'id = "{RETIRED_ID}"', 1)
    text = text.replace('status = "active"\n', 'status = "retired"\nsuccessor = "shared-care-record"\n', 1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{RETIRED_ID}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def retired_framework(folder: Path) -> Path:
    """A framework a product meets only with a statement against the retired standard."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "test-retired.toml"
    path.write_text(
        'format = 1\nid = "test-retired"\ntitle = "Test: needs the retired standard"\n'
        f'publisher = "fhir-conformance tests"\n\n[[requires]]\nstandard = "{RETIRED_ID}"\n',
        encoding="utf-8",
    )
    return path


def _at(hour: int) -> RunDetails:
    return RunDetails(generated_at=datetime(2024, 5, 1, hour, 0, 0, tzinfo=UTC))


def make_statements(root: Path, settings: Settings) -> Made:
    made = Made(root, root / "statements", root / "trusted", root / "standards", root / "frameworks")
    for folder in (made.statements, made.keys, root / "private"):
        folder.mkdir(parents=True, exist_ok=True)
    for name in (*TRUSTED, "stranger"):
        public = write_key_pair(root / "private" / name)
        if name in TRUSTED:
            shutil.copy(public, made.keys / f"{name}.pub")
    retired = retired_standard(made.standards)
    retired_framework(made.frameworks)
    plan = (
        ("riverside", "shared-care-record", RIVERSIDE, (VALID,), "riverside", 9),
        ("riverside-ukcore", "uk-core-stu2", RIVERSIDE, (VALID,), "riverside", 10),
        ("brook", "shared-care-record", BROOK, (VALID, INVALID), "brook", 11),
        ("stranger", "shared-care-record", STRANGER, (VALID,), "stranger", 12),
        ("cedar-retired", str(retired), CEDAR, (VALID,), "cedar", 13),
    )
    for name, standard, product, payloads, key, hour in plan:
        statement = assessor(standard, settings).assess(list(payloads), product, _at(hour))
        signed = sign(statement, load_private_key(root / "private" / key))
        write_statement(signed, made.statement(name))
    tamper(made.statement("brook"), made.statement("brook-tampered"))
    return made


def tamper(source: Path, target: Path) -> None:
    """The statement with its verdict made conformant after signing (as another product version)."""
    data = json.loads(source.read_text(encoding="utf-8"))
    data["results"]["verdict"] = "conformant"
    data["results"]["reason"] = "all good"
    data["subject"]["product_version"] = "2.1"
    target.write_text(json.dumps(data, indent=2), encoding="utf-8")
