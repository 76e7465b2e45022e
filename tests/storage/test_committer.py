"""Group commit on real storage: batching on the clock, one bad write failing alone, and lanes
that let new messages commit while another lane's flush is still running."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
import pytest_twisted
from sqlalchemy import text
from sqlalchemy.orm import Session
from twisted.internet import threads
from twisted.internet.defer import gatherResults
from twisted.internet.task import Clock

from gatewayd.storage.committer import GroupCommitter, WriteKind
from gatewayd.storage.database import Database


def _insert(s: Session, items: Sequence[str]) -> list[int]:
    out = []
    for name in items:
        if not name:
            raise ValueError("empty name")
        s.execute(text("INSERT INTO connectors (name, created_at) VALUES (:n, 0)"), {"n": name})
        out.append(len(name))
    return out


INSERT = WriteKind("insert", _insert)
INSERT_ASIDE = WriteKind("insert-aside", _insert, lane="aside")


def names(database: Database) -> list[str]:
    with database.session() as s:
        return list(s.scalars(text("SELECT name FROM connectors ORDER BY id")))


@pytest_twisted.ensureDeferred
async def test_writes_wait_for_the_delay_then_commit_together(database: Database) -> None:
    clock = Clock()
    committer = GroupCommitter(database, clock, max_delay=0.002)
    pending = [committer.add(INSERT, name) for name in ("a", "bb", "ccc")]
    assert committer.waiting == 3
    clock.advance(0.001)
    assert committer.waiting == 3
    assert names(database) == []
    clock.advance(0.001)
    assert committer.waiting == 0
    assert await gatherResults(pending) == [1, 2, 3]
    assert names(database) == ["a", "bb", "ccc"]
    assert (committer.stats.flushes, committer.stats.largest) == (1, 3)


@pytest_twisted.ensureDeferred
async def test_one_bad_write_fails_alone(database: Database) -> None:
    committer = GroupCommitter(database, Clock(), max_delay=0.0)
    good = committer.add(INSERT, "a")
    bad = committer.add(INSERT, "")
    also = committer.add(INSERT, "b")
    assert await good == 1
    with pytest.raises(ValueError, match="empty name"):
        await bad
    assert await also == 1
    assert sorted(names(database)) == ["a", "b"]


@pytest_twisted.ensureDeferred
async def test_a_lane_commits_while_another_lanes_flush_is_held(database: Database) -> None:
    if database.engine.dialect.name == "sqlite":
        pytest.skip("lanes are for PostgreSQL: SQLite has one writer")
    release = threading.Event()

    def held(s: Session, items: Sequence[str]) -> list[int]:
        assert release.wait(30), "the other lane never committed"
        return _insert(s, items)

    committer = GroupCommitter(database, Clock(), max_delay=0.0, lanes=True)
    blocked = committer.add(WriteKind("held", held), "main")
    assert await committer.add(INSERT_ASIDE, "aside") == 5  # committed while "main" waits
    assert names(database) == ["aside"]
    release.set()
    assert await blocked == 4
    await committer.drain()
    assert names(database) == ["aside", "main"]


@pytest_twisted.ensureDeferred
async def test_without_lanes_every_write_shares_one_lane(database: Database) -> None:
    release = threading.Event()
    order: list[str] = []

    def held(s: Session, items: Sequence[str]) -> list[int]:
        release.wait(30)
        order.append("held")
        return _insert(s, items)

    committer = GroupCommitter(database, Clock(), max_delay=0.0)
    first = committer.add(WriteKind("held", held), "main")
    second = committer.add(INSERT_ASIDE, "aside").addCallback(lambda _: order.append("aside"))
    await threads.deferToThread(release.set)
    await first
    await second
    assert order == ["held", "aside"]
