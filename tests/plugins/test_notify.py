"""The notify hook's built-in notifiers in a whole gateway: e-mail through Twisted's SMTP
client to a real SMTP server the test starts on 127.0.0.1, SMS through gatewayd itself (from
the operator account, delivered by the simulator), and failures that fail open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_twisted
from sqlalchemy import select
from twisted.internet import reactor

from gatewayd.plugins.hooks import Sent
from gatewayd.plugins.notify import notify
from gatewayd.storage.models import Batch
from tests.admin.conftest import ConsoleRig, start_rig
from tests.pipeline import smtp_server
from tests.plugins.recorder import Recorder


@pytest_twisted.async_yield_fixture
async def mail(tmp_path: Path) -> AsyncIterator[tuple[ConsoleRig, Any]]:
    port, delivery = smtp_server.start(reactor)
    relay = {"smtp_host": "127.0.0.1", "smtp_port": port.getHost().port}
    rig = await start_rig(
        f"sqlite:///{tmp_path}/gatewayd.db",
        {"notifications": {**relay, "from_address": "noc@operator.example"}},
    )
    yield rig, delivery
    await rig.gateway.stopService()
    await port.stopListening()


def batches(rig: ConsoleRig) -> list[tuple[Any, ...]]:
    query = select(Batch.account_id, Batch.channel, Batch.body)
    return rig.gateway.db.run_sync("batches", lambda s: [tuple(r) for r in s.execute(query)])


@pytest_twisted.ensureDeferred
async def test_an_email_goes_through_the_smtp_relay(mail: tuple[ConsoleRig, Any]) -> None:
    rig, delivery = mail
    to = ["boss@acme.example", "noc@acme.example"]
    sent = await notify(rig.gateway.plugins, "email", to, "Ligne suspendue", "Commande 42")
    assert sent == [Sent("smtp", 2)]
    assert delivery.recipients == to
    assert len(delivery.box) == 2  # the test server keeps one copy per recipient
    message = delivery.box[0]
    assert message["From"] == "noc@operator.example"
    assert message["Subject"] == "Ligne suspendue"
    assert message.get_payload(decode=True).decode().strip() == "Commande 42"
    assert batches(rig) == []  # not an SMS


@pytest_twisted.ensureDeferred
async def test_an_sms_goes_through_gatewayd_from_the_operator_account(
    mail: tuple[ConsoleRig, Any],
) -> None:
    rig, delivery = mail
    operator = await rig.gateway.accounts.create_account("operator", "operator", 1.0)
    sent = await notify(rig.gateway.plugins, "sms", ["22376600000"], "Alerte", "quota atteint")
    assert sent == [Sent("sms", 1)]
    assert batches(rig) == [(operator.id, "system", "Alerte : quota atteint")]
    assert delivery.box == []  # not an e-mail


@pytest_twisted.ensureDeferred
async def test_notifiers_fail_open_and_are_counted(tmp_path: Path) -> None:
    port, _delivery = smtp_server.start(reactor)
    closed = port.getHost().port
    await port.stopListening()  # nobody listens there any more: the relay is down
    rig = await start_rig(
        f"sqlite:///{tmp_path}/gatewayd.db",
        {
            "notifications": {"smtp_host": "127.0.0.1", "smtp_port": closed},
            "plugins": {"watch": {"module": "tests.plugins.recorder"}},
        },
    )
    try:
        plugins = rig.gateway.plugins
        assert await notify(plugins, "email", ["a@example.org"], "s", "b") == []
        assert await notify(plugins, "sms", ["22376600000"], "s", "b") == []  # no operator
        assert dict(plugins.failures) == {("smtp", "notify"): 1, ("sms", "notify"): 1}
        watch = [p.instance for p in plugins.plugins if p.name == "watch"]
        assert isinstance(watch[0], Recorder)  # a plugin without notify is not asked
    finally:
        await rig.gateway.stopService()


@pytest_twisted.ensureDeferred
async def test_without_a_relay_no_email_is_sent(tmp_path: Path) -> None:
    rig = await start_rig(f"sqlite:///{tmp_path}/gatewayd.db")
    try:
        assert await notify(rig.gateway.plugins, "email", ["a@example.org"], "s", "b") == []
        assert dict(rig.gateway.plugins.failures) == {}
    finally:
        await rig.gateway.stopService()
