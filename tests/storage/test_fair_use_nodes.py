"""Fair-use counters with two nodes on one database: each node has its own engine, connection
pool and group commit, and both accept for the same account at the same time. The counter row's
lock (PostgreSQL FOR UPDATE, SQLite's single writer) keeps the cap exact."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import pytest_twisted
from sqlalchemy import text
from twisted.internet import reactor
from twisted.internet.defer import DeferredList
from twisted.internet.task import Clock

from gatewayd.config import DatabaseConfig
from gatewayd.pipeline.submission import Submissions, SubmitRequest
from gatewayd.routing.fairuse_rules import BUILTIN_PLANS, Rules
from gatewayd.storage.accounts import create_account
from gatewayd.storage.committer import GroupCommitter
from gatewayd.storage.database import Database, create_db_engine
from gatewayd.storage.fair_use import FairUsePolicy

CAP = 50
PER_NODE = 40


def node(db_url: str, policy: FairUsePolicy, clock: Clock) -> tuple[Database, Submissions]:
    db = Database(create_db_engine(DatabaseConfig(url=db_url)), reactor, 4)
    db.startService()
    committer = GroupCommitter(db, clock, 0.001, lanes=True)
    return db, Submissions(committer, clock, lambda msgs: None, fair_use=policy)


@pytest_twisted.ensureDeferred
async def test_two_nodes_never_accept_more_than_the_cap_together(
    database: Database, db_url: str
) -> None:
    if database.engine.dialect.name == "sqlite":
        pytest.skip("several nodes share PostgreSQL; a SQLite file has one node (one writer)")
    now = time.time()
    account = await database.run("account", create_account, "Acme", "customer", now)
    rules = Rules(hourly_messages=CAP, distinct_recipients=None)
    policy = FairUsePolicy({**BUILTIN_PLANS, "cap": rules}, "cap")
    clock = Clock()
    clock.advance(now)
    nodes = [node(db_url, policy, clock) for _ in range(2)]
    try:
        first = nodes[0][1].submit(SubmitRequest(account, None, "api", ["22376699999"], "hi"))
        clock.advance(0.001)
        await first  # the counter row exists: from here on both nodes only update it
        sends = [
            submissions.submit(
                SubmitRequest(account, None, "api", [f"2237660{n:02d}{i:02d}"], "hi")
            )
            for i in range(PER_NODE)
            for n, (_, submissions) in enumerate(nodes)
        ]
        clock.advance(0.001)  # both nodes flush their 40 at the same moment
        results: list[tuple[bool, Any]] = await DeferredList(sends, consumeErrors=True)
    finally:
        for db, _ in nodes:
            db.stopService()
    accepted = sum(ok for ok, _ in results)
    refused = [r.value for ok, r in results if not ok]
    assert accepted == CAP - 1
    assert {getattr(e, "rule", type(e).__name__) for e in refused} <= {
        "hourly_messages",
        "suspension",
    }
    with database.session() as s:
        stored = s.execute(text("SELECT count(*) FROM messages")).scalar()
        state = json.loads(s.execute(text("SELECT state FROM fair_use_state")).scalar_one())
    assert stored == CAP
    assert state["messages"] == CAP


def test_a_nodes_acceptance_holds_the_counter_row_until_it_commits(
    database: Database, db_url: str
) -> None:
    """Deterministic: node 1 is inside its acceptance transaction; node 2's acceptance for the
    same account cannot read the counters until node 1 commits (it would count from stale
    ones otherwise)."""
    if database.engine.dialect.name == "sqlite":
        pytest.skip("several nodes share PostgreSQL; a SQLite file has one node (one writer)")
    from sqlalchemy.orm import Session

    from gatewayd.storage.fair_use import _load, decide
    from gatewayd.storage.messages import NewBatch
    from gatewayd.storage.raw import Raw

    policy = FairUsePolicy()
    now = time.time()
    with database.session() as s, s.begin():
        account = create_account(s, "Acme", "customer", now)
    batch = NewBatch(account.id, None, "api", "", "hi", "", ["22376600000"], 1, False)
    engine = create_db_engine(DatabaseConfig(url=db_url))
    with Session(database.engine) as one, one.begin():
        decide(Raw(one), policy, [batch], now)  # the counter row exists from here on
    with Session(database.engine) as one, one.begin():
        decide(Raw(one), policy, [batch], now)  # holds the row until it commits
        with Session(engine) as two, two.begin():
            two.execute(text("SET LOCAL lock_timeout = '300ms'"))
            try:  # reading the counters (no write yet) must wait for node 1
                _load(Raw(two), policy, [account.id], now)
            except Exception as error:  # the driver's LockNotAvailable, raw cursor
                assert "lock timeout" in str(error)
            else:
                raise AssertionError("node 2 read the counters while node 1 held them")
    engine.dispose()
