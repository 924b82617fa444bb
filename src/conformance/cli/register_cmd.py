"""`conformance register build`: verify a folder of statements and write the register's static site.

Exit 0 when the site is written (statements that fail verification are listed apart in it, and on
stderr), 2 for usage problems (a missing folder, no trusted key, a site folder that is not a register).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from conformance._definitions import definition_files
from conformance.cli import EXIT_OK
from conformance.cli.framework_cmd import known_frameworks
from conformance.frameworks import Framework, load_framework, read_framework
from conformance.register import DEFAULT_TITLE, build_register


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "register",
        help="build a register (static website, register.json, Atom feed) of verified statements",
        description="The register of conformance statements a buying organisation publishes "
        "(docs/register.md).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    build = actions.add_parser(
        "build",
        help="verify every statement in a folder and write the register's site",
        description="Verify every statement (*.json, searched recursively) in STATEMENTS_DIR: schema, "
        "digests, and a signature made with one of the trusted keys. Write SITE_DIR: index.html, a page "
        "per statement, standard and framework, register.json and feed.xml. Statements that fail are listed "
        "apart with the reason and never shown as conformant.",
    )
    build.add_argument("statements_dir", type=Path, metavar="STATEMENTS_DIR")
    build.add_argument(
        "--keys", required=True, type=Path, metavar="TRUSTED_KEYS",
        help="trusted public keys: a folder of *.pub files (the file name names the signer), or one file",
    )  # fmt: skip
    build.add_argument("--out", required=True, type=Path, metavar="SITE_DIR", help="where to write the site")
    build.add_argument(
        "--framework", action="append", default=[], metavar="ID_OR_FILE",
        help="a framework to apply (repeatable); default: every framework in --frameworks-dir, or else "
        "the shipped example frameworks",
    )  # fmt: skip
    build.add_argument(
        "--frameworks-dir", action="append", default=[], type=Path, metavar="DIR",
        help="folder of framework definitions, all applied; repeatable",
    )  # fmt: skip
    build.add_argument(
        "--standards-dir", action="append", default=[], type=Path, metavar="DIR",
        help="folder of your own standard definitions (versions, status, profiles); repeatable",
    )  # fmt: skip
    build.add_argument("--title", default=DEFAULT_TITLE, help="the register's title")
    build.add_argument(
        "--base-url", default="", metavar="URL", help="where the site will be published (absolute feed links)"
    )
    build.set_defaults(handler=run_build)


def chosen_frameworks(args: argparse.Namespace) -> list[Framework]:
    """--framework ones, then every one in --frameworks-dir; with neither, the shipped examples."""
    if not args.framework and not args.frameworks_dir:
        return known_frameworks([])
    frameworks = [load_framework(name, search_path=args.frameworks_dir) for name in args.framework]
    frameworks.extend(
        read_framework(path) for folder in args.frameworks_dir for path in definition_files(folder)
    )
    by_id: dict[str, Framework] = {}
    for framework in frameworks:
        by_id.setdefault(framework.id, framework)
    return list(by_id.values())


def run_build(args: argparse.Namespace) -> int:
    frameworks = chosen_frameworks(args)
    register = build_register(
        args.statements_dir,
        args.keys,
        args.out,
        frameworks=frameworks,
        standards_search_path=args.standards_dir,
        title=args.title,
        base_url=args.base_url,
    )
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    errors = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    for item in register.rejected:
        errors.print(f"[yellow]not accepted[/yellow] {escape(item.file)}: {escape(item.reason)}")
    out.print(
        f"{len(register.statements)} statement(s) accepted, {len(register.rejected)} not accepted; "
        f"{len(register.standards)} standard(s), {len(register.frameworks)} framework(s)"
    )
    out.print(f"wrote {escape(str(args.out / 'index.html'))}")
    return EXIT_OK
