"""`conformance serve`: the FHIR `$validate` operation over HTTP (needs the `server` extra).

`create_app(ValidationService(...))` is the ASGI application; `conformance serve` runs it with uvicorn.
"""

from conformance.server.operation import Posted, RequestError, ValidateRequest, read_request
from conformance.server.service import ServerLimits, ValidationService

__all__ = ["Posted", "RequestError", "ServerLimits", "ValidateRequest", "ValidationService", "read_request"]
