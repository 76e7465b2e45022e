"""One error model for gatewayd, translated once at each edge.

Domain code raises a :class:`GatewayError` subclass; the SMPP layer turns it into a
``command_status``, the web layer into an HTTP status, the CLI into a one-line message
and a non-zero exit. Anything else that escapes is a bug: the edges log the traceback
and answer ``ESME_RSYSERR`` / HTTP 500.
"""

from __future__ import annotations

import math


class GatewayError(Exception):
    """Base class: carries what every edge needs to report the failure."""

    #: SMPP command_status (ESME_RSYSERR by default).
    smpp_status: int = 0x00000008
    #: HTTP status for the web console and the APIs.
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(GatewayError):
    """A configuration problem; the message names the file, the key path and the reason."""

    def __init__(self, source: str, path: str, reason: str) -> None:
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.path = path
        self.reason = reason


class ValidationError(GatewayError):
    """Bad input from a user or a peer."""

    smpp_status = 0x00000008
    http_status = 400

    def __init__(self, message: str, *, smpp_status: int | None = None) -> None:
        super().__init__(message)
        if smpp_status is not None:
            self.smpp_status = smpp_status


class FieldError(ValidationError):
    """Bad input in a form, told with an English msgid and its values (the console translates
    both), and the HTTP status it deserves (400, 404 or 409)."""

    def __init__(self, msgid: str, http_status: int = 400, **values: object) -> None:
        super().__init__(msgid % values if values else msgid)
        self.msgid = msgid
        self.values = values
        self.http_status = http_status


class NotFound(GatewayError):
    http_status = 404


class PermissionDenied(GatewayError):
    smpp_status = 0x0000000F  # ESME_RINVSYSID is the closest SMPP notion
    http_status = 403


class AuthenticationFailed(GatewayError):
    smpp_status = 0x0000000E  # ESME_RINVPASWD
    http_status = 401


class Unavailable(GatewayError):
    """Something the request needs did not answer (a fail-closed plugin, say): refused for now,
    worth trying again; not a fault of gatewayd's own code."""

    http_status = 503


class RateLimited(GatewayError):
    """Over a messages-per-second limit: try again ``retry_after`` seconds later (SMPP
    ESME_RTHROTTLED, HTTP 429 with Retry-After)."""

    smpp_status = 0x00000058
    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PolicyRefused(RateLimited):
    """Fair use refused the message (``rule``): the status and wait come from the rule."""

    def __init__(
        self,
        message: str,
        rule: str,
        smpp_status: int,
        http_status: int,
        retry_after: float | None,
    ) -> None:
        super().__init__(message, retry_after or 0.0)
        self.rule = rule
        self.smpp_status = smpp_status
        self.http_status = http_status


def retry_after(error: RateLimited) -> bytes:
    """The HTTP Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(error.retry_after))).encode()


class Conflict(GatewayError):
    http_status = 409


class SchemaNotCurrent(GatewayError):
    """The database schema is older (or newer) than this release expects."""
