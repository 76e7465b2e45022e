"""Kannel (Debian's bearerbox and smsbox, a gateway we did not write) binds to gatewayd's SMPP
server as an ESME over real TCP on 127.0.0.1, and a message sent through smsbox's sendsms HTTP
interface reaches our submitter; our receipt goes back to Kannel, which reports it to the
dlr-url on a web server of the test. Skipped when Kannel is missing, failed under CI."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from gatewayd.smpp import text
from tests.interop.helpers import DEADLINE, ReceiptingServer
from tests.interop.kannel import SMSC_PASSWORD, SMSC_USER, Kannel, require_kannel


class _DlrReceiver(Resource):
    """Records Kannel's delivery-report callbacks (GET /dlr?...)."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.reports: Deferred[dict[bytes, list[bytes]]] = Deferred()

    def render_GET(self, request: Request) -> bytes:
        if not self.reports.called:
            self.reports.callback(dict(request.args or {}))
        return b"ok"


@pytest.fixture
def kannel(tmp_path: Path, server: ReceiptingServer) -> Iterator[Kannel]:
    require_kannel()
    server.password = SMSC_PASSWORD
    gateway = Kannel(tmp_path, server.port)
    try:
        yield gateway
    finally:
        gateway.stop()  # no-op unless the test left early
        print(gateway.logs())  # shown by pytest when the test failed


@pytest_twisted.inlineCallbacks
def test_kannel_binds_and_its_sendsms_reaches_our_submitter(
    server: ReceiptingServer, kannel: Kannel
) -> Generator[Deferred[Any], Any, None]:
    """bearerbox binds as a transceiver with the smsc-username/password of its smpp group;
    GET /cgi-bin/sendsms on smsbox (with dlr-mask) becomes a submit_sm whose destination,
    source and text are those of the request; our submit_sm_resp id is taken, our receipt
    deliver_sm is answered ESME_ROK, and Kannel matches it to the message: it calls the
    dlr-url with type 1 (delivered)."""
    receiver = _DlrReceiver()
    web = reactor.listenTCP(0, Site(receiver), interface="127.0.0.1")
    dlr_url = f"http://127.0.0.1:{web.getHost().port}/dlr?type=%d&smsc=%i&reply=%A"
    try:
        kannel.start_bearerbox()
        binds = yield server.bound.wait(1)
        assert binds == [(SMSC_USER, "transceiver")]
        yield deferToThread(kannel.start_smsbox)
        status, body = yield deferToThread(
            kannel.sendsms,
            to="33700000002",
            **{"from": "33600000001"},
            text="Hello from Kannel",
            **{"dlr-mask": "3", "dlr-url": dlr_url},
        )
        assert (status, body) == (202, b"0: Accepted for delivery")
        [submitted] = yield server.submissions.wait(1)
        assert submitted.bytes_field("destination_addr") == b"33700000002"
        assert submitted.bytes_field("source_addr") == b"33600000001"
        coding = submitted.int_field("data_coding")
        assert text.decode(coding, submitted.bytes_field("short_message")) == "Hello from Kannel"
        assert submitted.int_field("registered_delivery") & 0x03 == 1
        receipts = yield server.receipted.wait(1)
        assert receipts == [True]
        report = yield receiver.reports.addTimeout(DEADLINE, reactor)
        assert report[b"type"] == [b"1"]
        assert report[b"smsc"] == [b"gatewayd"]
    finally:
        # In a thread: bearerbox unbinds on the way out, and the reactor must answer it.
        yield deferToThread(kannel.stop)
        yield web.stopListening()


def test_missing_kannel_is_skipped_here_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Kannel the interop test skips with the reason, unless CI is set: there a
    missing install step must not pass unnoticed."""
    monkeypatch.setattr("tests.interop.kannel.BEARERBOX", "/nonexistent/bearerbox")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must install it"):
        require_kannel()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install kannel"):
        require_kannel()
