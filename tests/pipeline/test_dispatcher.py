"""The dispatcher on real storage with a scripted connector: parts, rejections, receipts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest_twisted
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from gatewayd.config import ConnectorConfig
from gatewayd.pipeline.dispatcher import Dispatcher
from gatewayd.routing.router import StaticRouter
from gatewayd.smpp.client import ConnectorBusy, SubmitRejected
from gatewayd.smpp.pdu import ESME_RINVDSTADR
from gatewayd.status import Status
from gatewayd.storage.accounts import AccountStore
from gatewayd.storage.database import Database
from gatewayd.storage.messages import MessageStore, NewBatch


class ScriptedConnector:
    """Answers each submit from a script: an id, or an exception to fail with."""

    def __init__(self, answers: list[str | Exception], **config: Any) -> None:
        self.config = ConnectorConfig(host="h", system_id="gw", **config)
        self.answers = answers
        self.submitted: list[tuple[dict[str, Any], tuple[tuple[int, bytes], ...]]] = []
        self.room = True

    @property
    def is_bound(self) -> bool:
        return True

    def has_room(self, submits: int) -> bool:
        return self.room

    def submit(
        self, fields: Mapping[str, Any], tlvs: Sequence[tuple[int, bytes]] = ()
    ) -> Deferred[str]:
        self.submitted.append((dict(fields), tuple(tlvs)))
        answer = self.answers.pop(0)
        return fail(answer) if isinstance(answer, Exception) else succeed(answer)


async def run_once(
    database: Database, text: str, connector: ScriptedConnector
) -> tuple[MessageStore, str]:
    account = await AccountStore(database).create_account("Acme", "customer", 1.0)
    store = MessageStore(database)
    batch = NewBatch(account.id, None, "web", "", text, "ACME", ["22376600000"], 1, True)
    [public_id] = await store.accept(batch, 10.0)
    dispatcher = Dispatcher(store, {"up": connector}, StaticRouter("up"), Clock())
    await dispatcher._one_pass()
    for pending in list(dispatcher._in_flight.values()):
        await pending
    return store, public_id


@pytest_twisted.ensureDeferred
async def test_a_long_text_goes_as_udh_parts_and_is_delivered_when_every_part_is(
    database: Database,
) -> None:
    connector = ScriptedConnector(["A", "B"])
    store, public_id = await run_once(database, "x" * 200, connector)
    assert len(connector.submitted) == 2
    for seq, (fields, _tlvs) in enumerate(connector.submitted, start=1):
        assert fields["esm_class"] & 0x40 and fields["short_message"][5] == seq
    assert (await store.message(public_id, None)).status == Status.SENT
    await store.apply_receipt("up", "A", Status.DELIVERED, None, 11.0)
    assert (await store.message(public_id, None)).status == Status.SENT
    await store.apply_receipt("up", "B", Status.DELIVERED, None, 12.0)
    assert (await store.message(public_id, None)).status == Status.DELIVERED


@pytest_twisted.ensureDeferred
async def test_one_failed_part_fails_the_message(database: Database) -> None:
    connector = ScriptedConnector(["A", "B"], long_messages="sar")
    store, public_id = await run_once(database, "x" * 200, connector)
    assert all(tlvs for _f, tlvs in connector.submitted)  # the sar_* TLVs
    await store.apply_receipt("up", "B", Status.UNDELIVERABLE, "err:001", 11.0)
    view = await store.message(public_id, None)
    assert (view.status, view.error_code) == (Status.UNDELIVERABLE, "err:001")


@pytest_twisted.ensureDeferred
async def test_a_rejection_is_final_and_busy_stays_queued(database: Database) -> None:
    rejected = SubmitRejected(ESME_RINVDSTADR, "bad destination")
    store, public_id = await run_once(database, "hi", ScriptedConnector([rejected]))
    view = await store.message(public_id, None)
    assert (view.status, view.error_code) == (Status.REJECTED, "smpp:0x0000000b")


@pytest_twisted.ensureDeferred
async def test_busy_or_full_connectors_leave_the_message_queued(database: Database) -> None:
    store, public_id = await run_once(database, "hi", ScriptedConnector([ConnectorBusy("busy")]))
    assert (await store.message(public_id, None)).status == Status.QUEUED


@pytest_twisted.ensureDeferred
async def test_a_partly_sent_message_is_not_resent(database: Database) -> None:
    connector = ScriptedConnector(["A", SubmitRejected(ESME_RINVDSTADR, "bad destination")])
    store, public_id = await run_once(database, "x" * 200, connector)
    view = await store.message(public_id, None)
    assert (view.status, view.error_code) == (Status.REJECTED, "partial:1/2")
    assert await store.queued(10, ()) == []
