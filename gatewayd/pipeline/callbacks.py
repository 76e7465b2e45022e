"""HTTP callbacks: receipts and MO POSTed to a customer's web endpoint, signed with its secret.

The pure half (URL check, signature, headers, payloads, back-off) is plain Python that the
outbox, the admin API and the tests share. :class:`CallbackClient` is the one HTTP client; it
sends a single POST and reports the outcome. Persistence and retries belong to the outbox
(:mod:`gatewayd.pipeline.outbox`): a POST that fails is simply tried again later, so the
customer may see the same delivery id more than once (at-least-once). See docs/callbacks.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random as _random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from twisted.internet import error as neterror
from twisted.internet.defer import CancelledError, Deferred, fail, succeed
from twisted.internet.interfaces import IConsumer, IReactorTime
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    HTTPConnectionPool,
    RequestTransmissionFailed,
    ResponseFailed,
    ResponseNeverReceived,
)
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer, IPolicyForHTTPS, IResponse
from zope.interface import implementer

from gatewayd.errors import GatewayError
from gatewayd.pipeline.destinations import (
    DestinationRefused,
    GuardedEndpoints,
    Networks,
    literal_refusal,
)

log = Logger()

MAX_URL_LENGTH = 2000
BODY_LIMIT = 64 * 1024  # of a customer's answer we read (and discard) at most this much
TIMESTAMP_HEADER = "X-Gatewayd-Timestamp"
SIGNATURE_HEADER = "X-Gatewayd-Signature"
DELIVERY_HEADER = "X-Gatewayd-Delivery"


class CallbackFailed(GatewayError):
    """A POST that the customer did not acknowledge with a 2xx: ``status`` is the HTTP status
    it answered, or None when there was no answer (refused, timed out, TLS, DNS...).
    ``permanent``: trying again cannot help (the URL is invalid, or its destination is one
    that callbacks may not reach), so the outbox does not retry it."""

    def __init__(self, reason: str, status: int | None = None, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.permanent = permanent


# --- pure -------------------------------------------------------------------------------------


def validate_callback_url(url: str, allowed: Networks = ()) -> str | None:
    """None when ``url`` can be a callback, else why not (shown to whoever set it). A host
    that is an IP literal must be public or in ``allowed`` (``[callbacks] allowed_networks``);
    a name is accepted here and what it resolves to is checked at each connection
    (:mod:`gatewayd.pipeline.destinations`), since it can resolve differently later."""
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if not url.isascii() or not url.isprintable() or any(c.isspace() for c in url):
        return "must be printable ASCII without spaces (percent-encode it, punycode the host)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as e:
        return f"not a URL: {e}"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    if "@" in parts.netloc:
        # Credentials in a URL end up in logs and in the admin console; the signature is how
        # the customer authenticates us.
        return "must not contain a user name or password"
    return literal_refusal(parts.hostname, allowed)


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>." + body``. The timestamp is signed so
    that a recorded request cannot be replayed later with a fresh timestamp header."""
    mac = hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: bytes, timestamp: int, body: bytes, signature: str, now: float, tolerance: float = 300
) -> bool:
    """What a customer's endpoint should do: refuse a timestamp more than ``tolerance`` seconds
    away from ``now`` (either way), and compare signatures in constant time."""
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).encode("ascii")
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed and sent: compact, sorted keys, ASCII only."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("ascii")


def signed_headers(secret: bytes, timestamp: int, delivery_id: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "gatewayd",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: delivery_id,
    }


def iso_utc(at: float) -> str:
    """``2025-03-01T12:00:05.250Z``: what every JSON library parses."""
    stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
    return stamp.removesuffix("+00:00") + "Z"


