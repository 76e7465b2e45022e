"""Receipts and MO on real storage: matching readings, receipts before their response,
receipts owed to customers, and MO routing."""

from __future__ import annotations

import pytest_twisted
from sqlalchemy import text
from twisted.internet.defer import Deferred

from gatewayd.smpp import pdu as p
from gatewayd.status import Status
from gatewayd.storage.database import Database
from gatewayd.storage.traffic import load_unmatched, outbox_for
from tests.pipeline.rig import Rig, ScriptedConnector, receipt_pdu, receipt_tlv_only


@pytest_twisted.ensureDeferred
async def test_a_decimal_receipt_finds_its_hex_response(database: Database) -> None:
    rig = Rig(database, ScriptedConnector(["001A2B"], receipt_ids="decimal"))
    await rig.start()
    [public_id] = await rig.send(await rig.account())
    await rig.deliver(receipt_pdu("6699"))
    assert (await rig.view(public_id)).status == Status.DELIVERED


@pytest_twisted.ensureDeferred
async def test_the_other_readings_are_tried_when_the_configured_one_fails(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector(["6699", "00FF"]))  # receipt_ids = "same"
    await rig.start()
    acme = await rig.account()
    [first] = await rig.send(acme)
    [second] = await rig.send(acme)
    await rig.deliver(receipt_pdu("1A2B"))  # hex of the decimal 6699
    await rig.deliver(receipt_tlv_only("255", "UNDELIV"))  # decimal of 0xFF, TLVs only
    assert (await rig.view(first)).status == Status.DELIVERED
    assert (await rig.view(second)).status == Status.UNDELIVERABLE


@pytest_twisted.ensureDeferred
async def test_a_receipt_that_overtakes_its_response_is_kept_and_applied(
    database: Database,
) -> None:
    response: Deferred[str] = Deferred()
    rig = Rig(database, ScriptedConnector([response]))
    await rig.start()
    [public_id] = await rig.send(await rig.account())
    await rig.deliver(receipt_pdu("ABC"))
    assert len(await database.run("held", load_unmatched)) == 1
    assert rig.receipts.held == 1
    response.callback("abc")
    await rig.settle()
    view = await rig.view(public_id)
    assert [e.status for e in view.events] == ["accepted", "queued", "sent", "delivered"]
    assert await database.run("held", load_unmatched) == []
    assert rig.receipts.held == 0


@pytest_twisted.ensureDeferred
async def test_held_receipts_survive_a_restart(database: Database) -> None:
    never: Deferred[str] = Deferred()
    rig = Rig(database, ScriptedConnector([never, "XYZ"]))
    await rig.start()
    [public_id] = await rig.send(await rig.account())
    await rig.deliver(receipt_pdu("XYZ"))
    # The daemon dies; a new one resends the message, the SMSC answers XYZ again.
    restarted = Rig(database, rig.connector, clock=rig.clock)
    await restarted.start()
    assert (await restarted.view(public_id)).status == Status.DELIVERED


@pytest_twisted.ensureDeferred
async def test_receipts_go_to_the_customers_outbox_only_when_asked_for(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector(["A", "B"]))
    await rig.start()
    acme = await rig.account()
    [wanted] = await rig.send(acme, registered_delivery=True)
    [unwanted] = await rig.send(acme, registered_delivery=False)
    await rig.deliver(receipt_pdu("A", "UNDELIV", "012"))
    await rig.deliver(receipt_pdu("B"))
    [row] = rig.forwarded
    assert (row.kind, row.channel, row.account_id) == ("receipt", "smpp", acme.id)
    assert row.payload["message_id"] == wanted and row.payload["stat"] == "UNDELIV"
    assert row.payload["err"] == "012" and row.payload["to"] == "22376600000"
    stored = await database.run("outbox", outbox_for, acme.id, "smpp", 0, 10)
    assert [r.id for r in stored] == [row.id]
    assert (await rig.view(unwanted)).status == Status.DELIVERED


def mo_pdu(to: str, text: bytes) -> p.Pdu:
    return p.Pdu(
        p.DELIVER_SM,
        fields={
            "source_addr": b"22376611111",
            "destination_addr": to.encode(),
            "short_message": text,
        },
    )


@pytest_twisted.ensureDeferred
async def test_mo_goes_to_the_account_of_its_short_code_and_unrouted_mo_is_kept(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector(), mo_routes={"36180": "Acme"})
    await rig.start()
    acme = await rig.accounts.create_account("Acme", "customer", 1.0, "acme", "x" * 10)
    await rig.deliver(mo_pdu("36180", b"STOP"))
    await rig.deliver(mo_pdu("99999", b"lost?"))
    [row] = rig.forwarded
    assert (row.kind, row.channel, row.account_id) == ("mo", "smpp", acme.id)
    assert row.payload["text"] == "STOP" and row.payload["from"] == "22376611111"
    query = text("SELECT destination, account_id FROM inbound_messages")
    kept = await database.run("mo", lambda s: s.execute(query).all())
    assert sorted(tuple(r) for r in kept) == [("36180", acme.id), ("99999", None)]


@pytest_twisted.ensureDeferred
async def test_a_receipt_arriving_before_the_pipeline_has_started_waits_for_it(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector(["R1"]))
    await rig.start()
    [public_id] = await rig.send(await rig.account())
    # A restart: the SMSC sends what it kept as soon as the bind is up, before the ids are known.
    restarted = Rig(database, rig.connector, clock=rig.clock)
    early = restarted.receipts.on_deliver(rig.connector, receipt_pdu("R1"))
    assert not early.called
    await restarted.start()
    await early
    await restarted.settle()
    assert (await restarted.view(public_id)).status == Status.DELIVERED
