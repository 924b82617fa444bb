"""`conformance snapshot`: print a StructureDefinition with its snapshot.

    conformance snapshot [--fhir-version V] [--ig NAME#VERSION]... [--package-path DIR]... [--offline]
                         [--regenerate] CANONICAL_URL_OR_FILE

The argument is a canonical URL (optionally `|version`) or core type name found
in the loaded packages, or a StructureDefinition JSON file whose base is found
in them. A definition that has a snapshot is printed as it is unless
`--regenerate`; otherwise its snapshot is generated from its differential.
The JSON goes to stdout (exit 0); problems found in the profile go to stderr,
one line each; a definition or base that cannot be found is a one-line error
(exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.cli import EXIT_OK, EXIT_USAGE
from conformance.cli.options import add_package_options, settings_from
from conformance.context import Context
from conformance.definitions.snapshot import SnapshotResult, Snapshots
from conformance.errors import InputError
from conformance.fhirversion import FhirVersion
from conformance.outcome import Issue

DEFAULT_FHIR_VERSION = "4.0"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="print a StructureDefinition with its snapshot (generated from the differential when needed)",
        description="Print a StructureDefinition with its snapshot as JSON; profile problems go to stderr.",
    )
    parser.add_argument(
        "--fhir-version",
        default=None,
        metavar="V",
        help="FHIR version: 4.0, 4.0.1 (R4), 3.0, 3.0.1, 3.0.2 (STU3); default: a file's own, else R4",
    )
    parser.add_argument(
        "--ig",
        action="append",
        default=[],
        metavar="NAME#VERSION",
        help="load this package (and its dependencies) from the package path, cache or registry; repeatable",
    )
    parser.add_argument(
        "--regenerate",
        action="store_true",
        help="generate the snapshot from the differential even when the definition has one",
    )
    parser.add_argument(
        "target",
        metavar="CANONICAL_URL_OR_FILE",
        help="canonical URL (url or url|version), core type name, or StructureDefinition JSON file",
    )
    add_package_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from_file = _read_file(Path(args.target)) if _looks_like_file(args.target) else None
    version = _version(args.fhir_version, from_file)
    settings = settings_from(args)
    context = Context.build(settings, version, igs=tuple(args.ig))
    snapshots = Snapshots(context, version, cache_dir=settings.work_cache / "snapshots")
    result = _snapshot(snapshots, context, args.target, from_file, regenerate=args.regenerate)
    _report(result.issues)
    if "snapshot" not in result.structure_definition:
        sys.stderr.write(f"conformance: error: {_why_not(result, args.target)}\n")
        return EXIT_USAGE
    sys.stdout.write(json.dumps(result.structure_definition, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def _looks_like_file(target: str) -> bool:
    if target.startswith(("http://", "https://", "urn:")):
        return False
    return Path(target).suffix.lower() == ".json" or Path(target).exists()


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} as JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("resourceType") != "StructureDefinition":
        raise InputError(f"{path} is not a StructureDefinition")
    return data


def _version(option: str | None, from_file: Mapping[str, Any] | None) -> FhirVersion:
    if option is not None:
        return FhirVersion.parse(option)
    declared = from_file.get("fhirVersion") if from_file is not None else None
    release = FhirVersion.of_release(declared) if isinstance(declared, str) else None
    return release or FhirVersion.parse(DEFAULT_FHIR_VERSION)


def _snapshot(
    snapshots: Snapshots,
    context: Context,
    target: str,
    from_file: dict[str, Any] | None,
    *,
    regenerate: bool,
) -> SnapshotResult:
    sd = from_file if from_file is not None else context.structure_definition(target)
    if sd is None:
        raise InputError(f"no StructureDefinition {target} in the loaded packages (try --ig NAME#VERSION)")
    if regenerate or not _has_snapshot(sd):
        return snapshots.generate(sd)
    return SnapshotResult(dict(sd))


def _has_snapshot(sd: Mapping[str, Any]) -> bool:
    snapshot = sd.get("snapshot")
    return isinstance(snapshot, Mapping) and bool(snapshot.get("element"))


def _report(issues: tuple[Issue, ...]) -> None:
    for issue in issues:
        where = f" ({issue.element_id})" if issue.element_id else ""
        sys.stderr.write(
            f"conformance: {issue.severity.value}: {issue.message}{where} [{issue.message_id}]\n"
        )


def _why_not(result: SnapshotResult, target: str) -> str:
    fatal = next((issue for issue in result.issues if issue.severity.is_error), None)
    reason = fatal.message if fatal is not None else "no snapshot could be generated"
    return f"cannot generate the snapshot of {target}: {reason}"
