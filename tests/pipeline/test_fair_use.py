"""Fair use at acceptance on real storage, with the clock driven by task.Clock: caps, the
hourly suspension and its lifting, quota alerts, out-of-bundle marking, prepaid credit and its
refund, counters that survive a restart."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import pytest_twisted
from sqlalchemy import text

from gatewayd.errors import PolicyRefused
from gatewayd.pipeline.notifier import Notifier
from gatewayd.routing.fairuse_rules import BUILTIN_PLANS, Rules
from gatewayd.smpp.client import SubmitRejected
from gatewayd.smpp.pdu import ESME_RINVDSTADR
from gatewayd.status import Status
from gatewayd.storage.account_policy import update_settings
from gatewayd.storage.database import Database
from gatewayd.storage.fair_use import FairUsePolicy, account_action, fair_use_view, prune
from tests.pipeline.rig import Rig, ScriptedConnector

START = 1_795_000_000.0  # 2026-11-18, a Wednesday, mid-month in every zone


def policy(**rules: Any) -> FairUsePolicy:
    return FairUsePolicy({**BUILTIN_PLANS, "test": Rules(**rules)}, "test")


async def started(database: Database, **rules: Any) -> Rig:
    rig = Rig(database, ScriptedConnector(), fair_use=policy(**rules))
    rig.clock.advance(START - rig.clock.seconds())
    await rig.start()
    return rig


def rows(database: Database, sql: str) -> list[tuple[Any, ...]]:
    with database.session() as s:
        return [tuple(r) for r in s.execute(text(sql))]


@pytest_twisted.ensureDeferred
async def test_distinct_recipients_are_capped_and_the_counters_survive_a_restart(
    database: Database,
) -> None:
    rig = await started(database, distinct_recipients=3, hourly_messages=None)
    acme = await rig.account()
    for n in range(3):
        await rig.send(acme, to=[f"2237660000{n}"])
    await rig.send(acme, to=["22376600000"])  # known this month: fine
    with pytest.raises(PolicyRefused) as info:
        await rig.send(acme, to=["22376600009"])
    assert info.value.rule == "distinct_recipients"
    assert (info.value.smpp_status, info.value.http_status) == (0x45, 403)
    again = Rig(database, ScriptedConnector(), fair_use=rig.fair_use, clock=rig.clock)
    await again.start()
    with pytest.raises(PolicyRefused):
        await again.send(acme, to=["22376600008"])


@pytest_twisted.ensureDeferred
async def test_a_batch_over_the_cap_keeps_each_refusal_on_its_recipient(database: Database) -> None:
    rig = await started(database, distinct_recipients=3, hourly_messages=None)
    acme = await rig.account()
    ids = await rig.send(acme, "promo", to=[f"2237660000{n}" for n in range(5)])
    statuses = [(await rig.view(i)).status for i in ids]
    assert statuses == [Status.SENT] * 3 + [Status.REJECTED] * 2
    assert (await rig.view(ids[4])).error_code == "fair_use:distinct_recipients"
    assert len(rig.connector.submitted) == 3


@pytest_twisted.ensureDeferred
async def test_over_the_hour_the_account_is_suspended_then_lifted_by_time_or_admin(
    database: Database,
) -> None:
    rig = await started(database, hourly_messages=5, distinct_recipients=None)
    acme = await rig.account()
    for n in range(5):
        await rig.send(acme, to=[f"2237660000{n}"])
        rig.clock.advance(60)
    with pytest.raises(PolicyRefused) as info:
        await rig.send(acme, to=["22376600009"])
    assert info.value.http_status == 429 and info.value.retry_after > 2 * 86400
    assert rows(database, "SELECT kind FROM notifications") == [("suspended",)]
    assert rows(database, "SELECT actor, action FROM audit_entries") == [("system", "suspend")]
    rig.clock.advance(3600)  # the hour has passed, the suspension has not
    with pytest.raises(PolicyRefused, match="suspended"):
        await rig.send(acme, to=["22376600009"])
    await database.run("lift", account_action, "Acme", "lift", None, "admin", rig.clock.seconds())
    await rig.send(acme, to=["22376600009"])
    assert rows(database, "SELECT actor, action FROM audit_entries ORDER BY id")[-1] == (
        "admin",
        "lift",
    )


@pytest_twisted.ensureDeferred
async def test_quota_alerts_once_each_and_a_blocked_plan_stops(database: Database) -> None:
    rig = await started(database, monthly_quota=10, distinct_recipients=None, hourly_messages=None)
    acme = await rig.account()
    await rig.send(acme, "promo", to=[f"2237660000{n}" for n in range(8)])
    await rig.send(acme, to=["22376600008"])
    await rig.send(acme, "promo", to=["22376600009", "22376600010"])
    with pytest.raises(PolicyRefused, match="quota"):
        await rig.send(acme, to=["22376600011"])
    alerts = [
        json.loads(p)["threshold"] for (p,) in rows(database, "SELECT payload FROM notifications")
    ]
    assert alerts == [80, 100]


@pytest_twisted.ensureDeferred
async def test_prepaid_credit_is_taken_and_given_back_when_the_smsc_rejects(
    database: Database,
) -> None:
    rig = await started(
        database,
        prepaid=True,
        price_international=Decimal("0.05"),
        distinct_recipients=None,
        hourly_messages=None,
    )
    acme = await rig.account()
    with pytest.raises(PolicyRefused) as info:
        await rig.send(acme, to=["33612345678"])
    assert info.value.http_status == 402
    now = rig.clock.seconds()
    await database.run("top", account_action, "Acme", "top-up", Decimal("0.10"), "admin", now)
    rig.connector.answers = ["1", SubmitRejected(ESME_RINVDSTADR, "no such number")]
    await rig.send(acme, to=["33612345678"])
    await rig.send(acme, to=["33612345679"])
    _, _, state, _ = await database.run("view", fair_use_view, rig.fair_use, "Acme", now)
    assert state.credit == Decimal("0.05")  # 0.10 - 2 x 0.05 + the rejected one's 0.05
    costs = rows(database, "SELECT cost, out_of_bundle FROM messages ORDER BY id")
    assert costs == [("0.05", False), ("0.05", False)]


@pytest_twisted.ensureDeferred
async def test_alerts_go_by_sms_from_the_operator_account_once(database: Database) -> None:
    rig = await started(database, monthly_quota=5, distinct_recipients=None, hourly_messages=None)
    operator = await rig.accounts.create_account("Opérateur", "operator", 1.0)
    acme = await rig.account()
    now = rig.clock.seconds()
    await database.run("set", update_settings, "Acme", {"alert_msisdn": "22376699999"}, "a", now)
    await rig.send(acme, "promo", to=[f"2237660000{n}" for n in range(4)])  # 80 %
    notifier = Notifier(database, rig.submissions, rig.clock)
    assert await notifier.run() == 1
    await rig.settle()
    fields = rig.connector.submitted[-1][0]
    assert fields["destination_addr"] == b"22376699999"
    assert "80 % du quota mensuel atteint (4 / 5)" in bytes(fields["short_message"]).decode()
    assert rows(database, "SELECT account_id FROM messages ORDER BY id DESC LIMIT 1") == [
        (operator.id,)
    ]
    assert await notifier.run() == 0  # sent once


@pytest_twisted.ensureDeferred
async def test_old_months_recipients_are_pruned(database: Database) -> None:
    rig = await started(database, distinct_recipients=10, hourly_messages=None)
    acme = await rig.account()
    await rig.send(acme, to=["22376600000"])
    assert rows(database, "SELECT period FROM fair_use_recipients") == [("2026-11",)]
    assert await database.run("prune", prune, rig.clock.seconds() + 31 * 86400) == 0
    assert await database.run("prune", prune, rig.clock.seconds() + 62 * 86400) == 1
    assert rows(database, "SELECT period FROM fair_use_recipients") == []


@pytest_twisted.ensureDeferred
async def test_alerts_go_by_e_mail_to_the_accounts_managers(database: Database) -> None:
    from twisted.internet import reactor

    from gatewayd.config.model import NotificationsConfig
    from gatewayd.pipeline.mailer import SmtpMailer
    from gatewayd.security import hash_secret
    from gatewayd.storage.accounts import create_user
    from tests.pipeline import smtp_server

    port, delivery = smtp_server.start(reactor)
    try:
        rig = await started(database, monthly_quota=5, distinct_recipients=None)
        acme = await rig.account()
        secret = hash_secret("x" * 16)
        for login, role, email in (
            ("boss", "manager", "boss@acme.example"),
            ("clerk", "user", "clerk@acme.example"),  # not a manager: no alert
            ("nomail", "manager", None),
        ):
            await database.run("user", create_user, "Acme", login, role, secret, 1.0, email)
        await rig.send(acme, "promo", to=[f"2237660000{n}" for n in range(4)])  # 80 %
        config = NotificationsConfig("127.0.0.1", port.getHost().port, "alerts@operator.example")
        notifier = Notifier(database, rig.submissions, rig.clock, SmtpMailer(reactor, config))
        assert await notifier.run() == 1
    finally:
        await port.stopListening()
    assert delivery.recipients == ["boss@acme.example"]
    [mail] = delivery.box
    assert mail["From"] == "alerts@operator.example"
    assert mail["Subject"] == "gatewayd : alerte de consommation (Acme)"
    assert "80 % du quota mensuel atteint (4 / 5)" in mail.get_payload(decode=True).decode()
