"""`conformance packages list | show NAME[#VERSION] | install NAME[#VERSION]`."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.cli.options import add_package_options, settings_from
from conformance.errors import PackageError, PackageNotFoundError, UsageError
from conformance.packages.package import Package
from conformance.packages.store import PackageStore
from conformance.packages.versions import VersionSpec, parse_package_reference

EXIT_OK = 0


def _width() -> int | None:
    # Piped output is read by scripts and people alike: do not cut names at 80 columns.
    return None if sys.stdout.isatty() else 200


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "packages",
        help="list, show and install FHIR packages",
        description="FHIR packages on the package path (--package-path, CONFORMANCE_PACKAGE_PATH) "
        "and in the package cache (~/.fhir/packages).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    listing = actions.add_parser("list", help="every package found, with version and FHIR version")
    add_package_options(listing)
    listing.set_defaults(handler=run_list)

    show = actions.add_parser("show", help="one package: manifest, dependencies, resource counts")
    show.add_argument("package", metavar="NAME[#VERSION]")
    add_package_options(show)
    show.set_defaults(handler=run_show)

    install = actions.add_parser("install", help="download a package and its dependencies into the cache")
    install.add_argument("package", metavar="NAME[#VERSION]")
    add_package_options(install)
    install.set_defaults(handler=run_install)


def console() -> Console:
    """Standard output for tables: full width when piped, so names are never cut."""
    return Console(file=sys.stdout, highlight=False, width=_width())


def _store(args: argparse.Namespace) -> PackageStore:
    return PackageStore(settings_from(args))


def run_list(args: argparse.Namespace) -> int:
    store = _store(args)
    found = store.local_manifests()
    out = console()
    if not found:
        folders = ", ".join(str(p) for p in store.settings.package_path) or "none"
        out.print(f"no packages found (package path: {folders}; cache: {store.settings.package_cache})")
        return EXIT_OK
    table = Table("package", "version", "FHIR", "found in", "source")
    for candidate, manifest in found:
        table.add_row(
            escape(manifest.name),
            escape(manifest.version),
            escape(manifest.fhir_version_label()),
            candidate.place,
            escape(str(candidate.path)),
        )
    out.print(table)
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    name, spec = _reference(args.package)
    store = _store(args)
    package = store.find_local(name, spec)
    if package is None:
        raise PackageNotFoundError(
            f"package {name}#{spec} is not on the package path or in the cache "
            "(see 'conformance packages list'; 'conformance packages install' downloads one)"
        )
    _print_package(package)
    return EXIT_OK


def _print_package(package: Package) -> None:
    out = console()
    manifest = package.manifest
    details = Table.grid(padding=(0, 2))
    for label, value in (
        ("package", manifest.id),
        ("title", manifest.title or ""),
        ("FHIR", manifest.fhir_version_label()),
        ("canonical", manifest.canonical or ""),
        ("type", manifest.type or ""),
        ("source", str(package.source)),
        ("folder", str(package.directory)),
        ("dependencies", ", ".join(f"{n}#{v}" for n, v in manifest.dependencies) or "none"),
    ):
        details.add_row(label, escape(value))
    out.print(details)
    counts = Table("resource type", "count")
    for resource_type, count in package.counts().items():
        counts.add_row(resource_type, str(count))
    out.print(counts)


def run_install(args: argparse.Namespace) -> int:
    name, spec = _reference(args.package)
    report = _store(args).install_with_dependencies(name, spec)
    out = console()
    for package in report.packages:
        out.print(f"{escape(package.id)}  {escape(str(package.source))}")
    for problem in report.problems:
        out.print(f"[yellow]warning:[/yellow] {escape(problem)}")
    return EXIT_OK


def _reference(text: str) -> tuple[str, VersionSpec]:
    try:
        return parse_package_reference(text)
    except PackageError as exc:
        raise UsageError(str(exc)) from None
