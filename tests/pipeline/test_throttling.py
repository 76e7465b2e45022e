"""Throttling policy on the injected clock: an interactive sender over its account's rate is
refused with a retry time; batches are accepted and paced; operators' rates pace the queue."""

from __future__ import annotations

import pytest
import pytest_twisted

from gatewayd.errors import RateLimited
from gatewayd.storage.database import Database
from tests.pipeline.rig import Rig, ScriptedConnector


@pytest_twisted.ensureDeferred
async def test_an_interactive_sender_over_its_rate_is_refused_with_a_retry_time(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector(), account_tps=2.0)
    await rig.start()
    acme = await rig.account()
    await rig.send(acme, to=["22376600000"])
    await rig.send(acme, to=["22376600001"])
    with pytest.raises(RateLimited) as info:
        await rig.send(acme, to=["22376600002"])
    assert info.value.smpp_status == 0x58 and info.value.http_status == 429
    assert info.value.retry_after == pytest.approx(0.5)
    rig.clock.advance(0.5)
    await rig.send(acme, to=["22376600002"])  # a token came back
    other = await rig.account("Other")
    await rig.send(other, to=["22376600003"])  # its own bucket


@pytest_twisted.ensureDeferred
async def test_a_batch_is_accepted_whole_and_paced_at_the_accounts_rate(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector(), account_tps=5.0)
    await rig.start()
    acme = await rig.account()
    ids = await rig.send(acme, "promo", to=[f"2237660{i:04d}" for i in range(20)])
    assert len(ids) == 20
    assert len(rig.connector.submitted) == 5  # a second's worth of burst
    sent = []
    for _ in range(10):
        rig.clock.advance(0.4)
        await rig.settle()
        sent.append(len(rig.connector.submitted))
    assert sent[-1] == 20
    # About five a second: two more every 0.4 s once the burst is spent.
    assert sent[:4] == [7, 9, 11, 13]


@pytest_twisted.ensureDeferred
async def test_a_paced_operator_does_not_hold_back_another_accounts_messages(
    database: Database,
) -> None:
    rig = Rig(database, ScriptedConnector(), operator_tps={"Orange Mali": 2.0})
    rig.acceptance.plan = type(rig.acceptance.plan)({"2237": "Orange Mali"})
    await rig.start()
    acme = await rig.account()
    await rig.send(acme, "promo", to=[f"2237660{i:04d}" for i in range(10)])
    other = await rig.account("Other")
    await rig.send(other, "news", to=[f"3361234{i:04d}" for i in range(3)])
    dests = [bytes(f["destination_addr"]) for f, _ in rig.connector.submitted]
    assert sum(d.startswith(b"2237") for d in dests) == 2  # Orange Mali's burst
    assert sum(d.startswith(b"336") for d in dests) == 3  # France is not held back
    rig.clock.advance(1.0)
    await rig.settle()
    dests = [bytes(f["destination_addr"]) for f, _ in rig.connector.submitted]
    assert sum(d.startswith(b"2237") for d in dests) == 4
