"""LISTEN/NOTIFY on a real PostgreSQL: a NOTIFY sent in a transaction reaches the subscriber
on the reactor after the commit, and a fresh subscription first gets the "" rescan."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred

from gatewayd.cluster.notify import QUEUE, PgNotifications, notify
from gatewayd.storage.database import Database


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest_twisted.ensureDeferred
async def test_a_notify_reaches_the_subscriber_after_commit(
    database: Database, db_url: str
) -> None:
    from twisted.internet import reactor

    got: list[str] = []
    waiters: list[Deferred[None]] = []

    def seen(payload: str) -> None:
        got.append(payload)
        while waiters:
            waiters.pop().callback(None)

    async def next_payload(count: int) -> None:
        if len(got) >= count:
            return
        d: Deferred[None] = Deferred()
        waiters.append(d)
        d.addTimeout(10, reactor)
        await d

    listener = PgNotifications(db_url, reactor)
    listener.subscribe(QUEUE, seen)
    listener.startService()
    try:
        await next_payload(1)
        assert got == [""]  # the rescan on connect
        await database.run("notify", notify, QUEUE, "node-b")
        await next_payload(2)
        assert got == ["", "node-b"]
    finally:
        listener.stopService()
