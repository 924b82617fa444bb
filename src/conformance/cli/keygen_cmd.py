"""`conformance keygen`: make an Ed25519 key pair for signing statements."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.cli import EXIT_OK
from conformance.statements import load_public_key, write_key_pair
from conformance.statements.signing import key_id


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "keygen",
        help="make an Ed25519 key pair for signing statements (assess --sign)",
        description="Write a new private key to PATH (PEM, readable by you only) and its public key to "
        "PATH.pub. Keep the private key secret; publish the public key so readers can verify statements.",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="PATH", help="the private key's path")
    parser.add_argument("--force", action="store_true", help="replace existing key files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    public_path = write_key_pair(args.out, overwrite=args.force)
    identifier = key_id(load_public_key(public_path))
    sys.stdout.write(f"private key: {args.out}\npublic key:  {public_path}\nkey id:      {identifier}\n")
    return EXIT_OK
