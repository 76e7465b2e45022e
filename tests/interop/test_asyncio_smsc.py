"""gatewayd's UpstreamConnector against an SMSC written for this test from the SMPP v3.4
specification in plain asyncio (tests/interop/asyncio_smsc.py, its own event loop in a thread),
over real TCP on 127.0.0.1. The SMSC's event queue, read in a thread with a deadline, and
Deferreds with timeouts are the only waits."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from gatewayd.config.model import ConnectorConfig
from gatewayd.smpp.client import UpstreamConnector
from gatewayd.smpp.pdu import Pdu
from gatewayd.smpp.receipts import Receipt, parse_receipt
from tests.interop.asyncio_smsc import AsyncioSmsc, Event
from tests.interop.helpers import DEADLINE


@pytest.fixture
def smsc() -> Iterator[AsyncioSmsc]:
    server = AsyncioSmsc(password=b"secret")
    server.start()
    yield server
    server.stop()


def _next(smsc: AsyncioSmsc, name: str) -> Deferred[Event]:
    """The next event named ``name`` (others before it are skipped), read in a thread."""

    def read() -> Event:
        while True:
            event = smsc.next_event(DEADLINE)
            if event.name == name:
                return event

    return deferToThread(read)


@pytest_twisted.inlineCallbacks
def test_connector_binds_submits_gets_a_receipt_and_unbinds(
    smsc: AsyncioSmsc,
) -> Generator[Deferred[Any], Any, None]:
    """bind_transceiver with our system_id and password; we answer the SMSC's enquire_link
    after the bind and our own enquire_link (every 0.2 s) is answered; submit_sm carries our
    fields and fires with the SMSC's message_id; the SMSC's deliver_sm receipt reaches
    on_deliver and is acknowledged ESME_ROK; stopping the connector unbinds."""
    delivered: Deferred[Pdu] = Deferred()

    def on_deliver(connector: UpstreamConnector, pdu: Pdu) -> None:
        delivered.callback(pdu)

    config = ConnectorConfig(
        host="127.0.0.1", port=smsc.port, system_id="gatewayd", enquire_link_interval=0.2
    )
    connector = UpstreamConnector("asyncio", config, reactor, "secret", on_deliver)
    connector.startService()
    try:
        bind = yield _next(smsc, "bind_transceiver")
        assert bind.fields == {"system_id": b"gatewayd"}
        # Our answer to the SMSC's enquire_link follows our reading of bind_transceiver_resp.
        yield _next(smsc, "enquire_link_resp")
        assert connector.is_bound
        message_id = yield connector.submit(
            {
                "source_addr": b"33600000001",
                "destination_addr": b"33700000002",
                "registered_delivery": 1,
                "short_message": b"over asyncio",
            }
        )
        submitted = yield _next(smsc, "submit_sm")
        assert message_id == submitted.fields["message_id"].decode() == "A00001"
        assert submitted.fields["destination_addr"] == b"33700000002"
        assert submitted.fields["short_message"] == b"over asyncio"
        receipt = yield delivered.addTimeout(DEADLINE, reactor)
        assert parse_receipt(receipt) == Receipt("A00001", "DELIVRD", "000")
        ack = yield _next(smsc, "deliver_sm_resp")
        assert ack.status == 0
        yield _next(smsc, "enquire_link")
    finally:
        yield connector.stopService()
    yield _next(smsc, "unbind")
