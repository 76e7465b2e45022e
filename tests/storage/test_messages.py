from __future__ import annotations

import pytest
import pytest_twisted

from gatewayd.errors import NotFound
from gatewayd.status import Status
from gatewayd.storage.database import Database
from tests.pipeline.rig import Rig, ScriptedConnector, receipt_pdu


@pytest_twisted.ensureDeferred
async def test_a_message_goes_from_accepted_to_delivered(database: Database) -> None:
    rig = Rig(database, ScriptedConnector(["ABC123"]))
    await rig.start()
    account = await rig.account()
    t0 = rig.clock.seconds()
    [public_id] = await rig.send(account, "Bonjour", subject="Promo")
    rig.clock.advance(2)
    await rig.deliver(receipt_pdu("ABC123"))
    view = await rig.store.message(public_id, account.id)
    assert view.status == Status.DELIVERED
    assert [(e.status, e.at - t0) for e in view.events] == [
        ("accepted", 0.0),
        ("queued", 0.0),
        ("sent", 0.0),
        ("delivered", 2.0),
    ]
    [summary] = await rig.store.batches(account.id, 10, 0)
    assert (summary.recipients, summary.delivered, summary.failed, summary.pending) == (1, 1, 0, 0)
    assert summary.subject == "Promo" and summary.body == "Bonjour"


@pytest_twisted.ensureDeferred
async def test_a_batch_counts_its_recipients_by_outcome(database: Database) -> None:
    rig = Rig(database, ScriptedConnector(["A", "B", "C"]))
    await rig.start()
    account = await rig.account()
    await rig.send(account, "Bonjour", to=["22376600000", "22376600001", "22376600002"])
    await rig.deliver(receipt_pdu("A"))
    await rig.deliver(receipt_pdu("B", "UNDELIV", "001"))
    [summary] = await rig.store.batches(account.id, 10, 0)
    assert (summary.recipients, summary.delivered, summary.failed, summary.pending) == (3, 1, 1, 1)


@pytest_twisted.ensureDeferred
async def test_other_accounts_cannot_see_a_message(database: Database) -> None:
    rig = Rig(database, ScriptedConnector())
    await rig.start()
    acme = await rig.account("Acme")
    other = await rig.account("Other")
    [public_id] = await rig.send(acme)
    with pytest.raises(NotFound):
        await rig.store.message(public_id, other.id)
