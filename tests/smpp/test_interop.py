"""Interop over real TCP on 127.0.0.1 with the PyPI smpplib client, run in a thread.

The only waits are smpplib's socket reads (bounded by its timeout); no timer is waited for."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest_twisted
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.threads import deferToThread

from gatewayd.config.model import SmppServerConfig
from gatewayd.errors import AuthenticationFailed
from gatewayd.smpp import pdu as p
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.server import SmppServerFactory
from gatewayd.smpp.simulator import SimulatorFactory

SOCKET_TIMEOUT = 5.0


def _client(port: int) -> smpplib.client.Client:
    client = smpplib.client.Client(
        "127.0.0.1", port, timeout=SOCKET_TIMEOUT, allow_unknown_opt_params=True
    )
    client.connect()
    return client


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


def _bind_and_submit(port: int, password: str) -> tuple[int, bytes | None]:
    client = _client(port)
    try:
        try:
            client.bind_transmitter(system_id="acme", password=password)
        except smpplib.exceptions.PDUError as error:
            return error.args[1], None
        client.send_message(source_addr="1", destination_addr="2", short_message=b"x")
        submit_resp = client.read_pdu()
        client.unbind()
        return submit_resp.status, submit_resp.message_id
    finally:
        client.disconnect()


@pytest_twisted.inlineCallbacks
def test_smpplib_against_our_server() -> Generator[Deferred[Any], Any, None]:
    submitted: list[Pdu] = []

    def authenticate(system_id: str, password: str, bind_type: str) -> Deferred[str]:
        if password != "right":
            raise AuthenticationFailed("wrong password")
        return succeed(system_id)

    def submit(principal: str, pdu: Pdu) -> Deferred[str]:
        submitted.append(pdu)
        return succeed(f"{principal}-{len(submitted)}")

    factory = SmppServerFactory(SmppServerConfig(), reactor, authenticate, submit)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    try:
        refused = yield deferToThread(_bind_and_submit, port.getHost().port, "wrong")
        accepted = yield deferToThread(_bind_and_submit, port.getHost().port, "right")
    finally:
        yield port.stopListening()
    assert refused == (p.ESME_RINVPASWD, None)
    assert refused[0] == smpplib.consts.SMPP_ESME_RINVPASWD
    assert accepted == (p.ESME_ROK, b"acme-1")
    assert [pdu.fields["short_message"] for pdu in submitted] == [b"x"]
