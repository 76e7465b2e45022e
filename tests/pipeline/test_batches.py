"""Batch control on real storage: scheduled batches, pause, resume and cancel."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.internet import threads
from twisted.internet.defer import Deferred

from gatewayd.errors import Conflict, NotFound
from gatewayd.pipeline.submission import OFFLOAD_FROM, InvalidRecipients, SubmitRequest
from gatewayd.status import Status
from gatewayd.storage.database import Database
from gatewayd.storage.models import Contact, ContactGroup, GroupMember
from tests.pipeline.rig import Rig, ScriptedConnector

NUMBERS = [f"2237660{i:04d}" for i in range(10)]


def sent(rig: Rig) -> list[bytes]:
    return [bytes(f["destination_addr"]) for f, _ in rig.connector.submitted]


async def batch_of(rig: Rig, public_id: str) -> int:
    return (await rig.view(public_id)).batch_id


@pytest_twisted.ensureDeferred
async def test_a_scheduled_batch_waits_for_its_time(database: Database) -> None:
    rig = Rig(database, ScriptedConnector())
    await rig.start()
    acme = await rig.account()
    at = rig.clock.seconds() + 3600
    ids = await rig.send(acme, "promo", to=NUMBERS, scheduled_at=at)
    assert sent(rig) == []
    assert {(await rig.view(i)).status for i in ids} == {Status.ACCEPTED}
    rig.clock.advance(3599)
    assert await rig.batches.release_due() == 0
    rig.clock.advance(1)
    assert await rig.batches.release_due() == 10
    await rig.settle()
    assert sorted(sent(rig)) == [n.encode() for n in NUMBERS]
    assert await rig.batches.release_due() == 0  # due once


@pytest_twisted.ensureDeferred
async def test_pause_holds_what_is_queued_and_resume_sends_it(database: Database) -> None:
    rig = Rig(database, ScriptedConnector())
    rig.connector.bound = False
    await rig.start()
    acme = await rig.account()
    ids = await rig.send(acme, "promo", to=NUMBERS)
    batch = await batch_of(rig, ids[0])
    change = await rig.batches.control(batch, acme.id, "pause")
    assert (change.state, change.affected) == ("paused", 10)
    assert sum(rig.dispatcher.depth().values()) == 0
    view = await rig.view(ids[0])
    assert (view.status, view.events[-1].error_code) == (Status.ACCEPTED, "paused")
    rig.connector.bound = True
    rig.clock.advance(1)
    await rig.settle()
    assert sent(rig) == []
    change = await rig.batches.control(batch, acme.id, "resume")
    assert change.affected == 10
    await rig.settle()
    assert sorted(sent(rig)) == [n.encode() for n in NUMBERS]
    assert {(await rig.view(i)).status for i in ids} == {Status.SENT}


@pytest_twisted.ensureDeferred
async def test_cancel_ends_what_is_still_queued_and_only_for_its_owner(database: Database) -> None:
    rig = Rig(database, ScriptedConnector())
    rig.connector.bound = False
    await rig.start()
    acme, other = await rig.account("Acme"), await rig.account("Other")
    ids = await rig.send(acme, "promo", to=NUMBERS)
    batch = await batch_of(rig, ids[0])
    with pytest.raises(NotFound):
        await rig.batches.control(batch, other.id, "cancel")
    change = await rig.batches.control(batch, None, "cancel")  # the operator
    assert change.affected == 10
    assert {(await rig.view(i)).status for i in ids} == {Status.CANCELLED}
    with pytest.raises(Conflict):
        await rig.batches.control(batch, acme.id, "resume")
    rig.connector.bound = True
    rig.clock.advance(1)
    await rig.settle()
    assert sent(rig) == []


def _group(s: Session, account_id: int, name: str, numbers: list[str]) -> None:
    group = ContactGroup(account_id=account_id, name=name, created_at=0.0)
    s.add(group)
    s.flush()
    for i, number in enumerate(numbers):
        # One contact per number in a book: a number in two groups is the same contact.
        contact = s.scalars(
            select(Contact).where(Contact.account_id == account_id, Contact.msisdn == number)
        ).first()
        if contact is None:
            contact = Contact(
                account_id=account_id,
                first_name=f"C{i}",
                last_name="X",
                msisdn=number,
                created_at=0,
            )
            s.add(contact)
            s.flush()
        s.add(GroupMember(group_id=group.id, contact_id=contact.id))


@pytest_twisted.ensureDeferred
async def test_groups_and_individuals_make_one_de_duplicated_batch(database: Database) -> None:
    rig = Rig(database, ScriptedConnector())
    await rig.start()
    acme, other = await rig.account("Acme"), await rig.account("Other")
    await database.run("group", _group, acme.id, "clients", NUMBERS[:3])
    await database.run("group", _group, acme.id, "staff", [NUMBERS[2], NUMBERS[3]])
    await database.run("group", _group, other.id, "theirs", [NUMBERS[9]])
    request = SubmitRequest(
        acme, None, "api", [NUMBERS[0], NUMBERS[4]], "promo", groups=["clients", "staff"]
    )
    accepted = await rig.submissions.submit_batch(request)
    await rig.settle()
    assert sorted(sent(rig)) == sorted(n.encode() for n in NUMBERS[:5])
    assert len(accepted.ids) == 5
    with pytest.raises(NotFound, match="no group 'theirs'"):
        await rig.submissions.submit_batch(
            SubmitRequest(acme, None, "api", [], "x", groups=["theirs"])
        )


@pytest_twisted.ensureDeferred
async def test_a_big_batch_is_checked_off_the_reactor(database: Database) -> None:
    rig = Rig(database, ScriptedConnector())
    await rig.start()
    acme = await rig.account()
    calls: list[int] = []

    def offload(fn: Any, *args: Any) -> Deferred[Any]:
        calls.append(len(args[0].recipients))
        return threads.deferToThread(fn, *args)

    rig.submissions._offload = offload
    small = [f"4915{n:08d}" for n in range(OFFLOAD_FROM)]
    await rig.submissions.submit_batch(SubmitRequest(acme, None, "api", small, "x"))
    big = [f"4916{n:08d}" for n in range(OFFLOAD_FROM + 1)]
    accepted = await rig.submissions.submit_batch(SubmitRequest(acme, None, "api", big, "x"))
    assert calls == [OFFLOAD_FROM + 1]
    assert len(accepted.ids) == OFFLOAD_FROM + 1
    with pytest.raises(InvalidRecipients):  # errors come back through the thread too
        await rig.submissions.submit_batch(SubmitRequest(acme, None, "api", [*big, "0"], "x"))
