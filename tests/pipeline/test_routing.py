"""Routes in the pipeline: failover after a routing error, weighted balance, reject rules,
and per-account settings from the directory (sender IDs, country, share)."""

from __future__ import annotations

import pytest
import pytest_twisted

from gatewayd.pipeline.submission import InvalidRecipients
from gatewayd.routing.table import Balance, Failover, Match, Reject, Resend, Rule
from gatewayd.smpp.client import SubmitRejected
from gatewayd.smpp.pdu import ESME_RINVDSTADR, ESME_RSYSERR
from gatewayd.status import Status
from gatewayd.storage.account_policy import add_sender, update_settings
from gatewayd.storage.database import Database
from tests.pipeline.rig import Rig, ScriptedConnector, receipt_pdu


def destinations(connector: ScriptedConnector) -> list[bytes]:
    return [bytes(f["destination_addr"]) for f, _ in connector.submitted]


def two_connectors(database: Database, *rules: Rule) -> tuple[Rig, ScriptedConnector]:
    backup = ScriptedConnector()
    backup.name = "backup"
    return Rig(database, ScriptedConnector(), rules=rules, extra={"backup": backup}), backup


@pytest_twisted.ensureDeferred
async def test_a_routing_error_sends_the_message_through_the_next_connector(
    database: Database,
) -> None:
    rig, backup = two_connectors(database, Rule("ml", Match(), Failover(("up", "backup"))))
    rig.connector.answers = [
        SubmitRejected(ESME_RINVDSTADR, "no such number"),
        SubmitRejected(ESME_RSYSERR, "broken"),
    ]
    await rig.start()
    acme = await rig.account()
    [moved] = await rig.send(acme, to=["22376600000"])
    [failed] = await rig.send(acme, to=["22376600001"])
    assert destinations(rig.connector) == [b"22376600000", b"22376600001"]
    assert destinations(backup) == [b"22376600000"]  # a system error is not a routing error
    assert (await rig.view(moved)).status == Status.SENT
    assert (await rig.view(failed)).status == Status.REJECTED


@pytest_twisted.ensureDeferred
async def test_balance_splits_by_weight_and_skips_an_unbound_member(database: Database) -> None:
    rule = Rule("split", Match(), Balance((("up", 3), ("backup", 1))))
    rig, backup = two_connectors(database, rule)
    await rig.start()
    acme = await rig.account()
    for i in range(8):
        await rig.send(acme, to=[f"2237660000{i}"])
    assert (len(rig.connector.submitted), len(backup.submitted)) == (6, 2)
    rig.connector.bound = False
    await rig.send(acme, to=["22376600009"])
    assert destinations(backup)[-1] == b"22376600009"


@pytest_twisted.ensureDeferred
async def test_reject_rules_and_sender_lists_apply_at_acceptance(database: Database) -> None:
    rule = Rule("closed", Match(prefixes=("33",)), Reject(ESME_RINVDSTADR, "France closed"))
    rig = Rig(database, ScriptedConnector(), rules=(rule,))
    await rig.start()
    acme = await rig.account()
    with pytest.raises(InvalidRecipients, match="France closed"):
        await rig.send(acme, to=["33612345678"])
    await database.run("sender", add_sender, "Acme", "Acme-Shop", "admin", 1.0)
    await database.run("settings", update_settings, "Acme", {"country": "ML"}, "admin", 1.0)
    await rig.directory.reload()
    [ok] = await rig.send(acme, to=["76 60 00 00"], sender="ACME-SHOP")
    fields = rig.connector.submitted[-1][0]
    assert (fields["destination_addr"], fields["source_addr"]) == (b"22376600000", b"Acme-Shop")
    assert (fields["source_addr_ton"], fields["source_addr_npi"]) == (5, 0)
    assert (await rig.view(ok)).status == Status.SENT
    with pytest.raises(Exception, match="allowed senders"):
        await rig.send(acme, to=["22376600000"], sender="OTHER")


@pytest_twisted.ensureDeferred
async def test_an_undelivered_message_is_resent_once_through_the_routes_other_connector(
    database: Database,
) -> None:
    resend = Resend("backup", frozenset({"undeliverable"}))
    rule = Rule("ml", Match(prefixes=("223",)), Failover(("up",)), resend)
    rig, backup = two_connectors(database, rule)
    await rig.start()
    acme = await rig.account()
    [first, second] = await rig.send(acme, to=["22376600000", "22376600001"], text="promo")
    await rig.deliver(receipt_pdu("1", "UNDELIV", "012"))  # the first, on "up"
    assert destinations(backup) == [b"22376600000"]
    view = await rig.view(first)
    assert view.status == Status.SENT  # queued again, then sent through backup
    assert [e.status for e in view.events] == ["accepted", "queued", "sent", "queued", "sent"]
    assert view.events[3].error_code == "resend:backup"
    assert rig.forwarded == []  # the customer hears of the outcome, not of the first try
    await rig.receipts.on_deliver(backup, receipt_pdu("1", "DELIVRD"))
    await rig.settle()
    assert (await rig.view(first)).status == Status.DELIVERED
    # Once only: the second message fails on "up", then on "backup", and stays failed.
    await rig.deliver(receipt_pdu("2", "UNDELIV", "012"))
    assert destinations(backup)[-1] == b"22376600001"
    await rig.receipts.on_deliver(backup, receipt_pdu("2", "UNDELIV", "012"))
    await rig.settle()
    assert (await rig.view(second)).status == Status.UNDELIVERABLE
    assert len(backup.submitted) == 2
