"""`conformance standards`: the standards as products: list them, show one, and diff two versions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from conformance.cli import EXIT_OK
from conformance.cli.options import add_package_options, settings_from
from conformance.context import Context
from conformance.definitions.profiles import Definitions
from conformance.errors import InputError
from conformance.settings import Settings
from conformance.standards import Standard, available_standards, load_standard
from conformance.standards.diff import StandardsDiff, diff_standards
from conformance.standards.diff_render import FORMATS, render


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "standards",
        help="list the standards, show one, or say what changes between two versions",
        description="Standards are managed like products: each has a status (draft, trial-use, active, "
        "deprecated, retired), a version, dates and neighbours. 'diff' compares the profiles of two "
        "standards on their snapshots and groups every change by what a supplier must do.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    listing = actions.add_parser("list", help="every standard: id, status, version, title")
    _add_search_path(listing)
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="one standard: its status, packages and profiles")
    show.add_argument("standard", metavar="ID_OR_FILE")
    _add_search_path(show)
    show.set_defaults(handler=run_show)
    diff = actions.add_parser(
        "diff",
        help="what changes for a supplier from OLD to NEW",
        description="Load each standard's packages, generate the snapshots of their profiles and list, "
        "per profile and element, what changed: breaking, newly expected, relaxed.",
    )
    diff.add_argument("old", metavar="OLD", help="a standard's id or definition file")
    diff.add_argument("new", metavar="NEW", help="a standard's id or definition file")
    diff.add_argument("--format", choices=FORMATS, default="text", help="text (default), markdown or json")
    diff.add_argument("--out", type=Path, default=None, metavar="FILE", help="write to FILE, not stdout")
    _add_search_path(diff)
    add_package_options(diff)
    diff.set_defaults(handler=run_diff)


def _add_search_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--standards-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="folder of your own standard definitions, searched by id first; repeatable",
    )


def run_list(args: argparse.Namespace) -> int:
    rows = [_list_row(load_standard(path)) for _, path in available_standards(args.standards_dir)]
    _write(_table(("id", "status", "version", "FHIR", "profiles", "title"), rows), None)
    return EXIT_OK


def _list_row(standard: Standard) -> tuple[str, ...]:
    return (
        standard.id,
        standard.status.value,
        standard.lifecycle.version or "-",
        standard.fhir_version.label,
        str(len(standard.profiles)),
        standard.title,
    )


def run_show(args: argparse.Namespace) -> int:
    standard = load_standard(args.standard, search_path=args.standards_dir)
    _write("\n".join(_show(standard)) + "\n", None)
    return EXIT_OK


def _show(standard: Standard) -> Iterator[str]:
    life = standard.lifecycle
    yield f"{standard.id}: {standard.title}"
    yield f"  status      {life.status.value}" + (f" since {life.status_date}" if life.status_date else "")
    yield f"  version     {life.version or '-'}" + (f" ({life.date})" if life.date else "")
    yield f"  publisher   {standard.publisher}"
    yield f"  FHIR        {standard.fhir_version.label} ({standard.fhir_version.value})"
    if life.predecessor:
        yield f"  replaces    {life.predecessor}"
    if life.successor:
        yield f"  successor   {life.successor}"
    if life.status.is_withdrawn:
        yield f"  note        this standard is {life.status.value}: statements made against it say so"
    if standard.description:
        yield f"  {standard.description}"
    yield ""
    yield _table(("package", "version range"), [(p.name, p.version) for p in standard.packages]).rstrip("\n")
    yield ""
    yield _table(("profile", "type", "required", "min samples", "default for type"), _profile_rows(standard))


def _profile_rows(standard: Standard) -> list[tuple[str, ...]]:
    return [
        (
            profile.url,
            profile.type,
            "yes" if profile.required else "no",
            str(profile.min_samples),
            "yes" if profile.default_for_type else "no",
        )
        for profile in standard.profiles
    ]


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]  # fmt: skip
    return "\n".join(lines) + "\n"


def run_diff(args: argparse.Namespace) -> int:
    old = load_standard(args.old, search_path=args.standards_dir)
    new = load_standard(args.new, search_path=args.standards_dir)
    _write(render(compare_standards(old, new, settings_from(args)), args.format), args.out)
    return EXIT_OK


def compare_standards(old: Standard, new: Standard, settings: Settings) -> StandardsDiff:
    """Load each standard's packages in its own Context and compare their profiles' snapshots."""
    old_definitions = Definitions(_context(old, settings))
    new_definitions = Definitions(_context(new, settings))
    return diff_standards(old, new, old_definitions.snapshot, new_definitions.snapshot)


def _context(standard: Standard, settings: Settings) -> Context:
    return Context.build(settings, standard.fhir_version, igs=[p.reference for p in standard.packages])


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
