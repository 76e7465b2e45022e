"""PyPI smpplib (a blocking client, run in a thread) against gatewayd's SMPP server and its
simulator over real TCP on 127.0.0.1. smpplib's socket reads, bounded by its timeout, are the
only waits."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest_twisted
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from gatewayd.smpp import pdu as p
from gatewayd.smpp import text
from gatewayd.smpp.simulator import SimulatorFactory
from tests.interop.helpers import ReceiptingServer

SOCKET_TIMEOUT = 5.0
LONG_TEXT = "The quick brown fox jumps over the lazy dog. " * 5  # 225 GSM characters: 2 parts
UCS2_TEXT = "Привет, мир! 你好"


def _client(port: int) -> smpplib.client.Client:
    client = smpplib.client.Client(
        "127.0.0.1", port, timeout=SOCKET_TIMEOUT, allow_unknown_opt_params=True
    )
    client.connect()
    return client


def _send_and_collect(port: int, texts: list[str]) -> dict[str, Any]:
    """Bind as a transceiver, send each text (split by smpplib.gsm.make_parts) asking for
    receipts, read until every part has its submit_sm_resp and its receipt, then unbind."""
    client = _client(port)
    responses: list[Any] = []
    receipts: list[Any] = []
    try:
        client.bind_transceiver(system_id="acme", password="secret")
        parts = 0
        for message in texts:
            encoded, coding, esm_class = smpplib.gsm.make_parts(message)
            for part in encoded:
                client.send_message(
                    source_addr="33600000001",
                    destination_addr="33700000002",
                    short_message=part,
                    data_coding=coding,
                    esm_class=esm_class,
                    registered_delivery=1,
                )
                parts += 1
        client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
        enquire_link_resp = None
        while len(responses) < parts or len(receipts) < parts or enquire_link_resp is None:
            pdu = client.read_pdu()  # socket.timeout after SOCKET_TIMEOUT fails the test
            if pdu.command == "submit_sm_resp":
                responses.append(pdu)
            elif pdu.command == "enquire_link_resp":
                enquire_link_resp = pdu
            elif pdu.command == "deliver_sm":
                receipts.append(pdu)
                ack = smpplib.smpp.make_pdu("deliver_sm_resp", client=client)
                ack.sequence = pdu.sequence
                client.send_pdu(ack)
        unbind_resp = client.unbind()
    finally:
        client.disconnect()
    return {"responses": responses, "receipts": receipts, "unbind": unbind_resp.status}


@pytest_twisted.inlineCallbacks
def test_smpplib_sends_short_long_and_ucs2_messages_and_gets_receipts(
    server: ReceiptingServer,
) -> Generator[Deferred[Any], Any, None]:
    """smpplib binds as a transceiver and submits a GSM text, a 2-part GSM text concatenated
    with a UDH (smpplib.gsm.make_parts) and a UCS-2 text, each part with registered_delivery=1;
    enquire_link is answered. Our server hands every part to the submitter with the octets
    smpplib sent, answers submit_sm_resp with its id, and each receipt (deliver_sm, esm_class
    0x04) reaches smpplib, which parses its receipted_message_id and message_state TLVs and
    acknowledges it; unbind is answered ESME_ROK."""
    result = yield deferToThread(_send_and_collect, server.port, ["Hello", LONG_TEXT, UCS2_TEXT])
    yield server.receipted.wait(4)
    ids = [pdu.message_id for pdu in result["responses"]]
    assert [r.status for r in result["responses"]] == [0] * 4
    assert ids == [b"gw-1", b"gw-2", b"gw-3", b"gw-4"]
    assert server.receipts == [True] * 4  # smpplib answered every deliver_sm with ESME_ROK

    short, first, second, ucs2 = server.submitted
    assert text.decode(short.int_field("data_coding"), short.bytes_field("short_message")) == (
        "Hello"
    )
    udhs = [pdu.bytes_field("short_message")[:6] for pdu in (first, second)]
    assert udhs[0][:5] == udhs[1][:5] and udhs[0][:4] == b"\x05\x00\x03" + udhs[0][3:4]
    assert (udhs[0][4], udhs[0][5], udhs[1][5]) == (2, 1, 2)
    assert first.int_field("esm_class") & 0x40 and second.int_field("esm_class") & 0x40
    joined = first.bytes_field("short_message")[6:] + second.bytes_field("short_message")[6:]
    assert text.decode(0, joined) == LONG_TEXT
    assert ucs2.int_field("data_coding") == 0x08
    assert text.decode(0x08, ucs2.bytes_field("short_message")) == UCS2_TEXT

    receipts = result["receipts"]
    assert sorted(r.receipted_message_id for r in receipts) == sorted(ids)
    for receipt in receipts:
        assert receipt.esm_class == 0x04
        assert receipt.message_state == 2  # DELIVERED
        assert b" stat:DELIVRD err:000 " in receipt.short_message
        assert receipt.destination_addr == b"33600000001"
    assert result["unbind"] == 0


def _bind_with(port: int, password: str) -> int:
    client = _client(port)
    try:
        client.bind_transmitter(system_id="acme", password=password)
    except smpplib.exceptions.PDUError as error:
        return int(error.args[1])
    finally:
        client.disconnect()
    return 0


@pytest_twisted.inlineCallbacks
def test_smpplib_is_refused_a_wrong_password(
    server: ReceiptingServer,
) -> Generator[Deferred[Any], Any, None]:
    """A bind_transmitter with a wrong password gets ESME_RINVPASWD, as smpplib reads it."""
    status = yield deferToThread(_bind_with, server.port, "wrong")
    assert status == p.ESME_RINVPASWD == smpplib.consts.SMPP_ESME_RINVPASWD
    assert server.binds == []


def _submit_and_read_receipt(port: int) -> dict[str, Any]:
    client = _client(port)
    try:
        bind_resp = client.bind_transceiver(system_id="demo", password="secret")
        client.send_message(
            source_addr="33600000001",
            destination_addr="33700000002",
            short_message=b"interop",
            registered_delivery=1,
        )
        submit_resp = client.read_pdu()
        receipt = client.read_pdu()
        ack = smpplib.smpp.make_pdu("deliver_sm_resp", client=client)
        ack.sequence = receipt.sequence
        client.send_pdu(ack)
        unbind_resp = client.unbind()
    finally:
        client.disconnect()
    return {
        "bind": (bind_resp.command, bind_resp.status, bind_resp.system_id),
        "submit": (submit_resp.command, submit_resp.status, submit_resp.message_id),
        "receipt": receipt,
        "unbind": (unbind_resp.command, unbind_resp.status),
    }


@pytest_twisted.inlineCallbacks
def test_smpplib_against_the_simulator() -> Generator[Deferred[Any], Any, None]:
    """The built-in simulator, on a real socket: bind_transceiver, submit_sm answered with a
    16-hex-digit id, a receipt at once (delivery_delay 0) with the Appendix B text and TLVs
    smpplib parses, and unbind."""
    simulator = SimulatorFactory(reactor, delivery_delay=0.0, receipt_status="DELIVRD")
    port = reactor.listenTCP(0, simulator, interface="127.0.0.1")
    try:
        result = yield deferToThread(_submit_and_read_receipt, port.getHost().port)
    finally:
        simulator.stop()
        yield port.stopListening()
    assert result["bind"] == ("bind_transceiver_resp", 0, b"simulator")
    command, status, message_id = result["submit"]
    assert (command, status) == ("submit_sm_resp", 0)
    assert len(message_id) == 16
    receipt = result["receipt"]
    assert receipt.command == "deliver_sm"
    assert receipt.esm_class == 0x04
    assert receipt.receipted_message_id == message_id
    assert receipt.message_state == 2  # DELIVERED
    assert receipt.short_message.startswith(b"id:" + message_id + b" sub:001 dlvrd:001 ")
    assert b" stat:DELIVRD err:000 text:interop" in receipt.short_message
    assert result["unbind"] == ("unbind_resp", 0)