def receipt_payload(
    message_id: str,
    status: str,
    error_code: str | None,
    destination: str,
    sender: str,
    at: float,
    parts: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """The final status of one of the customer's messages. ``parts`` (per-part outcomes of a
    long message) is null for a single-part message; every key is always present."""
    return {
        "type": "receipt",
        "message_id": message_id,
        "status": status,
        "error_code": error_code,
        "to": destination,
        "from": sender,
        "at": iso_utc(at),
        "parts": None if parts is None else [dict(p) for p in parts],
    }


def mo_payload(
    mo_id: str, source: str, destination: str, text: str, at: float, udh: dict[str, Any] | None
) -> dict[str, Any]:
    """A message a handset sent to one of the customer's numbers. ``udh`` is set when it is one
    part of a concatenated message ({"ref", "total", "seq"}) so the customer can reassemble."""
    return {
        "type": "mo",
        "mo_id": mo_id,
        "from": source,
        "to": destination,
        "text": text,
        "at": iso_utc(at),
        "udh": None if udh is None else dict(udh),
    }


def backoff(
    attempt: int,
    initial: float = 5.0,
    maximum: float = 3600.0,
    jitter: float = 0.0,
    random: Callable[[], float] = _random.random,
) -> float:
    """Seconds before retry number ``attempt`` (1 = the first retry): initial, doubled each
    time, capped at ``maximum``. ``jitter`` (0 to 1) takes up to that fraction off, so that
    callbacks that failed together do not all come back together, and the cap stays a cap."""
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be between 0 and 1, not {jitter}")
    # The exponent is bounded so that a huge attempt count cannot overflow a float.
    delay = min(initial * 2.0 ** min(max(attempt - 1, 0), 64), maximum)
    return delay * (1.0 - jitter * random())


# --- the client -------------------------------------------------------------------------------


@implementer(IBodyProducer)
class _Body:
    """A request body already in memory (FileBodyProducer would use the global cooperator)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.length = len(data)

    def startProducing(self, consumer: IConsumer) -> Deferred[None]:
        consumer.write(self._data)
        return succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class _Discard(Protocol):
    """Reads a response body into nothing, hanging up past ``limit`` bytes so that a customer
    answering with a huge page cannot hold us. ``done`` fires however the body ends."""

    def __init__(self, limit: int) -> None:
        self._left = limit
        self.done: Deferred[None] = Deferred(lambda _: self._hang_up())

    def dataReceived(self, data: bytes) -> None:
        self._left -= len(data)
        if self._left < 0:
            self._hang_up()

    def _hang_up(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if not self.done.called:
            self.done.callback(None)


# Failures that mean "the customer's endpoint is unreachable or broken", as opposed to a bug.
_NETWORK_ERRORS = (
    neterror.ConnectError,
    neterror.DNSLookupError,
    neterror.ConnectionClosed,
    CancelledError,
    ResponseFailed,  # and the two below wrap the failures of a connection, TLS included
    ResponseNeverReceived,
    RequestTransmissionFailed,
)


def _describe(failure: Failure) -> str:
    """A one-line reason for the outbox log and the console. It never holds the secret, nor
    the URL's path and query (a customer may put a token there); a DNS error names the host."""
    reasons = getattr(failure.value, "reasons", None)  # ResponseFailed and its kin wrap others
    if reasons and isinstance(reasons[0], Failure):
        inner = reasons[0]
        return f"{type(failure.value).__name__}: {_describe(inner)}"
    return f"{type(failure.value).__name__}: {failure.getErrorMessage()}"


class CallbackClient:
    """POSTs one signed JSON document and tells whether the customer took it (a 2xx).

    ``reactor`` must provide IReactorTime, IReactorTCP and IReactorPluggableNameResolver; its
    ``callLater`` drives the timeout, which covers resolving, connecting, sending and reading
    the answer. Connections are kept alive between POSTs to the same endpoint. Every new
    connection goes through :class:`GuardedEndpoints`: the host's addresses are checked and
    the connection is made to a checked address, so only public addresses and ``allowed``
    networks are reached; ``tls_policy`` (tests) replaces the Agent's usual certificate check.
    """

    def __init__(
        self,
        reactor: IReactorTime,
        timeout: float = 10.0,
        *,
        allowed: Networks = (),
        tls_policy: IPolicyForHTTPS | None = None,
    ) -> None:
        self._reactor = reactor
        self._timeout = timeout
        self._allowed = allowed
        self._pool = HTTPConnectionPool(reactor, persistent=True)
        endpoints = GuardedEndpoints(reactor, allowed, tls_policy)
        self._agent = Agent.usingEndpointFactory(reactor, endpoints, pool=self._pool)

    def post(
        self, url: str, secret: bytes, delivery_id: str, payload: Mapping[str, Any]
    ) -> Deferred[int]:
        """Fires with the HTTP status on a 2xx; fails with :class:`CallbackFailed` otherwise."""
        invalid = validate_callback_url(url, self._allowed)
        if invalid is not None:
            return fail(CallbackFailed(f"invalid callback URL: {invalid}", permanent=True))
        body = encode_payload(payload)
        timestamp = int(self._reactor.seconds())
        headers = Headers(
            {k: [v] for k, v in signed_headers(secret, timestamp, delivery_id, body).items()}
        )
        d: Deferred[Any] = self._agent.request(b"POST", url.encode("ascii"), headers, _Body(body))
        d.addCallback(lambda response: Deferred.fromCoroutine(self._answered(response)))
        d.addErrback(self._failed)
        d.addTimeout(self._timeout, self._reactor, onTimeoutCancel=self._timed_out)
        return d

    def close(self) -> Deferred[None]:
        """Closes the idle kept-alive connections, at shutdown. POSTs in flight are not
        interrupted (their timeout still holds), so stop sending before closing."""
        closing: Deferred[None] = self._pool.closeCachedConnections()
        return closing

    async def _answered(self, response: IResponse) -> int:
        code: int = response.code
        discard = _Discard(BODY_LIMIT)
        response.deliverBody(discard)
        await discard.done
        if 200 <= code < 300:
            return code
        # The phrase is the customer's text and goes to our log: printable, and short.
        phrase = bytes(response.phrase).decode("ascii", "replace")[:80]
        phrase = "".join(c if c.isprintable() else "?" for c in phrase)
        raise CallbackFailed(f"HTTP {code} {phrase}".rstrip(), code)

    def _failed(self, failure: Failure) -> Failure:
        if failure.check(CallbackFailed):
            return failure
        if failure.check(DestinationRefused):
            return Failure(CallbackFailed(failure.getErrorMessage(), permanent=True))
        if not failure.check(*_NETWORK_ERRORS):
            log.failure("unexpected error in an HTTP callback", failure)
        return Failure(CallbackFailed(_describe(failure)))

    def _timed_out(self, result: object, timeout: float) -> Failure:
        return Failure(CallbackFailed(f"no answer within {timeout:g} s"))
