"""Statements handed in to a framework check or a register, each verified on the way in.

A submission is accepted when its statement matches the schema, its payload-set digest matches its
evidence, and its signature holds. Given trusted keys, the signature must also be made with one of
them; the key's file name (`riverside.pub` -> "riverside") says who signed. A statement that fails any
of this is kept, with the reason, so it can be listed apart; it never counts as conformant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from conformance.errors import ConformanceError, InputError
from conformance.statements import Statement, load_public_key, read_statement, verify_statement
from conformance.statements.signing import key_id

KEY_SUFFIX = ".pub"
STATEMENT_SUFFIX = ".json"
MAX_KEYS = 10_000
MAX_STATEMENTS = 100_000


@dataclass(frozen=True)
class TrustedKey:
    name: str
    key_id: str
    key: Ed25519PublicKey


@dataclass(frozen=True)
class TrustedKeys:
    """Public keys by key id, each named by its file."""

    by_id: Mapping[str, TrustedKey]

    def get(self, identifier: str) -> TrustedKey | None:
        return self.by_id.get(identifier)


def load_trusted_keys(path: Path) -> TrustedKeys:
    """Every `*.pub` file in a folder, or one public key file."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == KEY_SUFFIX and p.is_file())
    elif path.is_file():
        files = [path]
    else:
        raise InputError(f"trusted keys not found: {path} (a folder of *.pub files, or one .pub file)")
    if not files:
        raise InputError(f"{path} holds no public key (*.pub); the register trusts only the keys given")
    if len(files) > MAX_KEYS:
        raise InputError(f"{path} holds more than {MAX_KEYS} keys")
    keys: dict[str, TrustedKey] = {}
    for file in files:
        key = load_public_key(file)
        identifier = key_id(key)
        keys.setdefault(identifier, TrustedKey(file.stem, identifier, key))
    return TrustedKeys(keys)


@dataclass(frozen=True)
class Submission:
    """One statement file, what it says (None when unreadable) and whether it was accepted."""

    path: Path
    sha256: str
    statement: Statement | None
    accepted: bool
    problem: str = ""
    signer: str = ""
    signer_key: str = ""

    @property
    def name(self) -> str:
        return self.path.name


def statement_files(paths: Iterable[Path]) -> list[Path]:
    """The statement files among `paths`: files as given, folders searched (recursively) for *.json."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob(f"*{STATEMENT_SUFFIX}") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"statement not found: {path}")
        if len(found) > MAX_STATEMENTS:
            raise InputError(f"more than {MAX_STATEMENTS} statement files; split the register")
    return found


def take_in_all(paths: Iterable[Path], keys: TrustedKeys | None) -> list[Submission]:
    return [take_in(path, keys) for path in statement_files(paths)]


def take_in(path: Path, keys: TrustedKeys | None) -> Submission:
    """Read and verify one statement file; without `keys` the signature need only be intact."""
    digest = _file_sha256(path)
    try:
        statement = read_statement(path)
    except ConformanceError as exc:
        return Submission(path, digest, None, False, f"not a readable statement: {exc}")
    trusted, refusal = _trusted_signer(statement, keys)
    if refusal:
        return Submission(path, digest, statement, False, refusal, signer_key=_key_of(statement))
    checks = verify_statement(path, public_key=trusted.key if trusted else None).checks
    failures = "; ".join(f"{check.name}: {check.detail}" for check in checks if check.status == "fail")
    signer = trusted.name if trusted else _unchecked_signer(statement)
    return Submission(path, digest, statement, not failures, failures, signer, _key_of(statement))


def _trusted_signer(statement: Statement, keys: TrustedKeys | None) -> tuple[TrustedKey | None, str]:
    """The trusted key the statement claims to be signed with, or why it cannot be accepted."""
    if keys is None:
        return None, ""
    signature = statement.signature
    if signature is None:
        return None, "not signed: only statements signed with a trusted key are accepted"
    trusted = keys.get(signature.key_id)
    if trusted is None:
        return None, f"signed with key {signature.key_id}, which is not one of the trusted keys"
    return trusted, ""


def _unchecked_signer(statement: Statement) -> str:
    return "not signed" if statement.signature is None else "a key not checked against trusted keys"


def _key_of(statement: Statement) -> str:
    return statement.signature.key_id if statement.signature else ""


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"cannot read the statement {path}: {exc.strerror or exc}") from None
    return digest.hexdigest()


def accepted(submissions: Iterable[Submission]) -> Iterator[tuple[Submission, Statement]]:
    """The accepted submissions, each with its statement."""
    for submission in submissions:
        if submission.accepted and submission.statement is not None:
            yield submission, submission.statement
