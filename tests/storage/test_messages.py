from __future__ import annotations

import pytest
import pytest_twisted

from gatewayd.errors import NotFound
from gatewayd.status import Status
from gatewayd.storage.accounts import AccountStore
from gatewayd.storage.database import Database
from gatewayd.storage.messages import MessageStore, NewBatch


def batch(account_id: int, recipients: list[str]) -> NewBatch:
    return NewBatch(account_id, None, "web", "Promo", "Bonjour", "ACME", recipients, 1, True)


@pytest_twisted.ensureDeferred
async def test_a_message_goes_from_accepted_to_delivered(database: Database) -> None:
    account = await AccountStore(database).create_account("Acme", "customer", 1.0)
    store = MessageStore(database)
    [public_id] = await store.accept(batch(account.id, ["22376600000"]), 10.0)
    [queued] = await store.queued(10, ())
    assert queued.public_id == public_id and queued.destination == "22376600000"
    assert await store.queued(10, (queued.id,)) == []
    await store.mark_sent(queued.id, "sim", ["ABC123"], 11.0)
    assert await store.queued(10, ()) == []
    assert await store.apply_receipt("sim", "ABC123", Status.DELIVERED, None, 12.0) == public_id
    assert await store.apply_receipt("sim", "nope", Status.DELIVERED, None, 12.0) is None
    view = await store.message(public_id, account.id)
    assert view.status == Status.DELIVERED
    assert [(e.status, e.at) for e in view.events] == [
        ("accepted", 10.0),
        ("queued", 10.0),
        ("sent", 11.0),
        ("delivered", 12.0),
    ]
    [summary] = await store.batches(account.id, 10, 0)
    assert (summary.recipients, summary.delivered, summary.failed, summary.pending) == (1, 1, 0, 0)


@pytest_twisted.ensureDeferred
async def test_receipt_before_response_is_not_undone(database: Database) -> None:
    account = await AccountStore(database).create_account("Acme", "customer", 1.0)
    store = MessageStore(database)
    [public_id] = await store.accept(batch(account.id, ["22376600000"]), 10.0)
    [queued] = await store.queued(10, ())
    await store.mark_failed(queued.id, Status.REJECTED, "smpp:0x0000000b", 11.0)
    await store.mark_sent(queued.id, "sim", ["X"], 12.0)
    assert (await store.message(public_id, None)).status == Status.REJECTED


@pytest_twisted.ensureDeferred
async def test_other_accounts_cannot_see_a_message(database: Database) -> None:
    accounts = AccountStore(database)
    acme = await accounts.create_account("Acme", "customer", 1.0)
    other = await accounts.create_account("Other", "customer", 1.0)
    store = MessageStore(database)
    [public_id] = await store.accept(batch(acme.id, ["22376600000"]), 10.0)
    with pytest.raises(NotFound):
        await store.message(public_id, other.id)
    view = await store.message(public_id, acme.id)
    with pytest.raises(NotFound):
        await store.batch_messages(view.batch_id, other.id)
    assert len(await store.batch_messages(view.batch_id, acme.id)) == 1
    assert await store.batches(other.id, 10, 0) == []
