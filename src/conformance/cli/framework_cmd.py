"""`conformance framework check | list | consistency`: procurement frameworks and who qualifies.

`check` exits 0 when every product qualifies, 1 when one does not (or no statement was readable);
`consistency` exits 0 when the frameworks can all be met together, 1 when two cannot; 2 for usage
problems (an unknown framework, a broken definition, a missing file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.cli import EXIT_INVALID, EXIT_OK
from conformance.errors import UsageError
from conformance.frameworks import (
    Framework,
    Inconsistency,
    KnownStandards,
    Qualification,
    Submission,
    available_frameworks,
    inconsistencies,
    load_framework,
    load_trusted_keys,
    qualify,
    read_framework,
    take_in_all,
    unknown_requirements,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "framework",
        help="procurement frameworks: which products qualify, and whether frameworks agree",
        description="A framework names the standards (with version ranges) a product must meet and at what "
        "level (docs/frameworks.md). Shipped example frameworks are in profiles/frameworks.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    check = actions.add_parser(
        "check",
        help="say for each product whether it qualifies for a framework, and exactly why not",
        description="Read the statements (files, or folders searched for *.json), verify each (schema, "
        "digests, signature; with --keys, signed by a trusted key), and say for each product (supplier, "
        "product, version) whether it meets every requirement of the framework. Also reports frameworks "
        "known here that require versions of one standard this framework's range excludes.",
    )
    check.add_argument("framework", metavar="FRAMEWORK", help="a framework's id or a definition file")
    check.add_argument("statements", nargs="+", type=Path, metavar="STATEMENT", help="statements or folders")
    check.add_argument(
        "--keys", type=Path, default=None, metavar="KEYS",
        help="trusted public keys (a folder of *.pub files, or one): statements must be signed with one",
    )  # fmt: skip
    check.add_argument("--format", choices=("text", "json"), default="text", help="what to print")
    _add_search_options(check)
    check.set_defaults(handler=run_check)

    listing = actions.add_parser("list", help="the frameworks known here, and any that cannot both be met")
    _add_search_options(listing)
    listing.set_defaults(handler=run_list)

    consistency = actions.add_parser(
        "consistency",
        help="whether frameworks can all be met together (no two require non-overlapping versions)",
    )
    consistency.add_argument("frameworks", nargs="+", metavar="FRAMEWORK", help="ids or definition files")
    _add_search_options(consistency)
    consistency.set_defaults(handler=run_consistency)


def _add_search_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--frameworks-dir", action="append", default=[], type=Path, metavar="DIR",
        help="folder of your own framework definitions, searched by id first; repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--standards-dir", action="append", default=[], type=Path, metavar="DIR",
        help="folder of your own standard definitions (for their versions and status); repeatable",
    )  # fmt: skip


def _console() -> Console:
    # Piped output is read by scripts and people alike: do not cut names at 80 columns.
    return Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 200)


def known_frameworks(folders: Sequence[Path]) -> list[Framework]:
    return [read_framework(path) for _, path in available_frameworks(folders)]


# --- check -----------------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    framework = load_framework(args.framework, search_path=args.frameworks_dir)
    keys = load_trusted_keys(args.keys) if args.keys is not None else None
    submissions = take_in_all(args.statements, keys)
    if not submissions:
        raise UsageError("no statement found (give statement files, or folders holding *.json statements)")
    standards = KnownStandards(args.standards_dir)
    results = qualify(framework, submissions, standards)
    for warning in unknown_requirements(framework, standards):
        sys.stderr.write(f"conformance: warning: {warning}\n")
    others = [f for f in known_frameworks(args.frameworks_dir) if f.id != framework.id]
    clashes = [found for found in inconsistencies([framework, *others])
               if framework.id in (found.first, found.second)]  # fmt: skip
    if args.format == "json":
        sys.stdout.write(json.dumps(_check_json(framework, results, submissions, clashes), indent=2) + "\n")
    else:
        _print_check(framework, results, submissions, clashes, trusted=keys is not None)
    qualified = bool(results) and all(result.qualifies for result in results)
    return EXIT_OK if qualified else EXIT_INVALID


def _check_json(
    framework: Framework,
    results: Sequence[Qualification],
    submissions: Sequence[Submission],
    clashes: Sequence[Inconsistency],
) -> dict[str, object]:
    return {
        "framework": framework.id,
        "products": [
            {
                "supplier": r.product.supplier,
                "product": r.product.product,
                "product_version": r.product.version,
                "qualifies": r.qualifies,
                "reasons": list(r.reasons),
                "notes": [note for outcome in r.outcomes for note in outcome.notes],
            }
            for r in results
        ],
        "not_accepted": [{"file": str(s.path), "reason": s.problem} for s in submissions if not s.accepted],
        "inconsistencies": [str(found) for found in clashes],
    }


def _print_check(
    framework: Framework,
    results: Sequence[Qualification],
    submissions: Sequence[Submission],
    clashes: Sequence[Inconsistency],
    *,
    trusted: bool,
) -> None:
    out = _console()
    example = " [dim](an example framework)[/dim]" if framework.example else ""
    out.print(f"[bold]{escape(framework.title)}[/bold] ({escape(framework.id)}){example}")
    for result in results:
        if result.qualifies:
            out.print(f"[green]qualifies[/green]          {escape(result.product.label)}")
        else:
            out.print(f"[bold red]does not qualify[/bold red]   {escape(result.product.label)}")
            for reason in result.reasons:
                out.print(f"    - {escape(reason)}")
        for outcome in result.outcomes:
            for note in outcome.notes:
                out.print(f"    [yellow]note[/yellow]: {escape(note)}")
    for submission in submissions:
        if not submission.accepted:
            out.print(
                f"[yellow]not accepted[/yellow] {escape(str(submission.path))}: {escape(submission.problem)}"
            )
    if not trusted:
        out.print(
            "[dim]signatures were checked for changes only; give --keys to require trusted signers[/dim]"
        )
    for found in clashes:
        out.print(f"[bold yellow]inconsistent[/bold yellow]: {escape(str(found))}")
    qualifying = sum(1 for result in results if result.qualifies)
    out.print(f"{qualifying} of {len(results)} product(s) qualify")


# --- list and consistency --------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    frameworks = known_frameworks(args.frameworks_dir)
    out = _console()
    table = Table("framework", "title", "requires", "example")
    for framework in frameworks:
        requires = ", ".join(f"{r.standard} {r.versions}" for r in framework.requirements)
        table.add_row(
            escape(framework.id),
            escape(framework.title),
            escape(requires),
            "yes" if framework.example else "",
        )
    out.print(table)
    for found in inconsistencies(frameworks):
        out.print(f"[bold yellow]inconsistent[/bold yellow]: {escape(str(found))}")
    standards = KnownStandards(args.standards_dir)
    for framework in frameworks:
        for warning in unknown_requirements(framework, standards):
            out.print(f"[yellow]note[/yellow]: {escape(warning)}")
    return EXIT_OK


def run_consistency(args: argparse.Namespace) -> int:
    frameworks = [load_framework(name, search_path=args.frameworks_dir) for name in args.frameworks]
    found = inconsistencies(frameworks)
    out = _console()
    for item in found:
        out.print(f"[bold red]inconsistent[/bold red]: {escape(str(item))}")
    if not found:
        names = ", ".join(framework.id for framework in frameworks)
        out.print(f"[green]consistent[/green]: {escape(names)} can all be met together")
    return EXIT_INVALID if found else EXIT_OK
