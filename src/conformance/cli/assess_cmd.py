"""`conformance assess`: assess payloads against a standard and write a conformance statement.

Exit 0 when the standard's overall verdict is conformant, 1 when it is not (non-conformant, not
tested, too few samples), 2 for usage problems. The statement is written in every case but 2.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.cli import EXIT_INVALID, EXIT_OK
from conformance.cli.terminology_options import add_terminology_options, terminology_session
from conformance.cli.validate_cmd import add_context_options, build_context
from conformance.context import Context
from conformance.errors import InputError, UsageError
from conformance.fhirversion import FhirVersion
from conformance.reports import write_junit, write_sarif
from conformance.standards import Standard, load_standard
from conformance.statements import (
    Assessor,
    Product,
    RunDetails,
    Statement,
    load_private_key,
    load_suppressions,
    render_fhir,
    render_html,
    render_markdown,
    sign,
    write_statement,
)
from conformance.statements.reports import payload_results
from conformance.statements.view import VERDICT_LABELS, profile_rows

# The options that make up the reproducing command, in the order they are written back.
_RECORDED_OPTIONS = (
    ("--standard", "standard"),
    ("--standards-dir", "standards_dir"),
    ("--supplier", "supplier"),
    ("--product", "product"),
    ("--product-version", "product_version"),
    ("--ig", "ig"),
    ("--package", "package"),
    ("--package-path", "package_path"),
    ("--package-cache", "package_cache"),
    ("--registry", "registry"),
    ("--offline", "offline"),
    ("--tx", "tx"),
    ("--tx-replay", "tx_replay"),
    ("--display-warnings", "display_warnings"),
    ("--suppressions", "suppressions"),
    ("--assessor", "assessor"),
    ("--out", "out"),
    ("--html", "html"),
    ("--markdown", "markdown"),
    ("--fhir", "fhir"),
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "assess",
        help="assess payloads against a standard and write a conformance statement",
        description="Validate every payload (files, folders, Bundles split into entries) against the "
        "profiles of a standard and write a conformance statement (JSON), with optional HTML, Markdown and "
        "FHIR TestReport renderings. The standard's packages are loaded for you.",
    )
    parser.add_argument(
        "--standard", required=True, metavar="ID_OR_FILE", help="a shipped standard's id or a definition file"
    )
    parser.add_argument(
        "--standards-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="folder of your own standard definitions, searched by id first; repeatable",
    )
    parser.add_argument("--supplier", required=True, metavar="NAME", help="the supplier assessed")
    parser.add_argument("--product", required=True, metavar="NAME", help="the product assessed")
    parser.add_argument("--product-version", required=True, metavar="V", help="the product's version")
    add_output_options(parser, required=True)
    parser.add_argument("--sign", type=Path, default=None, metavar="PRIVATE_KEY", help="sign with this key")
    parser.add_argument(
        "--suppressions",
        type=Path,
        default=None,
        metavar="FILE",
        help="TOML file of issues to set aside, each with its rationale (recorded in the statement)",
    )
    parser.add_argument(
        "--assessor", default=None, metavar="NAME", help="who made the assessment (default: the tool)"
    )
    add_context_options(parser)
    add_terminology_options(parser)
    # The standard says which FHIR version; --fhir-version may only agree with it.
    parser.set_defaults(fhir_version=None, handler=run)
    parser.add_argument("payloads", nargs="+", type=Path, metavar="PAYLOAD", help="payload files or folders")


def add_output_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--out", required=required, type=Path, metavar="FILE", help="where to write the statement (JSON)"
    )
    parser.add_argument("--html", type=Path, default=None, metavar="FILE", help="also write an HTML page")
    parser.add_argument(
        "--format",
        choices=("text", "junit", "sarif"),
        default="text",
        help="what to print on stdout: a summary table (text), or the evidence as a JUnit or SARIF report",
    )
    parser.add_argument("--markdown", type=Path, default=None, metavar="FILE", help="also write Markdown")
    parser.add_argument(
        "--fhir", type=Path, default=None, metavar="FILE", help="also write a FHIR Bundle of TestReports"
    )


def run(args: argparse.Namespace) -> int:
    command = reproducing_command(args)
    standard = load_standard(args.standard, search_path=args.standards_dir)
    context = context_for(standard, args)
    key = load_private_key(args.sign) if args.sign is not None else None
    suppressions = load_suppressions(args.suppressions) if args.suppressions is not None else ()
    with terminology_session(args, context) as terminology:
        run_details = RunDetails(
            suppressions=suppressions,
            generated_by=args.assessor or "",
            command=command,
        )
        product = Product(args.supplier, args.product, args.product_version)
        statement = Assessor(standard, context, terminology=terminology).assess(
            args.payloads, product, run_details
        )
    if key is not None:
        statement = sign(statement, key)
    written = write_outputs(statement, args.out, html=args.html, markdown=args.markdown, fhir=args.fhir)
    if args.format == "junit":
        write_junit(
            payload_results(statement), sys.stdout, name=f"conformance assess {statement.standard.id}"
        )
    elif args.format == "sarif":
        write_sarif(payload_results(statement), sys.stdout)
    else:
        print_summary(statement, written)
    return EXIT_OK if statement.results.verdict == "conformant" else EXIT_INVALID


def context_for(standard: Standard, args: argparse.Namespace) -> Context:
    """The standard's packages (and any the options add) for the standard's FHIR version."""
    if args.extra_resources:
        raise UsageError(
            "assess takes no --extra-resources: a statement names its definitions by package, so put them "
            "in a package (a folder with package/package.json) and pass --package"
        )
    version = standard.fhir_version
    if args.fhir_version is not None and FhirVersion.parse(args.fhir_version) is not version:
        raise UsageError(f"standard {standard.id} is for FHIR {version.label}, not {args.fhir_version}")
    args.fhir_version = version.value
    args.ig = [*(package.reference for package in standard.packages), *args.ig]
    return build_context(args, [profile.url for profile in standard.profiles])


def reproducing_command(args: argparse.Namespace) -> str:
    """The command line that makes this statement again (taken before the standard fills options in)."""
    words = ["conformance", "assess"]
    for option, name in _RECORDED_OPTIONS:
        words.extend(_option_words(option, getattr(args, name, None)))
    words.extend(str(path) for path in args.payloads)
    return shlex.join(words)


def _option_words(option: str, value: object) -> Iterator[str]:
    if value is None or value is False:
        return
    if value is True:
        yield option
        return
    values = value if isinstance(value, list) else [value]
    for item in values:
        yield from (option, str(item))


def write_outputs(
    statement: Statement,
    out: Path,
    *,
    html: Path | None = None,
    markdown: Path | None = None,
    fhir: Path | None = None,
) -> list[Path]:
    """Write the statement and the renderings asked for; the paths written, in order."""
    write_statement(statement, out)
    renderings = (
        (html, render_html),
        (markdown, render_markdown),
        (fhir, lambda s: json.dumps(render_fhir(s), indent=2, ensure_ascii=False) + "\n"),
    )
    written = [out]
    for path, render in renderings:
        if path is not None:
            _write_text(path, render(statement))
            written.append(path)
    return written


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


_VERDICT_STYLES = {
    "conformant": "green",
    "non-conformant": "red",
    "not-tested": "dim",
    "insufficient-sample": "yellow",
}


def print_summary(statement: Statement, written: Sequence[Path]) -> None:
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    table = Table("profile", "tested", "passed", "failed", "verdict", title=statement.standard.title)
    for row in profile_rows(statement):
        style = _VERDICT_STYLES[row.verdict]
        table.add_row(
            escape(row.name), str(row.tested), str(row.passed), str(row.failed),
            f"[{style}]{escape(row.verdict_label)}[/{style}]",
        )  # fmt: skip
    out.print(table)
    results = statement.results
    style = _VERDICT_STYLES[results.verdict]
    out.print(f"[bold {style}]{VERDICT_LABELS[results.verdict]}[/bold {style}]: {escape(results.reason)}")
    for path in written:
        out.print(f"wrote {escape(str(path))}")
