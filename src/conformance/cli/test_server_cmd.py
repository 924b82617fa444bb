"""`conformance test-server`: test a live FHIR server against a standard and write a statement.

Exit 0 when the statement's verdict is conformant, 1 when it is not (a test failed, or the resources
returned do not conform), 2 for usage problems, a server that cannot be reached, or a TLS failure.
Secrets are taken from environment variables named on the command line, never from the command line
itself, so they stay out of shell history, process lists and the statement's reproducing command.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from conformance.apitest import (
    Auth,
    BackendServices,
    BearerAuth,
    ClientCredentials,
    Limits,
    NoAuth,
    Politeness,
    ServerTester,
    ServerTestOptions,
)
from conformance.cli import EXIT_INVALID, EXIT_OK
from conformance.cli.assess_cmd import add_output_options, context_for, write_outputs
from conformance.cli.validate_cmd import add_context_options
from conformance.errors import UsageError
from conformance.standards import load_standard
from conformance.statements import Product, RunDetails, Statement, load_private_key, sign

_AUTH_KINDS = ("none", "bearer", "client-credentials", "backend-services")
_RECORDED = (
    "--standard", "--standards-dir", "--supplier", "--product", "--product-version", "--patient", "--auth",
    "--token-url", "--client-id", "--scope", "--key-algorithm", "--max-requests", "--concurrency",
    "--timeout", "--retries", "--page-size", "--max-pages", "--ig", "--package", "--package-path",
    "--offline", "--out",
)  # fmt: skip


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "test-server",
        help="test a live FHIR server against a standard and write a conformance statement",
        description="Test a FHIR server's API (read-only) against a standard: its CapabilityStatement, "
        "searches per profile with every resource returned validated, paging, reads, references, and "
        "the protocol rules. Every exchange is recorded in the statement as evidence.",
    )
    parser.add_argument("base_url", metavar="BASE_URL", help="the server's FHIR base URL")
    parser.add_argument("--standard", required=True, metavar="ID_OR_FILE", help="a standard's id or file")
    parser.add_argument("--standards-dir", action="append", default=[], type=Path, metavar="DIR")
    parser.add_argument(
        "--patient", action="append", default=[], metavar="ID", help="a patient id to search by"
    )
    parser.add_argument("--supplier", default="(not given)", metavar="NAME")
    parser.add_argument("--product", default="(not given)", metavar="NAME")
    parser.add_argument("--product-version", default="(not given)", metavar="V")
    _add_auth_options(parser)
    _add_politeness_options(parser)
    add_output_options(parser, required=True)
    parser.add_argument("--sign", type=Path, default=None, metavar="PRIVATE_KEY", help="sign with this key")
    add_context_options(parser)
    parser.set_defaults(fhir_version=None, handler=run)


def _add_auth_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("authentication (secrets come from environment variables)")
    group.add_argument("--auth", choices=_AUTH_KINDS, default="none")
    group.add_argument("--token-env", metavar="VAR", help="environment variable holding the bearer token")
    group.add_argument("--token-url", metavar="URL", help="the OAuth2 token endpoint")
    group.add_argument("--client-id", metavar="ID")
    group.add_argument("--client-secret-env", metavar="VAR", help="environment variable holding the secret")
    group.add_argument("--client-key", type=Path, metavar="PEM", help="private key for backend services")
    group.add_argument("--key-algorithm", choices=("RS384", "ES384"), default="RS384")
    group.add_argument("--key-id", default="", metavar="KID")
    group.add_argument("--scope", default="system/*.read", metavar="SCOPES")


def _add_politeness_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("politeness and safety")
    group.add_argument("--max-requests", type=int, default=1000, metavar="N", help="request budget (1000)")
    group.add_argument("--concurrency", type=int, default=2, metavar="N", help="simultaneous requests (2)")
    group.add_argument("--timeout", type=float, default=30.0, metavar="S", help="seconds per request (30)")
    group.add_argument("--retries", type=int, default=2, metavar="N", help="retries per request (2)")
    group.add_argument("--page-size", type=int, default=10, metavar="N", help="_count of searches (10)")
    group.add_argument("--max-pages", type=int, default=3, metavar="N", help="pages followed per search (3)")
    group.add_argument("--allow-writes", action="store_true", help="allow requests that change data")
    group.add_argument("--ca-cert", type=Path, metavar="PEM", help="also trust this CA (test environments)")


def run(args: argparse.Namespace) -> int:
    standard = load_standard(args.standard, search_path=args.standards_dir)
    args.extra_resources = []
    context = context_for(standard, args)
    key = load_private_key(args.sign) if args.sign is not None else None
    options = ServerTestOptions(
        patients=tuple(args.patient),
        politeness=Politeness(
            max_requests=args.max_requests, concurrency=args.concurrency, timeout=args.timeout,
            retries=args.retries, allow_writes=args.allow_writes,
        ),
        limits=Limits(page_size=args.page_size, max_pages=args.max_pages),
        ca_cert=args.ca_cert,
    )  # fmt: skip
    product = Product(args.supplier, args.product, args.product_version)
    statement = ServerTester(standard, context).test(
        args.base_url, product, auth=auth_from(args), options=options, run=RunDetails(command=_command(args))
    )
    if key is not None:
        statement = sign(statement, key)
    written = write_outputs(statement, args.out, html=args.html, markdown=args.markdown, fhir=args.fhir)
    _summary(statement, written)
    return EXIT_OK if statement.results.verdict == "conformant" else EXIT_INVALID


def auth_from(args: argparse.Namespace) -> Auth:
    if args.auth == "none":
        return NoAuth()
    if args.auth == "bearer":
        return BearerAuth(_secret(args.token_env, "--token-env"))
    if not args.token_url or not args.client_id:
        raise UsageError(f"--auth {args.auth} needs --token-url and --client-id")
    if args.auth == "client-credentials":
        secret = _secret(args.client_secret_env, "--client-secret-env")
        return ClientCredentials(args.token_url, args.client_id, args.scope, client_secret=secret)
    if args.client_key is None:
        raise UsageError("--auth backend-services needs --client-key")
    return BackendServices(
        args.token_url, args.client_id, args.scope, key_path=args.client_key,
        algorithm=args.key_algorithm, key_id=args.key_id,
    )  # fmt: skip


def _secret(variable: str | None, option: str) -> str:
    if not variable:
        raise UsageError(f"give {option} VAR: the name of the environment variable holding the secret")
    value = os.environ.get(variable, "")
    if not value:
        raise UsageError(f"the environment variable {variable} is empty or not set")
    return value


def _command(args: argparse.Namespace) -> str:
    """The reproducing command: options only by name or non-secret value (secrets are in variables)."""
    words = ["conformance", "test-server", args.base_url]
    for option in _RECORDED:
        value = getattr(args, option.lstrip("-").replace("-", "_"), None)
        for item in value if isinstance(value, list) else [value]:
            if item is True:
                words.append(option)
            elif item not in (None, False, ""):
                words.extend((option, str(item)))
    for option, value in (("--token-env", args.token_env), ("--client-secret-env", args.client_secret_env)):
        if value:
            words.extend((option, value))
    return shlex.join(words)


def _summary(statement: Statement, written: list[Path]) -> None:
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    api = statement.results.api
    if api is not None:
        for test in api.tests:
            if test.outcome in ("fail", "error"):
                out.print(f"[red]{test.outcome}[/red] {escape(test.id)}: {escape(test.reason)}")
        counts = ", ".join(f"{count} {outcome}" for outcome, count in api.counts.items())
        out.print(f"API tests: {counts}")
    out.print(f"verdict: {escape(statement.results.verdict)}: {escape(statement.results.reason)}")
    for path in written:
        out.print(f"wrote {escape(str(path))}")
