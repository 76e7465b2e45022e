from __future__ import annotations

from twisted.internet.task import Clock

from gatewayd.smpp import pdu as p
from gatewayd.smpp.receipts import Receipt, is_receipt, parse_receipt, parse_receipt_text
from gatewayd.smpp.simulator import SimulatorFactory
from tests.smpp.helpers import FakeESME


def _simulator(clock: Clock, status: str = "DELIVRD") -> SimulatorFactory:
    return SimulatorFactory(clock, delivery_delay=2.0, receipt_status=status)


def test_accepts_any_bind_and_answers_fresh_hex_ids(clock: Clock) -> None:
    esme = FakeESME(_simulator(clock).buildProtocol(None))
    assert esme.bind(system_id=b"anyone", password=b"x").status == p.ESME_ROK
    first = esme.submit().fields["message_id"]
    second = esme.submit().fields["message_id"]
    assert isinstance(first, bytes) and isinstance(second, bytes)
    assert first != second
    int(first, 16)  # hex


def test_receipt_after_delay_on_the_same_session(clock: Clock) -> None:
    esme = FakeESME(_simulator(clock).buildProtocol(None))
    esme.bind(system_id=b"demo")
    message_id = esme.submit(registered_delivery=1, short_message=b"Hello world").fields[
        "message_id"
    ]
    clock.advance(1.9)
    assert esme.received() == []
    clock.advance(0.1)
    receipt = esme.one()
    assert receipt.command_id == p.DELIVER_SM and is_receipt(receipt)
    assert receipt.fields["esm_class"] == 0x04
    assert (receipt.fields["source_addr"], receipt.fields["destination_addr"]) == (
        b"33700000002",
        b"33600000001",
    )
    assert isinstance(message_id, bytes)
    assert parse_receipt(receipt) == Receipt(message_id.decode(), "DELIVRD", "000")
    text = parse_receipt_text(receipt.bytes_field("short_message"))
    assert (text["id"], text["dlvrd"]) == (message_id.decode(), "001")
    assert receipt.bytes_field("short_message").endswith(b"text:Hello world")
    assert receipt.tlv(0x0427) == b"\x02"


def test_no_receipt_unless_requested(clock: Clock) -> None:
    esme = FakeESME(_simulator(clock).buildProtocol(None))
    esme.bind()
    esme.submit(registered_delivery=0)
    esme.submit(registered_delivery=2)  # failure-only receipts, and this one succeeds
    clock.advance(10)
    assert esme.received() == []


def test_failure_status_is_reported(clock: Clock) -> None:
    esme = FakeESME(_simulator(clock, "UNDELIV").buildProtocol(None))
    esme.bind()
    esme.submit(registered_delivery=2)
    clock.advance(2)
    receipt = parse_receipt(esme.one())
    assert receipt.stat == "UNDELIV"


def test_receipt_goes_to_a_receiver_of_the_same_system_id(clock: Clock) -> None:
    simulator = _simulator(clock)
    transmitter = FakeESME(simulator.buildProtocol(None))
    other = FakeESME(simulator.buildProtocol(None))
    receiver = FakeESME(simulator.buildProtocol(None))
    transmitter.bind(p.BIND_TRANSMITTER, system_id=b"demo")
    other.bind(p.BIND_RECEIVER, system_id=b"someone")
    receiver.bind(p.BIND_RECEIVER, system_id=b"demo")
    transmitter.submit(registered_delivery=1)
    clock.advance(2)
    assert transmitter.received() == [] and other.received() == []
    assert is_receipt(receiver.one())


def test_receipt_waits_for_the_next_bind(clock: Clock) -> None:
    simulator = _simulator(clock)
    transmitter = FakeESME(simulator.buildProtocol(None))
    transmitter.bind(p.BIND_TRANSMITTER, system_id=b"demo")
    message_id = transmitter.submit(registered_delivery=1).fields["message_id"]
    clock.advance(2)
    assert simulator.waiting("demo") == 1
    receiver = FakeESME(simulator.buildProtocol(None))
    receiver.request(p.BIND_RECEIVER, {"system_id": b"demo"})
    bind_resp, receipt = receiver.received()
    assert bind_resp.command_id == p.BIND_RECEIVER_RESP
    assert isinstance(message_id, bytes)
    assert parse_receipt(receipt).message_id == message_id.decode()
    assert simulator.waiting("demo") == 0


def test_refused_receipt_is_kept_for_the_next_bind(clock: Clock) -> None:
    simulator = _simulator(clock)
    esme = FakeESME(simulator.buildProtocol(None))
    esme.bind(system_id=b"demo")
    esme.submit(registered_delivery=1)
    clock.advance(2)
    esme.send(p.response_to(esme.one(), p.ESME_RX_T_APPN))
    assert simulator.waiting("demo") == 1


def test_stop_cancels_pending_receipts(clock: Clock) -> None:
    simulator = _simulator(clock)
    esme = FakeESME(simulator.buildProtocol(None))
    esme.bind()
    esme.submit(registered_delivery=1)
    simulator.stop()
    clock.advance(10)
    assert esme.received() == []
    assert not any(call.getTime() == 2.0 for call in clock.getDelayedCalls())
