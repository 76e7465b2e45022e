"""The SMPP server against hostile or broken peers: oversized and malformed PDUs, slow senders,
random garbage. In memory with a Clock where that proves the point; over real TCP on 127.0.0.1
where the reactor itself is part of the claim."""

from __future__ import annotations

import gc
import random
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.python.failure import Failure
from zope.interface import provider

from gatewayd.config.model import SmppServerConfig
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import HEADER, Pdu, PduReader, SmeAddress
from gatewayd.smpp.server import SmppServerFactory
from gatewayd.smpp.session import SessionState
from tests.smpp.fakes import ClientESME, FakeGateway, RemoteESME
from tests.smpp.helpers import submit_fields

CONFIG = SmppServerConfig(
    bind_timeout=5.0,
    enquire_link_interval=30.0,
    response_timeout=10.0,
    max_command_length=4096,
)
#: Bounds each wait on the real reactor, so a broken server fails the test instead of hanging.
SOCKET_TIMEOUT = 10.0


@pytest.fixture
def logged_failures() -> Iterator[list[LogEvent]]:
    """Every logged traceback (log.failure, unhandled errors in Deferreds) during the test."""
    failures: list[LogEvent] = []

    @provider(ILogObserver)
    def observe(event: LogEvent) -> None:
        if "log_failure" in event:
            failures.append(event)

    globalLogPublisher.addObserver(observe)
    yield failures
    gc.collect()  # unhandled errors in Deferreds are only logged when collected
    globalLogPublisher.removeObserver(observe)


def _server(clock: Any) -> tuple[SmppServerFactory[str], FakeGateway]:
    gateway = FakeGateway()
    return SmppServerFactory(CONFIG, clock, gateway.authenticate, gateway), gateway


def _bound(factory: SmppServerFactory[str], host: str = "192.0.2.1") -> RemoteESME:
    esme = RemoteESME(factory.buildProtocol(None), host)
    assert esme.bind().status == p.ESME_ROK
    return esme


def _still_serves(esme: RemoteESME) -> None:
    esme.request(p.ENQUIRE_LINK)
    assert esme.one().command_id == p.ENQUIRE_LINK_RESP
    response = esme.submit()
    assert (response.command_id, response.status) == (p.SUBMIT_SM_RESP, p.ESME_ROK)


# --- oversized command_length -----------------------------------------------------------------


def test_a_huge_command_length_is_refused_before_anything_is_buffered(clock: Clock) -> None:
    factory, _ = _server(clock)
    esme = RemoteESME(factory.buildProtocol(None))
    esme.session.dataReceived(HEADER.pack(0x7FFFFFFF, p.SUBMIT_SM, 0, 42) + b"x" * 1000)
    nack = esme.one()
    assert (nack.command_id, nack.status, nack.sequence) == (p.GENERIC_NACK, p.ESME_RINVCMDLEN, 42)
    assert esme.closing
    esme.session.dataReceived(b"y" * 100_000)
    assert esme.session._reader.buffered == 0
    assert esme.received() == []


