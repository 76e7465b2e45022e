"""The API's error model: gatewayd's errors (``gatewayd/errors.py``) translated at the edge
into ``{"error": {"code", "message", ...}}`` with an HTTP status, through ONE table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twisted.web.iweb import IRequest
from werkzeug import exceptions as http

from gatewayd.errors import (
    AuthenticationFailed,
    Conflict,
    GatewayError,
    NotFound,
    PermissionDenied,
    PolicyRefused,
    RateLimited,
    Unavailable,
    ValidationError,
    retry_after,
)
from gatewayd.pipeline.submission import InvalidRecipients
from gatewayd.storage.contacts import DuplicateGroup, DuplicateNumber


class FieldError(ValidationError):
    """A request body field or query parameter that is missing or wrong; names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class BadJson(ValidationError):
    """The body is not a JSON object."""


class PayloadTooLarge(GatewayError):
    http_status = 413


class MethodNotAllowed(GatewayError):
    http_status = 405


class Unauthorized(AuthenticationFailed):
    """No API key, or one that is unknown, revoked or of a suspended account."""


#: (error class, stable code); the first class the error is an instance of wins, so a
#: subclass comes before its base. The HTTP status is the error's own ``http_status``.
ERROR_CODES: tuple[tuple[type[GatewayError], str], ...] = (
    (FieldError, "invalid_field"),
    (InvalidRecipients, "invalid_recipients"),
    (BadJson, "invalid_json"),
    (ValidationError, "invalid_request"),
    (Unauthorized, "unauthorized"),
    (AuthenticationFailed, "unauthorized"),
    (PermissionDenied, "forbidden"),
    (NotFound, "not_found"),
    (MethodNotAllowed, "method_not_allowed"),
    (DuplicateNumber, "duplicate_number"),
    (DuplicateGroup, "duplicate_group"),
    (Conflict, "conflict"),
    (PayloadTooLarge, "payload_too_large"),
    (PolicyRefused, "fair_use_refused"),
    (RateLimited, "rate_limited"),
    (Unavailable, "unavailable"),
    (GatewayError, "internal_error"),
)
#: Every code the API can answer, with its usual status and meaning (docs/api.md, OpenAPI).
CODES: dict[str, tuple[int, str]] = {
    "invalid_field": (400, "a field or parameter is missing or wrong: see error.field"),
    "invalid_recipients": (400, "some recipients cannot be accepted: see error.refused"),
    "invalid_json": (400, "the body is not a JSON object"),
    "invalid_request": (400, "the request cannot be accepted as it is"),
    "unauthorized": (401, "no API key, or an unknown or revoked one"),
    "forbidden": (403, "the key may not do this"),
    "not_found": (404, "no such route, or no such object in this account"),
    "method_not_allowed": (405, "the route exists, not with this method"),
    "duplicate_number": (409, "another contact of the book has this number"),
    "duplicate_group": (409, "another group of the account has this name"),
    "conflict": (409, "the object's state does not allow it"),
    "payload_too_large": (413, "the body is larger than the API accepts"),
    "fair_use_refused": (
        429,
        "fair use refused it: 429 (hourly cap, suspension), 403 (monthly limit) or 402 (credit)",
    ),
    "rate_limited": (429, "over the account's messages per second: see Retry-After"),
    "unavailable": (503, "a service the request needs did not answer; try again later"),
    "internal_error": (500, "a fault of ours; it is logged"),
}


@dataclass(frozen=True)
class ApiError:
    status: int
    code: str
    message: str
    extra: dict[str, Any]
    retry_after: bytes | None = None


def translate(error: GatewayError) -> ApiError:
    """The API's answer for one of gatewayd's errors."""
    code = next(c for cls, c in ERROR_CODES if isinstance(error, cls))
    extra: dict[str, Any] = {}
    if isinstance(error, FieldError):
        extra["field"] = error.field
    elif isinstance(error, InvalidRecipients):
        extra["field"] = "to"
        extra["refused"] = [{"number": r.raw, "reason": r.reason} for r in error.refused]
    elif isinstance(error, PolicyRefused):
        extra["rule"] = error.rule
    elif isinstance(error, DuplicateNumber):
        extra["field"] = "msisdn"
        extra["contact_id"] = error.other.id
    wait = None
    if isinstance(error, RateLimited) and error.http_status == 429:
        wait = retry_after(error)
    if isinstance(error, Unavailable):
        message = "temporarily unavailable: try again later"  # never which plugin
    else:
        message = error.message if error.http_status < 500 else "internal error"
    return ApiError(error.http_status, code, message, extra, wait)


def from_werkzeug(error: http.HTTPException) -> GatewayError:
    """Klein's routing errors (no route, wrong method) as ours."""
    if isinstance(error, http.MethodNotAllowed):
        return MethodNotAllowed("this route does not take this method")
    if isinstance(error, http.NotFound):
        return NotFound("no such route")
    return GatewayError(str(error))


def write_error(request: IRequest, error: ApiError) -> bytes:
    if error.retry_after is not None:
        request.setHeader(b"Retry-After", error.retry_after)
    body = {"error": {"code": error.code, "message": error.message, **error.extra}}
    return write_json(request, error.status, body)


def write_json(request: IRequest, status: int, body: Any) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Cache-Control", b"no-store")
    request.setHeader(b"X-Content-Type-Options", b"nosniff")
    return json.dumps(body, separators=(",", ":")).encode()
