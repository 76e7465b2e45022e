"""The pipeline on real storage with a scripted connector: parts, rejections, retries,
priorities, expiry, crash recovery and the memory limit."""

from __future__ import annotations

import pytest_twisted
from twisted.internet.defer import Deferred

from gatewayd.config import PipelineConfig
from gatewayd.smpp.client import ConnectorBusy, ConnectorUnavailable, SubmitRejected
from gatewayd.smpp.pdu import ESME_RINVDSTADR
from gatewayd.status import Status
from gatewayd.storage.database import Database
from tests.pipeline.rig import Rig, ScriptedConnector, receipt_pdu


@pytest_twisted.ensureDeferred
async def test_a_long_text_goes_as_udh_parts_and_is_delivered_when_every_part_is(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector(["A", "B"]))
    await rig.start()
    [public_id] = await rig.send(await rig.account(), "x" * 200)
    assert len(rig.connector.submitted) == 2
    for seq, (fields, _tlvs) in enumerate(rig.connector.submitted, start=1):
        assert fields["esm_class"] & 0x40 and fields["short_message"][5] == seq
    view = await rig.view(public_id)
    assert [e.status for e in view.events] == ["accepted", "queued", "sent"]
    await rig.deliver(receipt_pdu("A"))
    assert (await rig.view(public_id)).status == Status.SENT
    await rig.deliver(receipt_pdu("b"))  # any letter case
    assert (await rig.view(public_id)).status == Status.DELIVERED


@pytest_twisted.ensureDeferred
async def test_one_failed_part_fails_the_message(database: Database) -> None:
    rig = Rig(database, ScriptedConnector(["A", "B"], long_messages="sar"))
    await rig.start()
    [public_id] = await rig.send(await rig.account(), "x" * 200)
    assert all(tlvs for _f, tlvs in rig.connector.submitted)  # the sar_* TLVs
    await rig.deliver(receipt_pdu("B", "UNDELIV", "001"))
    await rig.deliver(receipt_pdu("A", "DELIVRD"))
    view = await rig.view(public_id)
    assert (view.status, view.error_code) == (Status.UNDELIVERABLE, "err:001")


@pytest_twisted.ensureDeferred
async def test_a_rejection_is_final(database: Database) -> None:
    rig = Rig(database, ScriptedConnector([SubmitRejected(ESME_RINVDSTADR, "bad destination")]))
    await rig.start()
    [public_id] = await rig.send(await rig.account())
    view = await rig.view(public_id)
    assert (view.status, view.error_code) == (Status.REJECTED, "smpp:0x0000000b")
    assert await rig.queued() == []


@pytest_twisted.ensureDeferred
async def test_a_busy_connector_keeps_the_message_queued_and_it_goes_later(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector([ConnectorBusy("busy")]))
    await rig.start()
    [public_id] = await rig.send(await rig.account())
    assert (await rig.view(public_id)).status == Status.QUEUED
    rig.clock.advance(1)  # the dispatcher's tick pumps again
    await rig.settle()
    assert (await rig.view(public_id)).status == Status.SENT
    assert len(rig.connector.submitted) == 2


@pytest_twisted.ensureDeferred
async def test_only_the_parts_the_smsc_did_not_take_are_sent_again(database: Database) -> None:
    rig = Rig(database, ScriptedConnector(["A", ConnectorUnavailable("link lost"), "C"]))
    await rig.start()
    [public_id] = await rig.send(await rig.account(), "x" * 200)
    assert (await rig.view(public_id)).status == Status.QUEUED
    rig.clock.advance(1)
    await rig.settle()
    sent = [fields["short_message"][5] for fields, _ in rig.connector.submitted]
    assert sent == [1, 2, 2]  # part 1 once, part 2 again
    assert (await rig.view(public_id)).status == Status.SENT


@pytest_twisted.ensureDeferred
async def test_a_partly_rejected_message_is_failed_whole(database: Database) -> None:
    rejected = SubmitRejected(ESME_RINVDSTADR, "bad destination")
    rig = Rig(database, ScriptedConnector(["A", rejected]))
    await rig.start()
    [public_id] = await rig.send(await rig.account(), "x" * 200)
    view = await rig.view(public_id)
    assert (view.status, view.error_code) == (Status.REJECTED, "partial:1/2 smpp:0x0000000b")


@pytest_twisted.ensureDeferred
async def test_transactional_messages_overtake_a_bulk_backlog(database: Database) -> None:
    rig = Rig(database, ScriptedConnector())
    rig.connector.bound = False
    await rig.start()
    acme = await rig.account()
    bulk = [f"2237660{i:04d}" for i in range(30)]
    await rig.send(acme, "promo", to=bulk)
    [otp] = await rig.send(acme, "code 1234", to=["22376699999"])
    rig.connector.bound = True
    rig.dispatcher.pump_all()
    await rig.settle()
    destinations = [f["destination_addr"] for f, _ in rig.connector.submitted]
    assert destinations[0] == b"22376699999"
    assert sorted(destinations[1:]) == [b.encode() for b in bulk]
    assert (await rig.view(otp)).status == Status.SENT


