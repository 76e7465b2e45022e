"""An in-memory gateway behind the SMPP server: accounts, a message queue and a bind policy.

It implements the server's seams (Authenticator, MessageService, BindPolicy) the way the real
stores will, so server tests read like a customer's session against a tiny gateway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from gatewayd.errors import AuthenticationFailed, GatewayError, ValidationError
from gatewayd.smpp import pdu as p
from gatewayd.smpp.operations import (
    Address,
    CancelRequest,
    CannotCancel,
    CannotReplace,
    QueryResult,
    ReplaceRequest,
    UnknownMessage,
)
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.server import BindLimits, SmscSession
from gatewayd.smpp.session import Role, SmppSession
from tests.smpp.helpers import FakeESME

ENROUTE, DELIVERED = 1, 2


@dataclass
class Message:
    principal: str
    pdu: Pdu
    state: int = ENROUTE
    final_date: datetime | None = None

    @property
    def source(self) -> str:
        return self.pdu.bytes_field("source_addr").decode()


@dataclass
class FakeGateway:
    """Accounts acme/s3cret and other/0ther. Submissions to "0" fail with ESME_RINVDSTADR;
    ``hold`` keeps submissions pending until :meth:`release`."""

    passwords: dict[str, str] = field(default_factory=lambda: {"acme": "s3cret", "other": "0ther"})
    limits: dict[str, BindLimits] = field(default_factory=dict)
    binds: list[tuple[str, str, str]] = field(default_factory=list)
    messages: dict[str, Message] = field(default_factory=dict)
    hold: bool = False
    held: list[Deferred[str]] = field(default_factory=list)

    # --- Authenticator and BindPolicy ---------------------------------------------------------

    def authenticate(self, system_id: str, password: str, bind_type: str) -> Deferred[str]:
        self.binds.append((system_id, password, bind_type))
        if system_id == "buggy":
            return fail(RuntimeError("database exploded"))
        if self.passwords.get(system_id) != password:
            return fail(AuthenticationFailed("bad password"))
        return succeed(f"account:{system_id}")

    def limits_for(self, principal: str) -> BindLimits:
        return self.limits.get(principal, BindLimits())

    # --- MessageService ------------------------------------------------------------------------

    def submit(self, principal: str, pdu: Pdu) -> Deferred[str]:
        if pdu.bytes_field("destination_addr") == b"0":
            return fail(ValidationError("bad number", smpp_status=p.ESME_RINVDSTADR))
        if pdu.bytes_field("destination_addr") == b"bug":
            return fail(RuntimeError("store exploded"))
        message_id = f"gw-{len(self.messages) + 1}"
        self.messages[message_id] = Message(principal, pdu)
        if not self.hold:
            return succeed(message_id)
        waiting: Deferred[str] = Deferred()
        self.held.append(waiting)
        return waiting.addCallback(lambda _: message_id)

    def release(self) -> None:
        held, self.held = self.held, []
        for waiting in held:
            waiting.callback("")

    def query(self, principal: str, message_id: str, source: Address) -> Deferred[QueryResult]:
        try:
            message = self._own(principal, message_id, source.addr)
        except GatewayError:
            return fail()
        return succeed(QueryResult(message.state, message.final_date))

    def cancel(self, principal: str, request: CancelRequest) -> Deferred[None]:
        try:
            self._queued(principal, request.message_id, request.source.addr, CannotCancel)
        except GatewayError:
            return fail()
        del self.messages[request.message_id]
        return succeed(None)

    def replace(self, principal: str, request: ReplaceRequest) -> Deferred[None]:
        try:
            message = self._queued(
                principal, request.message_id, request.source.addr, CannotReplace
            )
        except GatewayError:
            return fail()
        fields = {**message.pdu.fields, "short_message": request.short_message}
        message.pdu = Pdu(message.pdu.command_id, p.ESME_ROK, message.pdu.sequence, fields)
        return succeed(None)

    def deliver_all(self) -> None:
        """Every queued message reaches its final state."""
        for message in self.messages.values():
            message.state = DELIVERED
            message.final_date = datetime(2026, 11, 23, 9, 30, 15, tzinfo=UTC)

    def _own(self, principal: str, message_id: str, source: str) -> Message:
        message = self.messages.get(message_id)
        if message is None or message.principal != principal or message.source != source:
            raise UnknownMessage(f"no message {message_id!r}")
        return message

    def _queued(
        self, principal: str, message_id: str, source: str, refusal: type[GatewayError]
    ) -> Message:
        message = self._own(principal, message_id, source)
        if message.state != ENROUTE:
            raise refusal(f"{message_id} is no longer queued")
        return message


class Limits:
    """A BindPolicy reading the gateway's per-account limits."""

    def __init__(self, gateway: FakeGateway) -> None:
        self.gateway = gateway

    def limits(self, principal: str) -> BindLimits:
        return self.gateway.limits_for(principal)


class RemoteESME(FakeESME):
    """A FakeESME connecting from ``host`` (an IPv4 or IPv6 address)."""

    def __init__(self, session: SmscSession[str], host: str = "192.0.2.10") -> None:
        kind = IPv6Address if ":" in host else IPv4Address
        self.session = session
        self.transport = StringTransport(peerAddress=kind("TCP", host, 40000))
        self._sequence = 1000
        session.makeConnection(self.transport)


class ClientESME(SmppSession):
    """An ESME for real-socket tests; ``ready`` and ``lost`` fire as the connection does."""

    def __init__(self, clock: IReactorTime, response_timeout: float) -> None:
        super().__init__(
            clock,
            role=Role.ESME,
            enquire_link_interval=30.0,
            response_timeout=response_timeout,
            max_command_length=65536,
        )
        self.ready: Deferred[None] = Deferred()
        self.lost: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.ready.callback(None)

    def on_closed(self, reason: Failure) -> None:
        self.lost.callback(None)
