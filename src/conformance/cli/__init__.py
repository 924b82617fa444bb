"""The `conformance` command: a thin shell over the library.

Each sub-command lives in its own module exposing `register(subparsers)`;
the module's handler returns the process exit code. Exit codes: 0 success,
1 the payloads have errors, 2 usage problems or broken inputs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from conformance.cli.startup import claim_process, long_lived
from conformance.errors import ConformanceError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]


class _VersionAction(argparse.Action):
    """`--version`, reading the installed version only when asked (importlib.metadata is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **_: object) -> None:
        help_text = "show program's version number and exit"
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help_text)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from conformance import __version__  # noqa: PLC0415
        from conformance.buildinfo import build_name  # noqa: PLC0415

        sys.stdout.write(f"{parser.prog} {__version__} ({build_name()})\n")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 (argparse's own code)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"conformance: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


COMMANDS: tuple[tuple[str, str], ...] = (
    ("packages", "packages_cmd"),
    ("sample", "sample_cmd"),
    ("validate", "validate_cmd"),
    ("snapshot", "snapshot_cmd"),
    ("assess", "assess_cmd"),
    ("verify", "verify_cmd"),
    ("compare", "compare_cmd"),
    ("keygen", "keygen_cmd"),
    ("framework", "framework_cmd"),
    ("register", "register_cmd"),
    ("serve", "serve_cmd"),
    ("standards", "standards_cmd"),
    ("test-server", "test_server_cmd"),
    ("explain", "explain_cmd"),
)
"""Each command's name and the module (in this package) that registers it, in the order help lists them."""


def _command_modules(chosen: str | None) -> list[ModuleType]:
    """The chosen command's module alone, or every module (for help, or an unknown name's error).

    Importing only what the chosen command needs keeps a one-file `validate` fast: the statement,
    register and server modules (pydantic models, schemas) are never loaded for it.
    """
    names = [module for name, module in COMMANDS if name == chosen] or [module for _, module in COMMANDS]
    return [importlib.import_module(f"{__name__}.{module}") for module in names]


def _chosen_command(argv: Sequence[str] | None) -> str | None:
    """The command named in `argv` (its first word that is not an option); None when there is none."""
    if argv is None:
        return None
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `argv`, only the command it names is registered (when it is known)."""
    parser = _Parser(
        prog="conformance",
        description="Check FHIR payloads against published profiles and write conformance statements.",
    )
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module in _command_modules(_chosen_command(argv)):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        claim_process()
    words = sys.argv[1:] if argv is None else list(argv)
    with long_lived():  # the chosen command's modules
        args = build_parser(words).parse_args(words)
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