@pytest_twisted.ensureDeferred
async def test_messages_expire_while_their_connector_is_down(database: Database) -> None:
    rig = Rig(database, ScriptedConnector(), PipelineConfig(commit_delay=0.0, max_age=60.0))
    rig.connector.bound = False
    await rig.start()
    [public_id] = await rig.send(await rig.account())
    rig.clock.advance(30)
    await rig.settle()
    assert (await rig.view(public_id)).status == Status.QUEUED
    rig.clock.advance(31)
    await rig.settle()
    view = await rig.view(public_id)
    assert (view.status, view.error_code) == (Status.EXPIRED, "expired")
    rig.connector.bound = True
    rig.dispatcher.pump_all()
    assert rig.connector.submitted == []


@pytest_twisted.ensureDeferred
async def test_a_restart_resends_only_what_the_smsc_had_not_acknowledged(
    database: Database,
) -> None:
    never: Deferred[str] = Deferred()  # part 2's response never comes: the daemon dies
    rig = Rig(database, ScriptedConnector(["A", never, "Z"]))
    await rig.start()
    acme = await rig.account()
    [long_id] = await rig.send(acme, "x" * 200)
    [done_id] = await rig.send(acme, "short")
    rig.connector.submitted.clear()

    restarted = rig.new_dispatcher()
    await rig.start(restarted)
    sent = [(f["destination_addr"], f["short_message"][5]) for f, _ in rig.connector.submitted]
    assert sent == [(b"22376600000", 2)]  # the unacknowledged part only
    assert (await rig.view(long_id)).status == Status.SENT
    assert (await rig.view(done_id)).status == Status.SENT


@pytest_twisted.ensureDeferred
async def test_a_backlog_over_the_memory_limit_waits_in_the_database(database: Database) -> None:
    rig = Rig(database, ScriptedConnector(), PipelineConfig(commit_delay=0.0, memory_limit=10))
    rig.connector.bound = False
    await rig.start()
    acme = await rig.account()
    to = [f"2237660{i:04d}" for i in range(25)]
    await rig.send(acme, "promo", to=to)
    assert sum(rig.dispatcher.depth().values()) <= 10
    rig.connector.bound = True
    for _ in range(6):
        rig.clock.advance(1)
        await rig.settle()
    destinations = sorted(f["destination_addr"] for f, _ in rig.connector.submitted)
    assert destinations == [t.encode() for t in to]
    assert await rig.queued() == []


@pytest_twisted.ensureDeferred
async def test_a_big_backlog_in_the_database_does_not_hold_another_account_back(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector(), PipelineConfig(commit_delay=0.0, memory_limit=10))
    rig.connector.bound = False
    await rig.start()
    acme, beta = await rig.account("Acme"), await rig.account("Beta")
    await rig.send(acme, "promo", to=[f"2237660{i:04d}" for i in range(100)])
    await rig.send(beta, "news", to=[f"2237670{i:04d}" for i in range(5)])
    [otp] = await rig.send(beta, "code 1234", to=["22376699999"])
    # The OTP always gets in; so does a tenth of the limit of Beta's batch (one message).
    assert sum(rig.dispatcher.depth().values()) == 12
    rig.connector.bound = True
    for _ in range(30):
        rig.clock.advance(1)
        await rig.settle()
    destinations = [f["destination_addr"] for f, _ in rig.connector.submitted]
    assert len(destinations) == 106
    assert destinations[0] == b"22376699999"
    beta_positions = [i for i, d in enumerate(destinations) if d.startswith(b"2237670")]
    # Acme's ten in memory go first; then the refill takes turns between the two accounts.
    assert max(beta_positions) < 25, beta_positions
    assert (await rig.view(otp)).status == Status.SENT
    assert await rig.queued() == []


@pytest_twisted.ensureDeferred
async def test_sending_waits_while_the_database_is_behind(database: Database) -> None:
    rig = Rig(database, ScriptedConnector(), PipelineConfig(commit_delay=0.0, commit_max=5))
    rig.connector.bound = False
    await rig.start()
    acme = await rig.account()
    await rig.send(acme, "promo", to=[f"2237660{i:04d}" for i in range(20)])
    rig.committer.max_delay = 1.0  # from now on, writes wait a second on the clock
    rig.connector.bound = True
    rig.dispatcher.pump_all()
    # Each answer queues a write; past commit_max waiting, nothing more goes out.
    assert len(rig.connector.submitted) == 6
    assert rig.committer.waiting == 6
    rig.clock.advance(1.0)  # the writes commit, the dispatcher looks again
    await rig.committer.drain()
    rig.clock.advance(0.05)
    assert len(rig.connector.submitted) == 12
    rig.committer.max_delay = 0.0
    for _ in range(5):
        rig.clock.advance(1.0)
        await rig.settle()
    assert len(rig.connector.submitted) == 20
