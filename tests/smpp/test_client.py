"""UpstreamConnector against the simulator over an in-memory loopback: a MemoryReactorClock is
both the connector's reactor and the clock, and iosim pumps the bytes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import CertificateOptions
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs, formatEvent
from twisted.test.iosim import ConnectionCompleter, IOPump

from gatewayd.config.model import ConnectorConfig, SmppServerConfig
from gatewayd.errors import AuthenticationFailed, GatewayError
from gatewayd.smpp import pdu as p
from gatewayd.smpp.bind import read_ca_file, tls_options
from gatewayd.smpp.client import ConnectorUnavailable, UpstreamConnector
from gatewayd.smpp.pdu import Pdu, PduReader
from gatewayd.smpp.receipts import ReceiptError, parse_receipt
from gatewayd.smpp.server import SmppServerFactory, SmscSession
from gatewayd.smpp.session import CommandFailed, SessionState
from gatewayd.smpp.simulator import SimulatorFactory
from tests.smpp.certificates import make_certificate
from tests.smpp.fake_upstream import ScriptedSmsc, make_connector, start
from tests.smpp.helpers import failure_of, result_of, submit_fields

PORT = 2775


@dataclass
class Deliveries:
    pdus: list[Pdu] = field(default_factory=list)
    fail_next: BaseException | None = None

    def __call__(self, connector: UpstreamConnector, pdu: Pdu) -> Deferred[None] | None:
        assert connector.name == "upstream-a"
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            return fail(error)
        self.pdus.append(pdu)
        return None


@pytest.fixture
def reactor() -> MemoryReactorClock:
    return MemoryReactorClock()


@pytest.fixture
def simulator(reactor: MemoryReactorClock) -> Iterator[SimulatorFactory]:
    factory = SimulatorFactory(reactor, delivery_delay=1.0, receipt_status="DELIVRD")
    reactor.listenTCP(PORT, factory)
    yield factory
    factory.stop()


def _connector(
    reactor: MemoryReactorClock, deliveries: Deliveries, bind: str = "transceiver"
) -> UpstreamConnector:
    config = ConnectorConfig(
        host="127.0.0.1", port=PORT, system_id="demo", bind=bind,  # type: ignore[arg-type]
        reconnect_max_delay=10.0,
    )  # fmt: skip
    return UpstreamConnector("upstream-a", config, reactor, "pw", deliveries)


def _complete(reactor: MemoryReactorClock) -> IOPump:
    pump = ConnectionCompleter(reactor).succeedOnce()
    assert pump is not None, "no connection attempt"
    pump.flush()
    return pump


def test_binds_submits_and_receives_the_receipt(
    reactor: MemoryReactorClock, simulator: SimulatorFactory
) -> None:
    deliveries = Deliveries()
    connector = _connector(reactor, deliveries)
    connector.startService()
    assert not connector.is_bound
    pump = _complete(reactor)
    assert connector.is_bound
    assert [s.state for s in simulator.sessions("demo")] == [SessionState.BOUND_TRX]

    sent = connector.submit(submit_fields(registered_delivery=1))
    pump.flush()
    message_id = result_of(sent)
    assert len(message_id) == 16 and int(message_id, 16) >= 0

    reactor.advance(1.0)
    pump.flush()
    [receipt] = deliveries.pdus
    assert parse_receipt(receipt).message_id == message_id
    assert parse_receipt(receipt).stat == "DELIVRD"
    assert simulator.waiting("demo") == 0  # answered ESME_ROK


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RuntimeError("store is down"), p.ESME_RX_T_APPN),
        (GatewayError("database busy"), p.ESME_RX_T_APPN),
        (ReceiptError("garbage"), p.ESME_RX_P_APPN),
    ],
)
def test_failed_on_deliver_answers_a_receiver_error(
    reactor: MemoryReactorClock, error: BaseException, status: int
) -> None:
    server = SmppServerFactory(
        SmppServerConfig(), reactor, lambda *a: succeed("demo"), lambda *a: succeed("x")
    )
    reactor.listenTCP(PORT, server)
    connector = _connector(reactor, Deliveries(fail_next=error))
    connector.startService()
    pump = _complete(reactor)
    delivered = server.deliver("demo", submit_fields())
    pump.flush()
    assert failure_of(delivered, CommandFailed).value.smpp_status == status


def test_failed_on_deliver_makes_the_simulator_retry(
    reactor: MemoryReactorClock, simulator: SimulatorFactory
) -> None:
    deliveries = Deliveries(fail_next=RuntimeError("store is down"))
    connector = _connector(reactor, deliveries)
    connector.startService()
    pump = _complete(reactor)
    connector.submit(submit_fields(registered_delivery=1))
    pump.flush()
    reactor.advance(1.0)
    pump.flush()
    assert deliveries.pdus == []
    assert simulator.waiting("demo") == 1  # the simulator saw ESME_RX_T_APPN and kept it


def test_submit_fails_when_not_bound(
    reactor: MemoryReactorClock, simulator: SimulatorFactory
) -> None:
    connector = _connector(reactor, Deliveries())
    failure = failure_of(connector.submit(submit_fields()), ConnectorUnavailable)
    assert "upstream-a" in str(failure.value)
    connector.startService()
    _complete(reactor)
    receiver_only = _connector(reactor, Deliveries(), bind="receiver")
    receiver_only.startService()
    _complete(reactor)
    assert receiver_only.is_bound
    failure_of(receiver_only.submit(submit_fields()), ConnectorUnavailable)


def test_failed_bind_closes_and_retries_with_backoff(reactor: MemoryReactorClock) -> None:
    attempts: list[str] = []

    def authenticate(system_id: str, password: str, bind_type: str) -> Deferred[str]:
        attempts.append(bind_type)
        if len(attempts) == 1:
            return fail(AuthenticationFailed("not yet"))
        return succeed(system_id)

    server = SmppServerFactory(
        SmppServerConfig(), reactor, authenticate, lambda who, pdu: succeed("x")
    )
    reactor.listenTCP(PORT, server)
    connector = _connector(reactor, Deliveries())
    with capturedLogs() as events:
        connector.startService()
        first = _complete(reactor)
        assert not connector.is_bound
        assert first.clientIO.disconnected  # closed by us after the refusal
        assert reactor.tcpClients == []
        reactor.advance(10.0)  # past the back-off
        _complete(reactor)
    assert attempts == ["transceiver", "transceiver"]
    assert connector.is_bound
    messages = [formatEvent(event) for event in events]
    assert any("upstream-a" in m and "bind failed" in m for m in messages), messages
    assert any("upstream-a" in m and "bound as transceiver" in m for m in messages), messages


def test_smsc_closing_during_bind_is_retried(reactor: MemoryReactorClock) -> None:
    class Hangup(SmppServerFactory[str]):
        def buildProtocol(self, addr: IAddress | None) -> SmscSession[str]:
            session = super().buildProtocol(addr)
            session.handle_request = lambda pdu: session.transport.loseConnection()  # type: ignore
            return session

    server = Hangup(SmppServerConfig(), reactor, lambda *a: succeed("x"), lambda *a: succeed("x"))
    reactor.listenTCP(PORT, server)
    connector = _connector(reactor, Deliveries())
    connector.startService()
    first = _complete(reactor)
    assert first.clientIO.disconnected and not connector.is_bound
    reactor.advance(10.0)
    assert len(reactor.tcpClients) == 1  # ClientService tried again


def test_reconnects_after_connection_loss(
    reactor: MemoryReactorClock, simulator: SimulatorFactory
) -> None:
    connector = _connector(reactor, Deliveries())
    connector.startService()
    pump = _complete(reactor)
    [session] = simulator.sessions("demo")
    with capturedLogs() as events:
        session.transport.loseConnection()  # type: ignore[union-attr]
        pump.flush()
    assert not connector.is_bound
    assert any("reconnecting" in formatEvent(e) for e in events)
    reactor.advance(10.0)
    _complete(reactor)
    assert connector.is_bound


def test_stop_service_unbinds_then_stops(
    reactor: MemoryReactorClock, simulator: SimulatorFactory
) -> None:
    connector = _connector(reactor, Deliveries())
    connector.startService()
    pump = _complete(reactor)
    [session] = simulator.sessions("demo")
    stopped = connector.stopService()
    pump.flush()
    assert result_of(stopped) is None
    assert session.state is SessionState.CLOSED
    assert simulator.sessions("demo") == []
    assert not connector.is_bound
    reactor.advance(100.0)
    assert reactor.tcpClients == []  # no reconnection after stop


def test_stop_service_gives_up_on_a_silent_smsc(reactor: MemoryReactorClock) -> None:
    silent = SmppServerFactory(
        SmppServerConfig(), reactor, lambda *a: succeed("x"), lambda who, pdu: succeed("x")
    )
    reactor.listenTCP(PORT, silent)
    connector = _connector(reactor, Deliveries())
    connector.startService()
    pump = _complete(reactor)
    stopped = connector.stopService()  # the unbind goes out but nobody pumps the answer back
    reactor.advance(connector.config.response_timeout)
    pump.flush()
    assert result_of(stopped) is None
    assert pump.clientIO.disconnected


def test_enquire_link_keeps_the_link_up(
    reactor: MemoryReactorClock, simulator: SimulatorFactory
) -> None:
    connector = _connector(reactor, Deliveries())
    connector.startService()
    pump = _complete(reactor)
    for _ in range(3):
        reactor.advance(connector.config.enquire_link_interval)
        sent = PduReader(1 << 16).feed(pump.clientIO.getOutBuffer())
        assert [p.decode(frame).command_id for frame in sent] == [p.ENQUIRE_LINK]
        pump.serverIO.bufferReceived(b"".join(sent))
        pump.flush()
    reactor.advance(connector.config.response_timeout)
    assert connector.is_bound and not pump.clientIO.disconnected


def test_stop_service_while_the_bind_is_unanswered(reactor: MemoryReactorClock) -> None:
    reactor.listenTCP(PORT, Factory.forProtocol(Protocol))  # accepts, never answers
    connector = _connector(reactor, Deliveries())
    connector.startService()
    pump = _complete(reactor)
    assert not connector.is_bound
    stopped = connector.stopService()
    pump.flush()
    assert result_of(stopped) is None
    assert pump.clientIO.disconnected
    reactor.advance(100.0)
    assert reactor.tcpClients == []


def test_bind_timeout_is_retried(reactor: MemoryReactorClock) -> None:
    reactor.listenTCP(PORT, Factory.forProtocol(Protocol))
    connector = _connector(reactor, Deliveries())
    connector.startService()
    pump = _complete(reactor)
    reactor.advance(connector.config.response_timeout)
    pump.flush()
    assert pump.clientIO.disconnected and not connector.is_bound
    reactor.advance(10.0)
    assert len(reactor.tcpClients) == 1


# ---- bind settings, back-off, dead links, status (issue 3) ----------------------------------


def test_bind_carries_the_configured_identity(reactor: MemoryReactorClock) -> None:
    settings = {"system_type": "vma", "address_range": "^336", "interface_version": 0x33}
    _, smsc = start(reactor, bind="transmitter", **settings)
    [bind] = smsc.binds
    assert bind.command_id == p.BIND_TRANSMITTER
    assert bind.fields["system_type"] == b"vma"
    assert bind.fields["address_range"] == b"^336"
    assert bind.fields["interface_version"] == 0x33


def test_bind_timeout_is_its_own_setting(reactor: MemoryReactorClock) -> None:
    reactor.listenTCP(PORT, Factory.forProtocol(Protocol))  # accepts, never answers
    connector = make_connector(reactor, bind_timeout=5.0, response_timeout=30.0)
    connector.startService()
    pump = _complete(reactor)
    assert connector.status().binds[0].state == "binding"
    reactor.advance(4.9)
    assert not pump.clientIO.disconnected
    reactor.advance(0.1)
    pump.flush()
    assert pump.clientIO.disconnected
    assert "bind failed" in (connector.status().binds[0].last_error or "")


def _reconnect_delays(reactor: MemoryReactorClock, count: int) -> list[float]:
    """Fail ``count`` connection attempts in a row; the delays ClientService chose."""
    with capturedLogs() as events:
        for _ in range(count):
            ConnectionCompleter(reactor).failOnce()
            while not reactor.tcpClients:  # HostnameEndpoint reports the failure after 0.3 s
                reactor.advance(0.05)
    return [event["delay"] for event in events if "delay" in event and "attempt" in event]


def test_reconnect_back_off_doubles_with_jitter_up_to_the_cap(
    reactor: MemoryReactorClock,
) -> None:
    connector = make_connector(
        reactor, random=lambda: 0.5, reconnect_initial_delay=1.0, reconnect_max_delay=4.0
    )
    connector.startService()
    # Jitter 0.5 waits three quarters of 1, 2, 4, 4... seconds.
    assert _reconnect_delays(reactor, 5) == [0.75, 1.5, 3.0, 3.0, 3.0]
    status = connector.status().binds[0]
    assert status.state == "connecting" and "connect failed" in (status.last_error or "")


def test_jitter_spreads_binds_that_fail_together(reactor: MemoryReactorClock) -> None:
    draws = iter([0.0, 0.9])
    connector = make_connector(reactor, random=lambda: next(draws), binds=2)
    connector.startService()
    with capturedLogs() as events:
        ConnectionCompleter(reactor).failOnce()
        ConnectionCompleter(reactor).failOnce()
        reactor.advance(0.3)
    delays = sorted(event["delay"] for event in events if "delay" in event)
    assert delays == [0.5, pytest.approx(0.95)]


def test_an_unanswered_enquire_link_closes_the_link_and_it_rebinds(
    reactor: MemoryReactorClock,
) -> None:
    connector, smsc = start(reactor, enquire_link_interval=10.0, response_timeout=5.0)
    reactor.advance(10.0)  # the enquire_link is written but never reaches the SMSC
    reactor.advance(5.0)
    smsc.flush()
    assert not connector.is_bound
    assert connector.status().binds[0].state == "disconnected"
    reactor.advance(1.0)
    smsc.connect_all()
    assert connector.is_bound and len(smsc.binds) == 2


def test_stop_sends_unbind_before_closing(reactor: MemoryReactorClock) -> None:
    connector, smsc = start(reactor)
    stopped = connector.stopService()
    [pump] = smsc.pumps
    written = PduReader(1 << 16).feed(pump.clientIO.getOutBuffer())
    assert [p.decode(frame).command_id for frame in written] == [p.UNBIND]
    assert not pump.clientIO.disconnected  # waits for the unbind_resp
    pump.serverIO.bufferReceived(b"".join(written))
    smsc.flush()
    assert result_of(stopped) is None and pump.clientIO.disconnected


def test_status_follows_the_bind(reactor: MemoryReactorClock) -> None:
    smsc = ScriptedSmsc(reactor)
    reactor.listenTCP(PORT, smsc)
    connector = make_connector(reactor)
    assert connector.status().binds[0].state == "stopped"
    reactor.advance(3.0)
    connector.startService()
    assert connector.status().binds[0].state == "connecting"
    reactor.advance(2.0)
    smsc.connect_all()
    status = connector.status()
    assert status.name == "up" and status.tps_limit == 0.0 and not status.throttled
    [bind] = status.binds
    assert (bind.state, bind.since, bind.window_used, bind.window_size) == ("bound_trx", 5.0, 0, 10)
    assert bind.last_error is None and bind.tps == 0.0
    connector.submit(submit_fields())
    smsc.take()[0].ok()
    smsc.flush()
    assert connector.status().binds[0].tps == pytest.approx(1 / 0.1)  # one, over 0.1 s at least


def test_tls_options_verify_the_server_name(tmp_path: Path) -> None:
    base = ConnectorConfig(host="smsc.example.net", system_id="demo", tls=True)
    checked = tls_options(base)
    assert checked._hostnameASCII == "smsc.example.net"  # type: ignore[attr-defined]
    named = tls_options(replace(base, tls_server_name="tls.example.net"))
    assert named._hostnameASCII == "tls.example.net"  # type: ignore[attr-defined]
    unchecked = tls_options(replace(base, tls_verify=False))
    assert isinstance(unchecked, CertificateOptions) and not unchecked.verify


def test_ca_file_may_hold_a_bundle(tmp_path: Path) -> None:
    first, second = (make_certificate(tmp_path, name)[0] for name in ("one", "two"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(first.read_bytes() + b"\n" + second.read_bytes())
    subjects = [c.getSubject().commonName for c in read_ca_file(str(bundle))]
    assert subjects == [b"one", b"two"]
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here")
    with pytest.raises(ValueError, match="no PEM certificate"):
        read_ca_file(str(empty))
