"""PyPI aiosmpplib (an asyncio ESME, run with its own event loop in a thread while Twisted's
reactor runs under pytest-twisted) against gatewayd's SMPP server over real TCP on 127.0.0.1.
aiosmpplib's socket timeout and an asyncio deadline bound every wait."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from typing import Any

import pytest_twisted
from aiosmpplib import (
    ESME,
    AbstractHook,
    DeliverSm,
    PhoneNumber,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
)
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from gatewayd.smpp import text
from gatewayd.smpp.receipts import TAG_MESSAGE_PAYLOAD
from tests.interop.helpers import DEADLINE, ReceiptingServer

LONG_TEXT = "The quick brown fox jumps over the lazy dog. " * 5  # 225 GSM characters: 2 parts
UCS2_TEXT = "Привет, мир! 你好"
#: log_id -> (text, SubmitSm options); aiosmpplib correlates responses and receipts by log_id.
MESSAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "short": ("Hello", {}),
    "udh": (LONG_TEXT, {"esm_class": 0x40, "auto_message_payload": False}),
    "payload": (LONG_TEXT * 2, {}),  # aiosmpplib moves > 254 octets to message_payload
    "ucs2": (UCS2_TEXT, {}),
}


class _Recorder(AbstractHook):
    """Keeps what aiosmpplib hands its application: one submit_sm_resp and one receipt per
    message, segments of a long one being merged by aiosmpplib itself."""

    def __init__(self) -> None:
        self.responses: list[SubmitSmResp] = []
        self.receipts: list[DeliverSm] = []
        self.errors: list[Exception] = []
        self.done = asyncio.Event()

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        pass

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        if isinstance(smpp_message, SubmitSmResp):
            self.responses.append(smpp_message)
        elif isinstance(smpp_message, DeliverSm) and smpp_message.is_receipt():
            self.receipts.append(smpp_message)
        if len(self.responses) == len(self.receipts) == len(MESSAGES):
            self.done.set()

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        self.errors.append(error)
        self.done.set()


async def _exchange(port: int) -> _Recorder:
    recorder = _Recorder()
    esme = ESME(
        "127.0.0.1",
        port,
        "acme",
        "secret",
        hook=recorder,
        socket_timeout=DEADLINE,
        log_level=logging.WARNING,
    )
    running = asyncio.create_task(esme.start())
    for log_id, (message, options) in MESSAGES.items():
        submit = SubmitSm(
            short_message=message,
            source=PhoneNumber("33600000001"),
            destination=PhoneNumber("33700000002"),
            log_id=log_id,
            **options,
        )
        await esme.broker.enqueue(submit)
    try:
        await asyncio.wait_for(recorder.done.wait(), DEADLINE)
    finally:
        await asyncio.wait_for(esme.stop(), DEADLINE)
        await asyncio.wait_for(running, DEADLINE)
    return recorder


@pytest_twisted.inlineCallbacks
def test_aiosmpplib_sends_short_long_and_ucs2_messages_and_gets_receipts(
    server: ReceiptingServer,
) -> Generator[Deferred[Any], Any, None]:
    """aiosmpplib binds as a transceiver and submits, with registered_delivery=1, a GSM text,
    a long text it splits into 2 parts with a UDH, a long text it sends whole in the
    message_payload TLV, and a UCS-2 text. Our server hands each submit_sm to the submitter
    with the octets aiosmpplib encoded and answers it; every receipt (deliver_sm, esm_class
    0x04) is acknowledged ESME_ROK, and aiosmpplib matches each response and receipt to the
    message it sent (its log_id). Stopping aiosmpplib unbinds."""
    recorder = yield deferToThread(lambda: asyncio.run(_exchange(server.port)))
    assert recorder.errors == []
    yield server.receipted.wait(5)
    assert server.receipts == [True] * 5  # every deliver_sm answered ESME_ROK

    short, first, second, payload, ucs2 = server.submitted
    assert text.decode(short.int_field("data_coding"), short.bytes_field("short_message")) == (
        "Hello"
    )
    assert first.int_field("esm_class") & 0x40 and second.int_field("esm_class") & 0x40
    parts = [pdu.bytes_field("short_message") for pdu in (first, second)]
    assert [part[: 1 + part[0]][-2:] for part in parts] == [b"\x02\x01", b"\x02\x02"]
    joined = b"".join(part[1 + part[0] :] for part in parts)
    assert text.decode(first.int_field("data_coding"), joined) == LONG_TEXT
    assert payload.bytes_field("short_message") == b""
    whole = payload.tlv(TAG_MESSAGE_PAYLOAD)
    assert whole is not None
    assert text.decode(payload.int_field("data_coding"), whole) == LONG_TEXT * 2
    assert ucs2.int_field("data_coding") == 0x08
    assert text.decode(0x08, ucs2.bytes_field("short_message")) == UCS2_TEXT

    assert sorted(r.log_id for r in recorder.responses) == sorted(MESSAGES)
    assert sorted(r.log_id for r in recorder.receipts) == sorted(MESSAGES)
    for receipt in recorder.receipts:
        assert receipt.parse_receipt()["stat"] == "DELIVRD"
    assert server.factory.sessions("acme") == []  # unbound and gone
