"""Request bodies over the cap are refused with 413 and never stored, on the console and the API."""

from __future__ import annotations

from typing import Any

import pytest_twisted
import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.resource import Resource

from gatewayd.admin.site import make_site


class _Echo(Resource):
    isLeaf = True
    seen: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.seen = []

    def render_POST(self, request: Any) -> bytes:
        body = request.content.read()
        self.seen.append(len(body))
        return b"got %d" % len(body)


class _Raw(Protocol):
    """Sends a request by hand (a chunked body with no length) and keeps the answer."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.answer = b""
        self.done: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        self.transport.write(self.request)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self.answer += data

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.done.callback(self.answer)


async def _serve(resource: Resource, cap: int) -> tuple[Any, str]:
    port = reactor.listenTCP(0, make_site(resource, cap), interface="127.0.0.1")  # type: ignore[attr-defined]
    return port, f"http://127.0.0.1:{port.getHost().port}"


@pytest_twisted.ensureDeferred
async def test_a_body_over_the_cap_gets_413_and_never_reaches_the_page() -> None:
    echo = _Echo()
    port, base = await _serve(echo, 1000)
    try:
        small = await treq.post(base + "/x", data=b"a" * 1000)
        assert small.code == 200 and await small.text() == "got 1000"
        large = await treq.post(base + "/x", data=b"a" * 1001)
        assert large.code == 413
        assert await large.text() == "request body too large"
        api = await treq.post(base + "/api/v1/messages", data=b"a" * 5000)
        assert api.code == 413
        assert (await api.json())["error"]["code"] == "payload_too_large"
        assert echo.seen == [1000]
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_a_chunked_body_without_a_length_is_cut_at_the_cap() -> None:
    echo = _Echo()
    port, _ = await _serve(echo, 1000)
    try:
        chunk = b"a" * 600
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
        request = (
            b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + body
        )
        client = _Raw(request)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        await connectProtocol(endpoint, client)
        answer = await client.done
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert echo.seen == []
    finally:
        await port.stopListening()
