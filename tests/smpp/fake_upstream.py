"""A scripted upstream SMSC for connector tests: it accepts binds and holds every submit_sm until
the test answers it, over iosim connections on a MemoryReactorClock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactorClock
from twisted.test.iosim import ConnectionCompleter, IOPump

from gatewayd.config.model import ConnectorConfig
from gatewayd.smpp import pdu as p
from gatewayd.smpp.client import UpstreamConnector
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.session import BIND_TYPES, Role, SmppSession

PORT = 2775


@dataclass
class HeldSubmit:
    pdu: Pdu
    answer: Deferred[Pdu]
    session: ScriptedSession

    @property
    def destination(self) -> bytes:
        return self.pdu.bytes_field("destination_addr")

    def ok(self, message_id: bytes = b"") -> None:
        message_id = message_id or b"id-" + self.destination
        self.answer.callback(p.response_to(self.pdu, p.ESME_ROK, {"message_id": message_id}))

    def refuse(self, status: int) -> None:
        self.answer.callback(p.response_to(self.pdu, status))


class ScriptedSession(SmppSession):
    def __init__(self, smsc: ScriptedSmsc) -> None:
        super().__init__(
            smsc.clock,
            role=Role.SMSC,
            enquire_link_interval=3600.0,
            response_timeout=3600.0,
            max_command_length=65536,
        )
        self.smsc = smsc

    def handle_request(self, pdu: Pdu) -> Deferred[Pdu] | Pdu:
        if pdu.command_id in BIND_TYPES:
            self.smsc.binds.append(pdu)
            return p.response_to(pdu, fields={"system_id": b"smsc"})
        if pdu.command_id == p.SUBMIT_SM:
            held = HeldSubmit(pdu, Deferred(), self)
            self.smsc.held.append(held)
            return held.answer
        return super().handle_request(pdu)


@dataclass(eq=False)
class ScriptedSmsc(Factory):
    clock: MemoryReactorClock
    binds: list[Pdu] = field(default_factory=list)
    held: list[HeldSubmit] = field(default_factory=list)
    pumps: list[IOPump] = field(default_factory=list)

    def buildProtocol(self, addr: IAddress | None) -> ScriptedSession:
        return ScriptedSession(self)

    def connect_all(self) -> int:
        """Complete every pending connection attempt; returns how many."""
        count = 0
        while (pump := ConnectionCompleter(self.clock).succeedOnce()) is not None:
            self.pumps.append(pump)
            count += 1
        self.flush()
        return count

    def flush(self) -> None:
        for pump in self.pumps:
            pump.flush()

    def take(self) -> list[HeldSubmit]:
        """The submits received since the last call (after moving every byte)."""
        self.flush()
        held, self.held = self.held, []
        return held

    def hang_up(self, index: int = 0) -> None:
        """Close the server side of connection ``index`` as an SMSC crash would."""
        self.pumps[index].serverIO.loseConnection()
        self.flush()


def make_connector(
    reactor: MemoryReactorClock, random: Any = lambda: 0.0, **settings: Any
) -> UpstreamConnector:
    config = ConnectorConfig(host="127.0.0.1", port=PORT, system_id="demo", **settings)
    return UpstreamConnector("up", config, reactor, "pw", lambda *a: None, random=random)


def start(reactor: MemoryReactorClock, **settings: Any) -> tuple[UpstreamConnector, ScriptedSmsc]:
    """A started connector, bound on every bind to a fresh ScriptedSmsc."""
    smsc = ScriptedSmsc(reactor)
    reactor.listenTCP(PORT, smsc)
    connector = make_connector(reactor, **settings)
    connector.startService()
    smsc.connect_all()
    assert all(bind.is_bound for bind in connector.binds)
    return connector, smsc
