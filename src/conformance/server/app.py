"""The ASGI application: `$validate` at the base, per type and per instance; `metadata`; a page at `/`.

Every answer that is not the page is FHIR JSON. Problems with a request (too large, too slow, too many
at once, not FHIR, not found) are answered with an OperationOutcome and the fitting status, so a client
always reads one kind of document.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from conformance.server.capability import capability_statement
from conformance.server.operation import Posted, RequestError
from conformance.server.service import Admission, Busy, TooSlow, ValidationService

FHIR_JSON = "application/fhir+json; charset=utf-8"
_RETRY_AFTER_SECONDS = "1"


def fhir_response(
    document: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def problem(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """An OperationOutcome with one error issue: how every refused request is answered."""
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "details": {"text": message}}],
    }
    return fhir_response(outcome, status, headers)


class TooLarge(Exception):
    """The body is larger than the server takes."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to be over `limit` bytes (header or bytes received)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(service: ValidationService) -> Starlette:
    """The server's application around one ValidationService (built once, at start)."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    metadata = capability_statement(service.context, started)
    page = resources.files("conformance.server").joinpath("page.html").read_text(encoding="utf-8")

    async def validate(request: Request) -> Response:
        try:
            with service.admission() as admission:
                return await _validate(request, service, admission)
        except Busy:
            return problem(
                503,
                "transient",
                f"the server is validating {service.limits.max_concurrent} requests already: try again",
                {"Retry-After": _RETRY_AFTER_SECONDS},
            )

    async def show_metadata(_: Request) -> Response:
        return fhir_response(metadata)

    async def show_page(_: Request) -> Response:
        return HTMLResponse(page)

    routes = [
        Route("/", show_page, methods=["GET"]),
        Route("/metadata", show_metadata, methods=["GET"]),
        Route("/$validate", validate, methods=["POST"]),
        Route("/{type:str}/$validate", validate, methods=["POST"]),
        Route("/{type:str}/{id:str}/$validate", validate, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_problem},  # type: ignore[dict-item]
        lifespan=_closing(service),
    )
    return app


def _closing(service: ValidationService) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            service.close()

    return lifespan


async def _validate(request: Request, service: ValidationService, admission: Admission) -> Response:
    limits = service.limits
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.request_seconds
    try:
        async with asyncio.timeout_at(deadline):
            body = await read_body(request, limits.max_body_bytes)
        posted = Posted(
            body,
            request.headers.get("content-type"),
            query_profiles=tuple(request.query_params.getlist("profile")),
            url_type=request.path_params.get("type"),
        )
        outcome = await service.validate(posted, admission, max(deadline - loop.time(), 0.001))
    except TooLarge:
        return problem(413, "too-costly", f"the body is larger than {limits.max_body_bytes} bytes")
    except (TimeoutError, TooSlow):
        return problem(408, "timeout", f"the request was not answered within {limits.request_seconds:g} s")
    except RequestError as exc:
        return problem(exc.status, exc.code, exc.message)
    return fhir_response(outcome.to_operation_outcome())


async def _http_problem(_: Request, exc: HTTPException) -> Response:
    code = "not-found" if exc.status_code == 404 else "not-supported"
    detail = {404: "no such endpoint: POST [base]/$validate, [base]/{type}/$validate, GET [base]/metadata"}
    return problem(exc.status_code, code, detail.get(exc.status_code, str(exc.detail)))
