"""`conformance verify`: check a statement's schema, signature and payloads, and that it reproduces.

Exit 0 when no check fails (a check that cannot be made, such as reproduction without --payloads,
is reported as skipped), 1 when one fails, 2 for usage problems.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from conformance.cli import EXIT_INVALID, EXIT_OK
from conformance.cli.options import add_package_options, settings_from
from conformance.cli.terminology_options import add_terminology_options, terminology_session
from conformance.errors import InputError
from conformance.statements import Verification, load_public_key, verify_statement

_STYLES = {"pass": "green", "fail": "bold red", "skipped": "yellow", "warning": "yellow"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="verify a conformance statement: schema, signature, payload digests, reproduction",
        description="Check that a statement matches the statement schema, that its signature holds (and "
        "was made with --public-key), that the payloads in --payloads are the ones it names, and that "
        "assessing them again with the same packages gives the same results.",
    )
    parser.add_argument("statement", type=Path, metavar="STATEMENT", help="the statement (JSON)")
    parser.add_argument(
        "--payloads", type=Path, default=None, metavar="DIR", help="folder holding the payload files"
    )
    parser.add_argument(
        "--public-key",
        type=Path,
        default=None,
        metavar="PATH.pub",
        help="the public key it must be signed with",
    )
    add_package_options(parser)
    add_terminology_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.statement.is_file():
        raise InputError(f"statement not found: {args.statement}")
    public_key = load_public_key(args.public_key) if args.public_key is not None else None
    verification = verify_statement(
        args.statement,
        public_key=public_key,
        payloads=args.payloads,
        settings=settings_from(args),
        terminology=partial(terminology_session, args),
    )
    print_verification(args.statement, verification)
    return EXIT_OK if verification.ok else EXIT_INVALID


def print_verification(path: Path, verification: Verification) -> None:
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    for check in verification.checks:
        style = _STYLES[check.status]
        out.print(f"[{style}]{check.status:<7}[/{style}] {check.name}: {escape(check.detail)}")
    if verification.ok:
        out.print(f"[bold green]verified[/bold green]: {escape(str(path))}")
    else:
        out.print(f"[bold red]NOT verified[/bold red]: {escape(str(path))}")
