"""The message hooks in a whole gateway in-process (real SQLite file, the built-in simulator
as SMSC, the HTTP API as the channel): before_accept refuses or rewrites, after_route,
on_receipt and on_mo see the traffic, and a broken plugin never stops the daemon; and over
SMPP, the refusal's command_status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from sqlalchemy import select
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

from gatewayd.plugins.hooks import ESME_RSUBMITFAIL, MoEvent, ReceiptEvent, RoutedMessage
from gatewayd.security import hash_secret
from gatewayd.smpp import pdu as p
from gatewayd.smpp.session import CommandFailed
from gatewayd.storage.models import Batch
from tests.admin.conftest import ConsoleRig, start_rig
from tests.api.conftest import api_account, until
from tests.plugins.recorder import Recorder
from tests.smpp.fakes import ClientESME

SOCKET_TIMEOUT = 5.0  # bounds each wait on the real reactor: a broken gateway fails, not hangs

MODULE = "tests.plugins.recorder"


async def started(tmp_path: Path, plugins: dict[str, Any], **sections: Any) -> ConsoleRig:
    return await start_rig(f"sqlite:///{tmp_path}/gatewayd.db", {"plugins": plugins, **sections})


def recorder(rig: ConsoleRig, name: str) -> Recorder:
    [found] = [p.instance for p in rig.gateway.plugins.plugins if p.name == name]
    assert isinstance(found, Recorder)
    return found


def bodies(rig: ConsoleRig) -> list[str]:
    return rig.gateway.db.run_sync("bodies", lambda s: list(s.scalars(select(Batch.body))))


@pytest_twisted.async_yield_fixture
async def screened(db_url: str) -> AsyncIterator[ConsoleRig]:
    """On SQLite and, when configured, on PostgreSQL."""
    rig = await start_rig(
        db_url,
        {
            "plugins": {
                "watch": {"module": MODULE},  # first: records, then has no opinion
                "screen": {"module": MODULE, "reject": "casino", "upper": True},
            },
            "mo": {"routes": {"36180": "acme"}},
        },
    )
    yield rig
    await rig.gateway.stopService()


@pytest_twisted.ensureDeferred
async def test_before_accept_refuses_with_the_plugins_status(screened: ConsoleRig) -> None:
    _id, api = await api_account(screened, "acme")
    reply = await api.post("/messages", {"to": "+223 76 60 00 00", "text": "casino tonight"})
    assert reply.code == 422, reply.body
    assert "no casino here" in reply.error["message"]
    assert bodies(screened) == []  # nothing accepted
    [draft] = recorder(screened, "watch").calls["before_accept"]
    assert (draft.account, draft.channel, draft.recipients) == (
        "acme",
        "api",
        ("+223 76 60 00 00",),
    )


@pytest_twisted.ensureDeferred
async def test_a_rewrite_is_accepted_routed_and_its_receipt_seen(screened: ConsoleRig) -> None:
    _id, api = await api_account(screened, "acme")
    sent = await api.post("/messages", {"to": "+223 76 60 00 00", "text": "bonjour"})
    assert sent.code == 201, sent.body
    assert bodies(screened) == ["BONJOUR"]  # rewritten before the checks and the commit
    message_id = sent.json["id"]
    watch = recorder(screened, "watch")
    routed = await watch.wait("after_route", reactor)
    assert routed == RoutedMessage(message_id, _id, "22376600000", "", "sim", None)
    receipt = await watch.wait("on_receipt", reactor)
    assert receipt == ReceiptEvent(message_id, "sim", "DELIVRD", "delivered", None)
    await until(api, f"/messages/{message_id}", lambda m: m["status"] == "delivered")
    assert recorder(screened, "screen").calls["on_receipt"] == [receipt]  # "all": both


@pytest_twisted.ensureDeferred
async def test_on_mo_sees_a_committed_mo(screened: ConsoleRig) -> None:
    await api_account(screened, "acme")
    gateway = screened.gateway
    mo = p.Pdu(
        p.DELIVER_SM,
        fields={
            "source_addr": b"22376611111",
            "destination_addr": b"36180",
            "short_message": b"STOP",
        },
    )
    await gateway.receipts.on_deliver(gateway.connectors["sim"], mo)
    [event] = recorder(screened, "watch").calls["on_mo"]
    assert isinstance(event, MoEvent) and event.mo_id
    assert (event.source, event.destination, event.text) == ("22376611111", "36180", "STOP")
    assert (event.connector, event.account) == ("sim", "acme")


@pytest_twisted.ensureDeferred
async def test_a_broken_screen_refuses_with_503_and_is_counted(tmp_path: Path) -> None:
    rig = await started(tmp_path, {"broken": {"module": MODULE, "fail": ["before_accept"]}})
    try:
        _id, api = await api_account(rig, "acme")
        reply = await api.post("/messages", {"to": "+223 76 60 00 00", "text": "bonjour"})
        assert reply.code == 503, reply.body  # before_accept fails closed
        assert b"broken" not in reply.body  # the customer is not told about the plugins
        assert reply.error["code"] == "unavailable"
        assert bodies(rig) == []
        assert rig.gateway.plugins.failures == {("broken", "before_accept"): 1}
    finally:
        await rig.gateway.stopService()


@pytest_twisted.ensureDeferred
async def test_broken_observers_are_counted_and_the_message_is_delivered(tmp_path: Path) -> None:
    broken = {"module": MODULE, "fail": ["after_route", "on_receipt"]}
    rig = await started(tmp_path, {"broken": broken, "watch": {"module": MODULE}})
    try:
        _id, api = await api_account(rig, "acme")
        sent = await api.post("/messages", {"to": "+223 76 60 00 00", "text": "bonjour"})
        assert sent.code == 201, sent.body
        await until(api, f"/messages/{sent.json['id']}", lambda m: m["status"] == "delivered")
        await recorder(rig, "watch").wait("on_receipt", reactor)  # the next plugin still told
        assert rig.gateway.plugins.failures == {
            ("broken", "after_route"): 1,
            ("broken", "on_receipt"): 1,
        }
    finally:
        await rig.gateway.stopService()


@pytest_twisted.ensureDeferred
async def test_over_smpp_a_refusal_is_the_plugins_command_status(screened: ConsoleRig) -> None:
    gateway = screened.gateway
    await gateway.accounts.create_account("acme", "customer", 1.0, "acme", hash_secret("s3cret"))
    port = gateway.listening_addresses()["SMPP server"][0].port
    client = ClientESME(reactor, SOCKET_TIMEOUT)
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
    await client.ready.addTimeout(SOCKET_TIMEOUT, reactor)
    try:
        await client.send_request(p.BIND_TRANSCEIVER, {"system_id": b"acme", "password": b"s3cret"})
        fields = {"destination_addr": b"22376600000", "short_message": b"casino tonight"}
        with pytest.raises(CommandFailed) as caught:
            await client.send_request(p.SUBMIT_SM, fields)
        assert caught.value.smpp_status == ESME_RSUBMITFAIL  # Reject's default
        fields = {"destination_addr": b"22376600000", "short_message": b"bonjour"}
        accepted = await client.send_request(p.SUBMIT_SM, fields)
        assert accepted.status == p.ESME_ROK
        await client.unbind()
    finally:
        client.transport.loseConnection()  # type: ignore[union-attr]
    assert bodies(screened) == ["BONJOUR"]
    [_refused, draft] = recorder(screened, "watch").calls["before_accept"]
    assert (draft.channel, draft.text) == ("smpp", "bonjour")
