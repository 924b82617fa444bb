"""`conformance compare`: several suppliers' statements for one standard, side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.cli import EXIT_OK
from conformance.errors import InputError, UsageError
from conformance.standards.impact import render_impact_markdown, render_impact_text, upgrade_impact
from conformance.statements import (
    compare,
    read_statement,
    render_compare_html,
    render_compare_markdown,
    render_compare_text,
)
from conformance.statements.model import Statement


def _upgrade(statements: list[Statement], form: str) -> str:
    if len(statements) != 2:
        raise UsageError("--upgrade compares exactly two statements: the old standard's, then the new one's")
    impact = upgrade_impact(*statements)
    return render_impact_markdown(impact) if form == "markdown" else render_impact_text(impact)


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
    parser.add_argument(
        "--upgrade",
        action="store_true",
        help="two statements on the same payloads, against a standard and its next version: which "
        "resources would stop conforming, and why (text or markdown)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    statements = [read_statement(path) for path in args.statements]
    text = _upgrade(statements, args.format) if args.upgrade else _RENDERERS[args.format](compare(statements))
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    return EXIT_OK
