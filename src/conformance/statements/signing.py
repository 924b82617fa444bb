"""Ed25519 keys, and signing statements so that any change to them shows.

The signature covers the statement's canonical JSON form (everything but the signature itself, keys
sorted, no whitespace, UTF-8), wrapped in the DSSE v1 pre-authentication encoding:

    "DSSEv1" SP len(type) SP type SP len(body) SP body

with type `application/vnd.fhir-conformance.statement+json`. It travels inside the statement as a
detached signature with the signer's public key and its id (sha256 of the raw public key), so a DSSE
envelope can be rebuilt from it: {payloadType: type, payload: base64(body), signatures: [{keyid, sig}]}.
A signature only says who signed: `verify_signature` compares the key with the one the reader trusts.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from conformance.errors import InputError
from conformance.statements.model import PAYLOAD_TYPE, SIGNATURE_FORMAT, Signature, Statement
from conformance.statements.schema import canonical_bytes

MAX_KEY_BYTES = 16 * 1024


class SigningKeyError(InputError):
    """A key file that cannot be read, or is not an Ed25519 key."""


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(body), body)


def key_id(public_key: Ed25519PublicKey) -> str:
    return "sha256:" + hashlib.sha256(_raw(public_key)).hexdigest()


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- keys ---------------------------------------------------------------------------------------


def write_key_pair(path: Path, *, overwrite: bool = False) -> Path:
    """Write a new private key to `path` (PEM, PKCS#8, readable by its owner only) and the public key
    to `path.pub` (PEM); returns the public key's path. Existing files are kept unless `overwrite`.
    """
    public_path = path.with_name(path.name + ".pub")
    if not overwrite:
        for existing in (path, public_path):
            if existing.exists():
                raise InputError(f"{existing} exists; choose another path or overwrite it on purpose")
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_private(path, private_pem)
    _write(public_path, public_pem)
    return public_path


def _write_private(path: Path, data: bytes) -> None:
    try:
        if path.exists():
            path.unlink()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
    except OSError as exc:
        raise InputError(f"cannot write the private key {path}: {exc.strerror or exc}") from None


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _read_key_file(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise SigningKeyError(f"cannot read the key {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_BYTES:
        raise SigningKeyError(f"{path} is too large to be a key")
    return data


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read_key_file(path), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read_key_file(path))
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 public key")
    return key


# --- signing and checking -------------------------------------------------------------------------


def sign(statement: Statement, private_key: Ed25519PrivateKey) -> Statement:
    """The statement with a signature over its canonical form (any earlier signature replaced)."""
    message = pae(PAYLOAD_TYPE, canonical_bytes(statement))
    public_key = private_key.public_key()
    signature = Signature(
        format=SIGNATURE_FORMAT,
        payload_type=PAYLOAD_TYPE,
        key_id=key_id(public_key),
        public_key=base64.b64encode(_raw(public_key)).decode("ascii"),
        signature=base64.b64encode(private_key.sign(message)).decode("ascii"),
    )
    return statement.model_copy(update={"signature": signature})


@dataclass(frozen=True)
class SignatureCheck:
    """The answer about a statement's signature: `ok`, and a sentence saying what was found."""

    ok: bool
    detail: str
    signed: bool = True


def verify_signature(statement: Statement, trusted: Ed25519PublicKey | None = None) -> SignatureCheck:
    """Whether the statement is unchanged since it was signed, and (given `trusted`) signed by that key."""
    signature = statement.signature
    if signature is None:
        if trusted is not None:
            return SignatureCheck(
                False, "the statement is not signed, but a public key was given", signed=False
            )
        return SignatureCheck(True, "the statement is not signed", signed=False)
    embedded = Ed25519PublicKey.from_public_bytes(base64.b64decode(signature.public_key))
    if key_id(embedded) != signature.key_id:
        return SignatureCheck(False, "the signature's key id does not match the public key it carries")
    if trusted is not None and key_id(trusted) != signature.key_id:
        return SignatureCheck(
            False, f"signed with key {signature.key_id}, not with the given key {key_id(trusted)}"
        )
    try:
        embedded.verify(base64.b64decode(signature.signature), pae(PAYLOAD_TYPE, canonical_bytes(statement)))
    except InvalidSignature:
        return SignatureCheck(False, "the signature does not match: the statement was changed after signing")
    who = "the given key" if trusted is not None else "the key it carries (no trusted key given)"
    return SignatureCheck(True, f"signature valid, signed by {who}: {signature.key_id}")
