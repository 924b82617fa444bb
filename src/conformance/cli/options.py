"""Options shared by several commands, so each is spelled and documented once."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.settings import Settings


def add_package_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("packages")
    group.add_argument(
        "--package-path",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="folder of FHIR packages (.tgz files or unpacked folders) searched before the cache; repeatable",
    )
    group.add_argument(
        "--package-cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="FHIR package cache folder (default ~/.fhir/packages)",
    )
    group.add_argument("--registry", default=None, metavar="URL", help="FHIR package registry base URL")
    group.add_argument("--offline", action="store_true", default=None, help="never use the network")
    group.add_argument(
        "--no-extensions-pack",
        dest="extensions_pack",
        action="store_false",
        default=None,
        help="do not load the HL7 extensions pack (hl7.fhir.uv.extensions.r4) into R4 contexts",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_environment().with_options(
        package_path=tuple(args.package_path),
        offline=args.offline,
        package_cache=args.package_cache,
        registry_url=args.registry,
        extensions_pack=getattr(args, "extensions_pack", None),
    )


def positive_seconds(text: str) -> float:
    """An option's value as a number of seconds greater than 0 (argparse `type=`)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return seconds


def positive_count(text: str) -> int:
    """An option's value as a whole number of at least 1 (argparse `type=`)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value
