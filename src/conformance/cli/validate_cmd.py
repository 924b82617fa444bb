"""`conformance validate`: validate payload files and print their outcomes.

Exit 0 when no payload has an error or fatal issue, 1 when one has, 2 for
usage problems (unknown option, missing file, packages not found).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.cli import EXIT_INVALID, EXIT_OK
from conformance.cli.options import add_package_options, settings_from
from conformance.cli.render import print_text_outcomes
from conformance.context import Context
from conformance.errors import InputError
from conformance.fhirversion import FhirVersion
from conformance.outcome import Outcome
from conformance.validation import Validator


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate FHIR payloads (JSON or XML) against base definitions and profiles",
        description="Validate FHIR payloads against the base definitions, their meta.profile and --profile.",
    )
    add_context_options(parser)
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="CANONICAL_URL",
        help="also validate against this profile; repeatable",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)"
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="payload files")
    parser.set_defaults(handler=run)


def add_context_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fhir-version",
        default="4.0",
        metavar="V",
        help="FHIR version: 4.0, 4.0.1 (R4, default), 3.0, 3.0.1, 3.0.2 (STU3)",
    )
    parser.add_argument(
        "--package",
        action="append",
        default=[],
        type=Path,
        metavar="DIR_OR_TGZ",
        help="load this package (.tgz or folder) and its dependencies; repeatable",
    )
    parser.add_argument(
        "--ig",
        action="append",
        default=[],
        metavar="NAME#VERSION",
        help="load this package from the package path, cache or registry; repeatable",
    )
    parser.add_argument(
        "--extra-resources",
        action="append",
        default=[],
        type=Path,
        metavar="DIR_OR_FILE",
        help="conformance resources (profiles, value sets...) to load first; repeatable",
    )
    add_package_options(parser)


def build_context(args: argparse.Namespace, wanted_profiles: Sequence[str] = ()) -> Context:
    version = FhirVersion.parse(args.fhir_version)
    for path in args.extra_resources:
        if not path.exists():
            raise InputError(f"extra resources not found: {path}")
    context = Context.build(
        settings_from(args),
        version,
        igs=tuple(args.ig),
        packages=tuple(args.package),
        extra_resources=tuple(args.extra_resources),
    )
    return _with_packages_for(context, wanted_profiles, args)


def _with_packages_for(context: Context, profiles: Sequence[str], args: argparse.Namespace) -> Context:
    """Load, from the package path, the package that defines a profile no loaded package defines."""
    missing = [url for url in profiles if context.structure_definition(url) is None]
    if not missing:
        return context
    finder = getattr(context, "with_packages_defining", None)
    if finder is None:
        return context
    extended: Context = finder(missing)
    return extended


def _check_files(files: Sequence[Path]) -> None:
    for path in files:
        if not path.is_file():
            raise InputError(f"payload file not found: {path}")


def run(args: argparse.Namespace) -> int:
    _check_files(args.files)
    context = build_context(args, args.profile)
    validator = Validator(context)
    outcomes = [validator.validate(path, profiles=tuple(args.profile)) for path in args.files]
    if args.format == "json":
        print_json(outcomes, args.files)
    else:
        print_text_outcomes(outcomes, args.files, context.warnings)
    return EXIT_OK if all(outcome.valid for outcome in outcomes) else EXIT_INVALID


def print_json(outcomes: Sequence[Outcome], files: Sequence[Path]) -> None:
    if len(outcomes) == 1:
        document = outcomes[0].to_operation_outcome()
    else:
        document = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": path.resolve().as_uri(), "resource": outcome.to_operation_outcome()}
                for outcome, path in zip(outcomes, files, strict=True)
            ],
        }
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
