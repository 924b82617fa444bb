"""`conformance compare`: several suppliers' statements for one standard, side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.cli import EXIT_OK
from conformance.errors import InputError
from conformance.statements import (
    compare,
    read_statement,
    render_compare_html,
    render_compare_markdown,
    render_compare_text,
)

_RENDERERS = {"text": render_compare_text, "markdown": render_compare_markdown, "html": render_compare_html}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare the statements of several suppliers against the same standard",
        description="Print one column per statement and one row per profile of the standard, with each "
        "verdict and how many payloads passed, for shortlisting. Every statement is checked against the "
        "statement schema first (use 'conformance verify' to check signatures and reproduction).",
    )
    parser.add_argument("statements", nargs="+", type=Path, metavar="STATEMENT", help="statement files")
    parser.add_argument(
        "--format", choices=tuple(_RENDERERS), default="text", help="text (default), markdown or html"
    )
    parser.add_argument("--out", type=Path, default=None, metavar="FILE", help="write to FILE, not stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    comparison = compare([read_statement(path) for path in args.statements])
    text = _RENDERERS[args.format](comparison)
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    return EXIT_OK
