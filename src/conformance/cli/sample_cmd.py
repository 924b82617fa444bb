"""`conformance sample`: the main job on the embedded sample, offline.

Assesses the sample supplier payloads shipped inside the package (valid and invalid UK Core STU2
resources, written for this project; fixtures/statements in the source tree) against the shipped
`uk-core-stu2` standard, and writes the statement and its HTML page into ./out (or --out-dir). Exit 0
when the statement was written, whatever its verdict: the sample has invalid payloads on purpose.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from conformance._resources import samples_folder
from conformance.cli import EXIT_OK
from conformance.cli.assess_cmd import print_summary, write_outputs
from conformance.cli.options import add_package_options, settings_from
from conformance.cli.packages_cmd import console
from conformance.context import Context
from conformance.errors import InputError, PackageNotFoundError
from conformance.standards import Standard, load_standard
from conformance.statements import Assessor, Product, RunDetails

SAMPLE_STANDARD = "uk-core-stu2"
SAMPLE_IG = "fhir.r4.ukcore.stu2#2.0.2"
SAMPLE_PRODUCT = Product("Riverside Health Systems (sample)", "Riverside EPR", "3.1")
SAMPLE_FOLDERS = ("valid", "invalid")


def default_payload_folder() -> Path:
    """The sample payloads shipped inside the package (fixtures/statements in the source tree)."""
    return samples_folder()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sample",
        help=f"assess the sample payloads against {SAMPLE_STANDARD}, offline, and write the statement",
        description="The main job on the embedded sample: assess the sample supplier payloads shipped "
        f"with the package against the {SAMPLE_STANDARD} standard ({SAMPLE_IG}, loaded from the package "
        "path or cache, never the network) and write the statement and its HTML page.",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=Path("out"), metavar="DIR", help="where to write (default ./out)"
    )
    parser.add_argument(
        "--payloads",
        action="append",
        type=Path,
        default=None,
        metavar="DIR",
        help="assess these payloads instead (default: the shipped sample, valid and invalid); repeatable",
    )
    add_package_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    payloads = args.payloads or _sample_payloads()
    standard = load_standard(SAMPLE_STANDARD)
    context = _context(standard, args)
    _print_packages(context)
    out, html = statement_paths(args.out_dir)
    run_details = RunDetails(command=_command(payloads, out, html), generated_by="conformance sample")
    statement = Assessor(standard, context).assess(payloads, SAMPLE_PRODUCT, run_details)
    _make_folder(args.out_dir)
    print_summary(statement, write_outputs(statement, out, html=html))
    return EXIT_OK


def statement_paths(folder: Path) -> tuple[Path, Path]:
    """Where `sample` writes the statement and its HTML page in `folder`."""
    return folder / "sample-statement.json", folder / "sample-statement.html"


def _sample_payloads() -> list[Path]:
    try:
        folder = default_payload_folder()
    except InputError as exc:
        raise InputError(f"{exc}; or give --payloads DIR") from None
    found = [folder / name for name in SAMPLE_FOLDERS if (folder / name).is_dir()]
    if not found:
        raise InputError(f"the sample payloads are not at {folder}: give --payloads DIR")
    return found


def _context(standard: Standard, args: argparse.Namespace) -> Context:
    settings = settings_from(args).with_options(offline=True)
    try:
        return Context.build(settings, standard.fhir_version, igs=[p.reference for p in standard.packages])
    except PackageNotFoundError as exc:
        raise PackageNotFoundError(
            f"the UK Core sample needs {SAMPLE_IG} and hl7.fhir.r4.core#4.0.1 offline: point "
            f"CONFORMANCE_PACKAGE_PATH or --package-path at a folder holding them ({exc})"
        ) from None


def _command(payloads: list[Path], out: Path, html: Path) -> str:
    """The `assess` command that makes the same statement."""
    words = [
        "conformance", "assess", "--standard", SAMPLE_STANDARD, "--supplier", SAMPLE_PRODUCT.supplier,
        "--product", SAMPLE_PRODUCT.name, "--product-version", SAMPLE_PRODUCT.version, "--offline",
        "--out", str(out), "--html", str(html), *map(str, payloads),
    ]  # fmt: skip
    return shlex.join(words)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {folder}: {exc.strerror or exc}") from None


def _print_packages(context: Context) -> None:
    out = console()
    table = Table(
        "package", "FHIR", "resources", title=f"FHIR {context.fhir_version.label} packages (offline)"
    )
    for package in context.packages:
        table.add_row(
            escape(package.id), escape(package.manifest.fhir_version_label()), str(len(package.index))
        )
    out.print(table)
    for warning in context.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(warning)}")
