"""The `conformance` command: a thin shell over the library.

Each sub-command lives in its own module exposing `register(subparsers)`;
the module's handler returns the process exit code. Exit codes: 0 success,
1 the payloads have errors, 2 usage problems or broken inputs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from conformance import __version__
from conformance.errors import ConformanceError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 (argparse's own code)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"conformance: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _command_modules() -> list[ModuleType]:
    # Imported here, not at the top: every command module imports this package's exit codes.
    from conformance.cli import (  # noqa: PLC0415
        assess_cmd,
        compare_cmd,
        explain_cmd,
        framework_cmd,
        keygen_cmd,
        packages_cmd,
        register_cmd,
        sample_cmd,
        serve_cmd,
        snapshot_cmd,
        standards_cmd,
        test_server_cmd,
        validate_cmd,
        verify_cmd,
    )

    return [
        packages_cmd, sample_cmd, validate_cmd, snapshot_cmd, assess_cmd, verify_cmd, compare_cmd, keygen_cmd,
        framework_cmd, register_cmd, serve_cmd, standards_cmd, test_server_cmd, explain_cmd,
    ]  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="conformance",
        description="Check FHIR payloads against published profiles and write conformance statements.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module in _command_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConformanceError as exc:
        sys.stderr.write(f"conformance: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("conformance: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
