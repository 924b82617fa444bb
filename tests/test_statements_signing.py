"""Ed25519 keys and signatures over the canonical statement."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conformance.errors import InputError
from conformance.settings import Settings
from conformance.statements import (
    Statement,
    load_private_key,
    load_public_key,
    read_statement,
    sign,
    verify_signature,
    write_key_pair,
    write_statement,
)
from conformance.statements.schema import canonical_bytes, statement_to_data
from conformance.statements.signing import SigningKeyError, key_id, pae
from statements_support import VALID, assess

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def statement(shared_settings: Settings) -> Statement:
    return assess("shared-care-record", shared_settings, VALID / "patient-jane-doe.json")


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private = tmp_path / "signer"
    return private, write_key_pair(private)


def test_keygen_writes_a_private_key_for_its_owner_and_a_public_key(keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert public == private.with_name("signer.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert key_id(load_private_key(private).public_key()) == key_id(load_public_key(public))


def test_keygen_keeps_existing_keys_unless_told(keys: tuple[Path, Path]) -> None:
    private = keys[0]
    before = private.read_bytes()
    with pytest.raises(InputError, match="exists"):
        write_key_pair(private)
    assert private.read_bytes() == before
    write_key_pair(private, overwrite=True)
    assert private.read_bytes() != before and stat.S_IMODE(private.stat().st_mode) == 0o600


def test_a_signed_statement_verifies_with_its_key(statement: Statement, keys: tuple[Path, Path]) -> None:
    private, public = keys
    signed = sign(statement, load_private_key(private))
    check = verify_signature(signed, load_public_key(public))
    assert check.ok and check.signed and "signed by the given key" in check.detail
    assert signed.signature is not None and signed.signature.key_id == key_id(load_public_key(public))
    assert verify_signature(signed).ok  # with the key it carries, when no trusted key is given


def test_the_signature_covers_the_dsse_encoding_of_the_canonical_form(
    statement: Statement, keys: tuple[Path, Path]
) -> None:
    signed = sign(statement, load_private_key(keys[0]))
    assert signed.signature is not None
    body = canonical_bytes(signed)
    assert body == canonical_bytes(statement)  # the signature itself is not signed
    assert json.loads(body) == {k: v for k, v in statement_to_data(signed).items() if k != "signature"}
    message = pae("application/vnd.fhir-conformance.statement+json", body)
    assert message.startswith(b"DSSEv1 47 application/vnd.fhir-conformance.statement+json ")
    load_public_key(keys[1]).verify(base64.b64decode(signed.signature.signature), message)


def test_a_changed_statement_fails(statement: Statement, keys: tuple[Path, Path], tmp_path: Path) -> None:
    signed = sign(statement, load_private_key(keys[0]))
    path = tmp_path / "statement.json"
    write_statement(signed, path)
    data = json.loads(path.read_text())
    data["results"]["verdict"] = "non-conformant"
    path.write_text(json.dumps(data))
    check = verify_signature(read_statement(path), load_public_key(keys[1]))
    assert not check.ok and "changed after signing" in check.detail


def test_a_wrong_key_fails(statement: Statement, keys: tuple[Path, Path], tmp_path: Path) -> None:
    signed = sign(statement, load_private_key(keys[0]))
    other = write_key_pair(tmp_path / "other")
    check = verify_signature(signed, load_public_key(other))
    assert not check.ok and "not with the given key" in check.detail


def test_a_swapped_public_key_fails(statement: Statement, keys: tuple[Path, Path], tmp_path: Path) -> None:
    signed = sign(statement, load_private_key(keys[0]))
    write_key_pair(tmp_path / "impostor")
    impostor = sign(statement, load_private_key(tmp_path / "impostor"))
    assert signed.signature is not None and impostor.signature is not None
    swapped = signed.signature.model_copy(update={"public_key": impostor.signature.public_key})
    check = verify_signature(signed.model_copy(update={"signature": swapped}))
    assert not check.ok and "key id does not match" in check.detail


def test_an_unsigned_statement_with_a_key_given_fails(statement: Statement, keys: tuple[Path, Path]) -> None:
    assert verify_signature(statement).ok and not verify_signature(statement).signed
    check = verify_signature(statement, load_public_key(keys[1]))
    assert not check.ok and "not signed" in check.detail


def test_key_files_that_are_not_ed25519_keys_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key")
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM private key"):
        load_private_key(garbage)
    with pytest.raises(SigningKeyError, match="not a PEM public key"):
        load_public_key(garbage)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "ec").write_bytes(pem)
    with pytest.raises(SigningKeyError, match="not an Ed25519 private key"):
        load_private_key(tmp_path / "ec")
    huge = tmp_path / "huge"
    huge.write_bytes(b"-" * 100_000)
    with pytest.raises(SigningKeyError, match="too large"):
        load_public_key(huge)
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_public_key(tmp_path / "absent.pub")
