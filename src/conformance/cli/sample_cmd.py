"""`conformance sample`: load the UK Core package set offline and say what it holds."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.cli.options import add_package_options, settings_from
from conformance.cli.packages_cmd import console
from conformance.context import Context
from conformance.errors import PackageNotFoundError
from conformance.fhirversion import FhirVersion

EXIT_OK = 0
SAMPLE_IG = "fhir.r4.ukcore.stu2#2.0.2"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sample",
        help=f"load the UK Core package set ({SAMPLE_IG}) offline and list what it holds",
        description="Loads the UK Core STU2 packages from the package path or cache, never the network.",
    )
    add_package_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args).with_options(offline=True)
    try:
        context = Context.build(settings, FhirVersion.R4, igs=[SAMPLE_IG])
    except PackageNotFoundError as exc:
        raise PackageNotFoundError(
            f"the UK Core sample needs {SAMPLE_IG} and hl7.fhir.r4.core#4.0.1 offline: point "
            f"CONFORMANCE_PACKAGE_PATH or --package-path at a folder holding them ({exc})"
        ) from None
    _print_context(context)
    return EXIT_OK


def _print_context(context: Context) -> None:
    out = console()
    title = f"FHIR {context.fhir_version.label} context"
    packages = Table("package", "FHIR", "resources", "source", title=title)
    for package in context.packages:
        packages.add_row(
            escape(package.id),
            escape(package.manifest.fhir_version_label()),
            str(len(package.index)),
            escape(str(package.source)),
        )
    out.print(packages)
    counts = Table("resource type", "count", title="resources by type")
    for resource_type, count in context.counts().items():
        counts.add_row(resource_type, str(count))
    out.print(counts)
    _print_profiles(out, context)
    for warning in context.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(warning)}")


def _print_profiles(out: Console, context: Context) -> None:
    profiles = Table("profile", "type", "version", title=f"profiles in {SAMPLE_IG}")
    for entry in context.structure_definitions(derivation="constraint"):
        if entry.package == SAMPLE_IG and entry.type != "Extension":
            profiles.add_row(*(escape(text or "") for text in (entry.url, entry.type, entry.version)))
    out.print(profiles)
    extensions = context.structure_definitions(type="Extension", derivation="constraint")
    own = sum(1 for entry in extensions if entry.package == SAMPLE_IG)
    out.print(f"{own} extension definitions in {SAMPLE_IG}")
