"""The FHIR `$validate` operation's request, read into what to validate and against which profiles.

The operation (http://hl7.org/fhir/OperationDefinition/Resource-validate) takes either the resource
itself as the body, or a Parameters resource whose `resource` part holds it and whose `profile` part
names a profile; `profile` may also be a URL parameter. Problems with the *request* (no body, a media
type we do not read, a Parameters body without a resource, a resource of another type than the URL
names) are `RequestError`s answered with 4xx; problems in the *payload* are the validator's issues.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.definitions.typemodel import TypeModel
from conformance.instance import parse, sniff_format
from conformance.reports.runner import sniff_resource_type

JSON_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir", "text/json"})
XML_TYPES = frozenset({"application/fhir+xml", "application/xml", "application/xml+fhir", "text/xml"})
_PROFILE_VALUE_KEYS = ("valueCanonical", "valueUri", "valueUrl", "valueString")


class RequestError(Exception):
    """A request the operation cannot take: answered with `status` and an OperationOutcome."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ValidateRequest:
    """What one `$validate` call asks for."""

    payload: bytes | Mapping[str, Any]
    """The resource as sent (bytes), or the resource taken out of a Parameters body (JSON form)."""
    resource_type: str | None
    profiles: tuple[str, ...]


def media_format(content_type: str | None) -> str | None:
    """`json` or `xml` for a FHIR media type; None when the request did not say (sniff the body)."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES:
        return "json"
    if media in XML_TYPES:
        return "xml"
    raise RequestError(
        415,
        "not-supported",
        f"content type {media!r} is not a FHIR format: send application/fhir+json or application/fhir+xml",
    )


@dataclass(frozen=True)
class Posted:
    """A `$validate` call as it arrived: the body, its media type, the URL's profiles and type."""

    body: bytes
    content_type: str | None = None
    query_profiles: Sequence[str] = ()
    url_type: str | None = None


def read_request(posted: Posted, type_model: TypeModel | None = None) -> ValidateRequest:
    """Read a `$validate` body: the resource itself, or a Parameters resource that carries it."""
    body, content_type, url_type = posted.body, posted.content_type, posted.url_type
    if not body.strip():
        raise RequestError(400, "required", "the request has no body: send the resource to validate")
    text_format = media_format(content_type) or sniff_format(body)
    root_type = sniff_resource_type(body)
    profiles = tuple(posted.query_profiles)
    if root_type == "Parameters" and url_type != "Parameters":
        # Parsed with the project's reader (decimals kept exact), then the resource part is taken out.
        root = parse(body, format=text_format, model=type_model).resource  # type: ignore[arg-type]
        if root is not None:
            return _from_parameters(root, profiles, url_type)
    _check_type(root_type, url_type)
    # The resource is validated from the bytes sent, exactly as the command validates a file.
    return ValidateRequest(body, root_type, profiles)


def _from_parameters(
    parameters: Mapping[str, Any], profiles: tuple[str, ...], url_type: str | None
) -> ValidateRequest:
    parts = [part for part in parameters.get("parameter") or () if isinstance(part, Mapping)]
    resources = [part.get("resource") for part in parts if part.get("name") == "resource"]
    if len(resources) != 1 or not isinstance(resources[0], Mapping):
        raise RequestError(
            400, "required", "a Parameters body needs exactly one 'resource' part holding the resource"
        )
    resource = resources[0]
    resource_type = _resource_type(resource)
    _check_type(resource_type, url_type)
    named = tuple(_profile_value(part) for part in parts if part.get("name") == "profile")
    if any(value is None for value in named):
        raise RequestError(400, "invalid", "a 'profile' part needs a canonical URL value (valueCanonical)")
    return ValidateRequest(resource, resource_type, profiles + tuple(v for v in named if v is not None))


def _profile_value(part: Mapping[str, Any]) -> str | None:
    for key in _PROFILE_VALUE_KEYS:
        value = part.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _resource_type(resource: Any) -> str | None:
    kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
    return kind if isinstance(kind, str) else None


def _check_type(resource_type: str | None, url_type: str | None) -> None:
    if url_type is not None and resource_type is not None and resource_type != url_type:
        raise RequestError(
            400,
            "invalid",
            f"the URL validates a {url_type} but the body is a {resource_type}: "
            f"post it to {resource_type}/$validate or to $validate",
        )
