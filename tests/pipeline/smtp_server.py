"""A real SMTP server on 127.0.0.1 (Twisted's own), keeping what it receives."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from typing import Any

from twisted.internet import defer
from twisted.mail import smtp
from zope.interface import implementer


@implementer(smtp.IMessage)
class _Message:
    def __init__(self, box: list[Message]) -> None:
        self._box = box
        self._lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self._lines.append(line)

    def eomReceived(self) -> defer.Deferred[None]:
        self._box.append(message_from_bytes(b"\n".join(self._lines)))
        return defer.succeed(None)

    def connectionLost(self) -> None:
        self._lines = []


@implementer(smtp.IMessageDelivery)
class _Delivery:
    def __init__(self, box: list[Message]) -> None:
        self.box = box
        self.recipients: list[str] = []

    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
        return b"Received: by the test server"

    def validateFrom(self, helo: Any, origin: Any) -> Any:
        return origin

    def validateTo(self, user: Any) -> Any:
        self.recipients.append(str(user.dest))
        return lambda: _Message(self.box)


class _Factory(smtp.SMTPFactory):
    def __init__(self, delivery: _Delivery) -> None:
        super().__init__()
        self.delivery = delivery

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.delivery = self.delivery
        return protocol


def start(reactor: Any) -> tuple[Any, _Delivery]:
    """Listen on a free port; returns the listening port and the delivery (its ``box``)."""
    delivery = _Delivery([])
    factory = _Factory(delivery)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    return port, delivery
