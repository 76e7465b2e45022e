"""Two nodes on one PostgreSQL, one of them killed with SIGKILL under load (issue 8 item 1).

Two real ``gatewayd run`` processes share a database and the one connector to the SMSC
simulator (in this process, so its counters are read directly); the first node started holds
the connector's lease, the second hands what it accepts over to it. The customer binds to both
and sends half the load through each; once part of it is answered, the lease holder is killed
with SIGKILL, and its customer bind reconnects to the survivor, as a customer with two
addresses does. The test waits for the survivor to take the lease over and bind, and for the
load to finish, then checks that every message the customer got ESME_ROK for is final in the
database, that none is lost (the SMSC accepted each part of each stored message), that only
the parts the dead node had not recorded reached the SMSC twice, within docs/pipeline.md's
bound, and that the customer, bound to the survivor, got a receipt for every message. Figures
are printed (``pytest -s``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from twisted.internet import reactor

from gatewayd.smpp.simulator import Behaviour
from gatewayd.status import FAILED, Status
from tests.e2e.cluster_support import Cluster
from tests.e2e.faults_support import by_destination, destination, on_reactor, wait_until

pytestmark = pytest.mark.e2e

#: Messages per node (so twice this in all).
COUNT = 1500
#: Every 10th message is a 400-character text (three parts upstream).
LONG_EVERY = 10
LONG_PARTS = 3
ESME_WINDOW = 50
#: The lease holder is killed once the customer has this many answers from both nodes.
KILL_AT = 1000
#: [cluster] lease_seconds: a dead node's connector is taken over within it.
LEASE_SECONDS = 6
#: The leases are looked at every lease_seconds / 3 (docs: renewed that often); binding takes
#: well under this.
BIND_SLACK = 3.0
#: faults_support's [pipeline] max_unrecorded.
MAX_UNRECORDED = 200
#: Seconds each outcome may take before the test fails.
DEADLINE = 60.0


def report(cluster: Cluster, figures: dict[str, object]) -> None:
    sim = cluster.simulator
    print("\n== two nodes on PostgreSQL, the lease holder killed with SIGKILL")
    shown: dict[str, object] = {
        "messages (parts accepted by the SMSC)": f"{sum(lo.count for lo in cluster.loads)}"
        f" ({sim.accepted})",
        "SMSC duplicates": sim.duplicates,
        "SMSC connections (binds + reconnections)": sim.connections,
        "ESME submits sent again after a lost link": sum(lo.unanswered for lo in cluster.loads),
        "ESME_RTHROTTLED from gatewayd": sum(lo.throttled for lo in cluster.loads),
        "receipts per load (distinct)": [
            f"{lo.receipts} ({len(lo.receipted)})" for lo in cluster.loads
        ],
        **figures,
    }
    for key, value in shown.items():
        print(f"   {key}: {value}")
    for node in cluster.nodes:
        problems = node.problems()
        print(f"   {node.name} log lines at warn or above: {len(problems)}")
        for line in problems[:15]:
            print(f"     {line}")


async def check_outcome(cluster: Cluster) -> None:
    """Every acknowledged message is stored and final, and none is lost."""
    loads, sim = cluster.loads, cluster.simulator
    for load in loads:
        assert not load.errors, load.errors
        assert load.answered == load.count, (load.first, load.answered, load.count)
    rows = await cluster.store.in_thread(cluster.store.messages)
    stored = {row.public_id: row for row in rows}
    acked = cluster.acked_ids()
    missing = [mid for mid in acked if mid not in stored]
    assert not missing, f"{len(missing)} acknowledged message(s) not in the database: {missing[:5]}"
    for mid in acked:
        row = stored[mid]
        ended = row.status == Status.DELIVERED or (row.status in FAILED and row.error_code)
        assert ended, f"{row} is neither delivered nor failed with an error code"
    total = sum(load.count for load in loads)
    assert set(by_destination(rows)) == {destination(i).decode() for i in range(total)}
    # Each message once, plus those sent again because their answer died with the node.
    resent = sum(load.unanswered for load in loads)
    assert 0 <= len(rows) - total <= resent, (len(rows), total, resent)
    # Nothing lost on the way out: the SMSC accepted each part of each stored message.
    assert sim.accepted == sum(row.part_count for row in rows), (sim.accepted, len(rows))


@pytest.mark.xfail(
    strict=True,
    reason="cluster mode not landed yet (2026-12-02 21:13 UTC): [cluster] is configured but no"
    " lease service takes connector_leases ('the lease is held by None'), no hand-over/adoption",
)
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@on_reactor
async def test_lease_holder_killed_under_load(tmp_path: Path, db_url: str) -> None:
    cluster = Cluster.create(
        reactor, tmp_path, db_url, Behaviour(),
        count=COUNT, esme_window=ESME_WINDOW, long_every=LONG_EVERY, lease_seconds=LEASE_SECONDS,
    )  # fmt: skip
    sim, store = cluster.simulator, cluster.store
    survivor = cluster.nodes[1]
    try:
        dead = await cluster.start_holder()
        doomed = await cluster.connect(0, dead)
        await cluster.connect(1, survivor)
        await cluster.reached(KILL_AT, DEADLINE)

        dead.kill()
        killed_at = time.monotonic()
        answered_at_kill = cluster.answered
        # Receipts of the survivor's customer so far came from the other node's connector.
        crossed_before_kill = len(cluster.loads[1].receipted)
        receipted_at_kill = cluster.receipted()
        accepted_by_dead = {mid for ids in cluster.loads[0].acked.values() for mid in ids}
        await doomed.closed.addTimeout(10, reactor)
        await wait_until(reactor, "the SMSC seeing the links go", sim.unbound, 10)
        # What the SMSC took and what the database says was sent, as the kill left them; valid
        # while the survivor has not bound (only a bound node records sent parts).
        connections = sim.connections
        accepted_at_kill = sim.accepted
        recorded = await store.in_thread(store.parts_sent)
        measured_unbound = sim.connections == connections
        stored = {row.public_id for row in await store.in_thread(store.messages)}
        lost = [mid for mid in cluster.acked_ids() if mid not in stored]
        assert not lost, f"acknowledged before the kill, not in the database: {lost[:5]}"

        await cluster.connect(0, survivor)  # the customer's other address
        await cluster.takeover(survivor, LEASE_SECONDS * 3 + BIND_SLACK)
        takeover_s = time.monotonic() - killed_at
        for load in cluster.loads:
            await load.done().addTimeout(DEADLINE, reactor)
        final_s = await cluster.all_final(DEADLINE)
        await cluster.receipts_delivered(DEADLINE)

        up = survivor.upstream
        unrecorded = accepted_at_kill - recorded
        bound = MAX_UNRECORDED + 2 * up.window * up.binds + LONG_PARTS - 1
        owed = accepted_by_dead - receipted_at_kill
        by_node = await store.in_thread(store.by_node)
        report(
            cluster,
            {
                "answers at the kill (both nodes)": answered_at_kill,
                "parts the SMSC had accepted at the kill": accepted_at_kill,
                "parts recorded as sent at the kill": recorded,
                "parts in the SMSC's hands but not recorded": unrecorded,
                "measured before the survivor bound": measured_unbound,
                "duplicate bound (max_unrecorded + 2 x window x binds + parts - 1)": bound,
                "kill to the survivor holding the lease and bound, s": round(takeover_s, 2),
                "receipts at the survivor's bind before the kill (cross-node)": crossed_before_kill,
                "messages accepted by the dead node, receipt owed at the kill": len(owed),
                "first submit to all final, s": round(final_s, 2),
                "messages by node at the end": by_node,
            },
        )
        await check_outcome(cluster)
        # The dead node's customer had messages whose receipts came later, through the survivor.
        assert owed, "the kill came after every receipt: the test did not test a takeover"
        assert owed <= cluster.receipted()
        assert takeover_s <= LEASE_SECONDS * 4 / 3 + BIND_SLACK, takeover_s
        # Only what the dead node had not recorded was sent again, and all of it.
        if measured_unbound:
            assert sim.duplicates == unrecorded, (sim.duplicates, unrecorded)
        assert sim.duplicates <= bound, (sim.duplicates, bound)
    finally:
        codes = await cluster.close()
    assert codes.get(survivor.name) == 0, survivor.tail()
