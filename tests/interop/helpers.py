"""Our SMPP server with a fake pipeline behind it, for peers we did not write to talk to."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure

from gatewayd.config.model import SmppServerConfig
from gatewayd.errors import AuthenticationFailed
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.server import SmppServerFactory
from gatewayd.smpp.simulator import build_receipt, wants_receipt

#: Every wait on a peer is bounded by this many seconds.
DEADLINE = 10.0


def free_port() -> int:
    """A port free on 127.0.0.1 right now, for peers that cannot listen on port 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Waiters:
    """Deferreds that fire once a list reaches a length."""

    def __init__(self, items: list[Any], reactor: Any) -> None:
        self.items = items
        self.reactor = reactor
        self._waiting: list[tuple[int, Deferred[list[Any]]]] = []

    def wait(self, count: int, timeout: float = DEADLINE) -> Deferred[list[Any]]:
        waiter: Deferred[list[Any]] = Deferred()
        self._waiting.append((count, waiter))
        self.check()
        return waiter.addTimeout(timeout, self.reactor)

    def check(self) -> None:
        for entry in list(self._waiting):
            count, waiter = entry
            if len(self.items) >= count:
                self._waiting.remove(entry)
                if not waiter.called:
                    waiter.callback(list(self.items))


class ReceiptingServer:
    """gatewayd's SmppServerFactory on 127.0.0.1 with a test authenticator (any system_id,
    password ``password``) and a fake pipeline: each submission is recorded, answered with
    ``gw-N`` and, when its registered_delivery asks, followed by a DELIVRD receipt sent back
    through ``factory.deliver`` (the outcome of each is recorded in ``receipts``)."""

    def __init__(self, reactor: Any, password: str = "secret") -> None:
        self.reactor = reactor
        self.password = password
        self.binds: list[tuple[str, str]] = []
        self.submitted: list[Pdu] = []
        self.receipts: list[bool | Failure] = []
        self.bound = _Waiters(self.binds, reactor)
        self.submissions = _Waiters(self.submitted, reactor)
        self.receipted = _Waiters(self.receipts, reactor)
        config = SmppServerConfig(system_id="gatewayd", enquire_link_interval=5.0)
        self.factory = SmppServerFactory(config, reactor, self._authenticate, self._submit)
        self._port: Any = None

    def listen(self) -> int:
        self._port = self.reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.port: int = self._port.getHost().port
        return self.port

    def stop(self) -> Deferred[None]:
        stopped: Deferred[None] = self._port.stopListening() or succeed(None)
        return stopped

    def _authenticate(self, system_id: str, password: str, bind_type: str) -> Deferred[str]:
        if password != self.password:
            return fail(AuthenticationFailed("wrong password"))
        self.binds.append((system_id, bind_type))
        self.bound.check()
        return succeed(system_id)

    def _submit(self, principal: str, pdu: Pdu) -> Deferred[str]:
        self.submitted.append(pdu)
        message_id = f"gw-{len(self.submitted)}"
        if wants_receipt(pdu, "DELIVRD"):
            # After this turn, so that the submit_sm_resp is on the wire first.
            self.reactor.callLater(0, self._send_receipt, principal, message_id, pdu)
        self.submissions.check()
        return succeed(message_id)

    def _send_receipt(self, principal: str, message_id: str, pdu: Pdu) -> None:
        receipt = build_receipt(message_id, pdu, "DELIVRD", datetime.now(tz=UTC))

        def record(result: bool | Failure) -> None:
            self.receipts.append(result)
            self.receipted.check()

        self.factory.deliver(principal, *receipt).addBoth(record)
