"""`conformance explain MESSAGE_ID`: the rule behind a message id, examples, how to fix and silence it.

Exit 0 with the entry; 2 for an id with no entry (close ids are suggested).
"""

from __future__ import annotations

import argparse
import sys

from conformance.cli import EXIT_OK, EXIT_USAGE
from conformance.explain import FORMATS, entries, explain, render, suggestions


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="explain a message id: the rule, where it comes from, examples, how to fix and silence it",
        description="Say what the rule behind a message id is, where it comes from (the FHIR "
        "specification or the profile element), an example that gives it and one that does not, how to "
        "fix it, and how to silence it in assert_conforms and in statements.",
    )
    parser.add_argument("message_id", nargs="?", metavar="MESSAGE_ID", help="e.g. slice.no-match")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--list", action="store_true", help="list every message id that has an entry")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        sys.stdout.write("".join(f"{message_id}\n" for message_id in sorted(entries())))
        return EXIT_OK
    if not args.message_id:
        sys.stderr.write("conformance: error: give a MESSAGE_ID (or --list to see them all)\n")
        return EXIT_USAGE
    entry = explain(args.message_id)
    if entry is None:
        close = suggestions(args.message_id)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see conformance explain --list"
        sys.stderr.write(f"conformance: error: no message id {args.message_id!r}{hint}\n")
        return EXIT_USAGE
    sys.stdout.write(render(entry, args.format))
    return EXIT_OK