class _RawPeer(Protocol):
    """Writes bytes and records what comes back until the server closes the connection."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.lost: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.lost.callback(None)

    def pdus(self) -> list[Pdu]:
        return [p.decode(frame) for frame in PduReader(1 << 20).feed(bytes(self.data))]


def _listen(factory: SmppServerFactory[str]) -> Any:
    return reactor.listenTCP(0, factory, interface="127.0.0.1")


def _connect(port: Any, peer: Protocol) -> Deferred[Any]:
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    return connectProtocol(endpoint, peer).addTimeout(SOCKET_TIMEOUT, reactor)


@pytest_twisted.inlineCallbacks
def test_a_huge_command_length_over_tcp_gets_a_nack_and_a_close() -> Generator[
    Deferred[Any], Any, None
]:
    factory, _ = _server(reactor)
    port = _listen(factory)
    peer = _RawPeer()
    try:
        yield _connect(port, peer)
        assert peer.transport is not None
        peer.transport.write(HEADER.pack(0xFFFFFFF0, p.BIND_TRANSMITTER, 0, 7) + b"z" * 65536)
        yield peer.lost.addTimeout(SOCKET_TIMEOUT, reactor)
    finally:
        yield port.stopListening()
    assert [(pdu.command_id, pdu.status, pdu.sequence) for pdu in peer.pdus()] == [
        (p.GENERIC_NACK, p.ESME_RINVCMDLEN, 7)
    ]


# --- slow senders -----------------------------------------------------------------------------


def test_a_partial_pdu_then_silence_is_closed_by_the_bind_timer(clock: Clock) -> None:
    factory, _ = _server(clock)
    esme = RemoteESME(factory.buildProtocol(None))
    esme.session.dataReceived(p.encode(Pdu(p.BIND_TRANSMITTER, sequence=1))[:10])
    clock.advance(CONFIG.bind_timeout - 0.1)
    assert not esme.closing
    clock.advance(0.1)
    assert esme.closing
    assert esme.received() == []


def test_a_bind_dribbled_a_byte_a_second_is_cut_off_with_bounded_memory(clock: Clock) -> None:
    factory, _ = _server(clock)
    esme = RemoteESME(factory.buildProtocol(None))
    stream = HEADER.pack(CONFIG.max_command_length, p.BIND_TRANSMITTER, 0, 1)
    for octet in stream:
        esme.session.dataReceived(bytes((octet,)))
        assert esme.session._reader.buffered <= CONFIG.max_command_length
        clock.advance(1.0)
    assert esme.closing  # after bind_timeout, though the PDU is still incomplete


def test_a_bound_peer_stuck_in_a_partial_pdu_is_dropped_by_enquire_link(clock: Clock) -> None:
    factory, _ = _server(clock)
    esme = _bound(factory)
    esme.session.dataReceived(p.encode(Pdu(p.SUBMIT_SM, sequence=9, fields=submit_fields()))[:20])
    clock.advance(CONFIG.enquire_link_interval)
    assert esme.one().command_id == p.ENQUIRE_LINK
    clock.advance(CONFIG.response_timeout - 0.1)
    assert not esme.closing
    clock.advance(0.1)
    assert esme.transport.disconnected  # aborted: a dead peer never drains our buffer


def test_a_thousand_idle_connections_are_all_closed_and_forgotten(clock: Clock) -> None:
    factory, _ = _server(clock)
    header = HEADER.pack(CONFIG.max_command_length, p.BIND_TRANSMITTER, 0, 1)
    peers = [
        RemoteESME(factory.buildProtocol(None), f"10.0.{n // 250}.{n % 250}") for n in range(1000)
    ]
    for peer in peers:
        peer.session.dataReceived(header + b"\0" * 100)
    assert sum(peer.session._reader.buffered for peer in peers) == 1000 * (len(header) + 100)
    clock.advance(CONFIG.bind_timeout)
    assert all(peer.closing for peer in peers)
    for peer in peers:
        peer.disconnect()
    assert factory._connections == set()


# --- malformed PDUs ---------------------------------------------------------------------------

_KNOWN = [command for command in p.LAYOUTS if command != p.UNBIND]


def _valid_pdus() -> list[bytes]:
    """Well-formed requests to mutate."""
    return [
        p.encode(Pdu(p.SUBMIT_SM, sequence=1, fields=submit_fields())),
        p.encode(Pdu(p.BIND_TRANSCEIVER, sequence=1, fields={"system_id": b"x"})),
        p.encode(Pdu(p.DATA_SM, sequence=1, tlvs=((0x0424, b"payload"),))),
        p.encode(
            Pdu(p.SUBMIT_MULTI, sequence=1, fields={"dest_address": (SmeAddress(1, 1, b"1"),)})
        ),
        p.encode(Pdu(p.QUERY_SM, sequence=1, fields={"message_id": b"gw-1"})),
        p.encode(Pdu(p.REPLACE_SM, sequence=1, fields={"message_id": b"gw-1"})),
    ]


def _malformed(rng: random.Random, valid: list[bytes]) -> bytes:
    """One correctly framed PDU (command_length matches) that is wrong in some other way."""
    kind = rng.randrange(4)
    sequence = rng.randrange(1 << 32)
    if kind == 0:  # a command nobody defined
        command = rng.randrange(1 << 32)
        body = rng.randbytes(rng.randrange(64))
    elif kind == 1:  # a known command (or response) with a random body
        command = rng.choice(_KNOWN)
        body = rng.randbytes(rng.randrange(300))
    elif kind == 2:  # a valid request with octets flipped or cut short
        frame = bytearray(rng.choice(valid))  # mutable copy
        for _ in range(rng.randrange(1, 6)):
            frame[rng.randrange(16, len(frame))] = rng.randrange(256)
        command, body = (
            int.from_bytes(frame[4:8], "big"),
            bytes(frame[16 : rng.randrange(16, len(frame) + 1)]),
        )
    else:  # a known command whose body is truncated in the middle of a field
        frame = rng.choice(valid)
        command, body = int.from_bytes(frame[4:8], "big"), frame[16 : rng.randrange(16, len(frame))]
    if command == p.UNBIND:
        command = p.ENQUIRE_LINK
    return HEADER.pack(16 + len(body), command, rng.randrange(1 << 32), sequence) + body


def test_ten_thousand_malformed_pdus_neither_crash_nor_disturb_another_bind(
    clock: Clock, logged_failures: list[LogEvent]
) -> None:
    factory, gateway = _server(clock)
    customer = _bound(factory, "192.0.2.1")
    fuzzer = _bound(factory, "192.0.2.66")
    rng = random.Random(3400)
    valid = _valid_pdus()
    requests = answered = 0
    for n in range(10_000):
        frame = _malformed(rng, valid)
        requests += not frame[4] & 0x80
        fuzzer.session.dataReceived(frame)
        answered += len(fuzzer.received())
        if n % 1000 == 999:
            _still_serves(customer)
    assert fuzzer.session.state is SessionState.BOUND_TRX  # the fuzzer still has its bind too
    assert not fuzzer.closing
    assert answered == requests  # once each; responses are not answered
    assert gateway.messages  # some mutated submissions got through to the gateway
    assert fuzzer.session._reader.buffered == 0 and fuzzer.session.in_flight == 0
    _still_serves(customer)
    assert logged_failures == []


def test_random_garbage_on_many_connections(clock: Clock, logged_failures: list[LogEvent]) -> None:
    factory, _ = _server(clock)
    customer = _bound(factory)
    rng = random.Random(7)
    for n in range(500):
        garbage = RemoteESME(factory.buildProtocol(None), f"198.51.100.{n % 250}")
        for _ in range(rng.randrange(1, 20)):
            garbage.session.dataReceived(rng.randbytes(rng.randrange(1, 200)))
        assert garbage.session._reader.buffered <= CONFIG.max_command_length
        garbage.disconnect()
    _still_serves(customer)
    assert len(factory._connections) == 1
    assert logged_failures == []


class _Fuzzer(_RawPeer):
    """Sends malformed PDUs, then an enquire_link whose answer proves all were read."""

    LAST = 0x7FFFFFFE

    def __init__(self) -> None:
        super().__init__()
        self.answered = 0
        self.done: Deferred[None] = Deferred()
        self._reader = PduReader(1 << 20)

    def dataReceived(self, data: bytes) -> None:
        for frame in self._reader.feed(data):
            self.answered += 1
            if HEADER.unpack_from(frame)[3] == self.LAST and not self.done.called:
                self.done.callback(None)


@pytest_twisted.inlineCallbacks
def test_malformed_pdus_over_tcp_leave_a_bound_customer_served(
    logged_failures: list[LogEvent],
) -> Generator[Deferred[Any], Any, None]:
    factory, _ = _server(reactor)
    port = _listen(factory)
    customer, fuzzer = ClientESME(reactor, SOCKET_TIMEOUT), _Fuzzer()
    rng = random.Random(99)
    valid = _valid_pdus()
    try:
        yield _connect(port, customer)
        yield customer.send_request(
            p.BIND_TRANSCEIVER, {"system_id": b"acme", "password": b"s3cret"}
        )
        yield _connect(port, fuzzer)
        assert fuzzer.transport is not None
        frames = [_malformed(rng, valid) for _ in range(2_000)]
        stream = b"".join(frames)
        last = HEADER.pack(16, p.ENQUIRE_LINK, 0, _Fuzzer.LAST)
        fuzzer.transport.write(stream + last)
        yield customer.send_request(p.ENQUIRE_LINK, {})
        submitted = yield customer.send_request(p.SUBMIT_SM, submit_fields())
        yield fuzzer.done.addTimeout(SOCKET_TIMEOUT, reactor)
        assert fuzzer.answered == 1 + sum(not frame[4] & 0x80 for frame in frames)
        yield customer.send_request(p.ENQUIRE_LINK, {})
        yield customer.unbind()
    finally:
        yield port.stopListening()
        if fuzzer.transport is not None:
            fuzzer.transport.loseConnection()
    assert submitted.status == p.ESME_ROK
    assert logged_failures == []
