"""`conformance serve`: the FHIR `$validate` operation over HTTP, with a page to paste payloads into.

Needs the `server` extra (`pip install 'fhir-conformance[server]'`): Starlette and uvicorn. The Context
and Plans are built once, before the server listens, so the first request costs no more than the next.
"""

from __future__ import annotations

import argparse
import socket
import sys

from conformance.cli import EXIT_OK
from conformance.cli.options import positive_count, positive_seconds
from conformance.cli.validate_cmd import add_context_options, context_spec
from conformance.errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the FHIR $validate operation over HTTP (needs the 'server' extra)",
        description="Answer POST [base]/$validate, [base]/{type}/$validate and [base]/{type}/{id}/$validate "
        "with an OperationOutcome holding exactly the issues 'conformance validate' gives; GET "
        "[base]/metadata declares the operation and the loaded packages; GET / is a page to paste a "
        "payload into. Listens on 127.0.0.1 unless --host says otherwise.",
    )
    add_context_options(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free)"
    )
    parser.add_argument(
        "--max-body-bytes", type=positive_count, default=16 * 1024 * 1024, metavar="N",
        help="refuse larger bodies with 413 (default 16 MiB)",
    )  # fmt: skip
    parser.add_argument(
        "--request-seconds", type=positive_seconds, default=60.0, metavar="S",
        help="answer 408 when a request is not answered within S seconds (default 60)",
    )  # fmt: skip
    parser.add_argument(
        "--max-concurrent", type=positive_count, default=8, metavar="N",
        help="requests admitted at once; one more is answered 503 with Retry-After (default 8)",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn  # noqa: PLC0415 -- an optional extra: only this command needs it

        from conformance.server.app import create_app  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(
            f"'conformance serve' needs the server extra: pip install 'fhir-conformance[server]' ({exc.name} "
            "is missing)"
        ) from None
    from conformance.server import ServerLimits, ValidationService  # noqa: PLC0415

    spec = context_spec(args)
    limits = ServerLimits(args.max_body_bytes, args.request_seconds, args.max_concurrent)
    service = ValidationService(spec, spec.build(), limits)
    config = uvicorn.Config(
        create_app(service), host=args.host, port=args.port, log_level="warning", access_log=False
    )
    listener = _listen(args.host, args.port)
    host, port = listener.getsockname()[:2]
    # Tests and scripts read this line for the port when they asked for any free one (--port 0).
    sys.stdout.write(f"conformance serve: listening on http://{host}:{port}/\n")
    sys.stdout.flush()
    uvicorn.Server(config).run(sockets=[listener])
    return EXIT_OK


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listener.listen(128)
    return listener
