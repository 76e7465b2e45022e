"""Retention: old final messages go with their parts and events, pending ones stay, batches
of the configured size, the job on a task.Clock, and the ``gatewayd db`` commands."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest_twisted
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater

from gatewayd.cli import main
from gatewayd.config.model import RetentionConfig
from gatewayd.retention import PurgeReport, RetentionJob, purge_sync
from gatewayd.storage.accounts import create_account
from gatewayd.storage.database import Database
from gatewayd.storage.migrate import upgrade
from gatewayd.storage.models import AuditEntry, Batch, Message, MessageEvent, MessagePart

DAY = 86400.0
NOW = time.time()


def _seed(s: Session, messages: list[tuple[str, float]], audits: list[float]) -> list[int]:
    account = create_account(s, "Acme", "customer", NOW)
    batch = Batch(account_id=account.id, channel="cli", body="hi", created_at=NOW - 400 * DAY)
    s.add(batch)
    s.flush()
    ids = []
    for i, (status, at) in enumerate(messages):
        m = Message(
            public_id=f"m{i}",
            batch_id=batch.id,
            account_id=account.id,
            destination="33612345678",
            status=status,
            created_at=at,
            updated_at=at,
        )
        s.add(m)
        s.flush()
        s.add(MessagePart(message_id=m.id, seq=1, status=status, updated_at=at))
        s.add(MessageEvent(message_id=m.id, status=status, at=at))
        ids.append(m.id)
    if audits:
        rows = [{"at": at, "actor": "system", "action": "test", "detail": ""} for at in audits]
        s.execute(insert(AuditEntry), rows)
    return ids


def _count(s: Session, model: Any, **where: Any) -> int:
    q = select(func.count()).select_from(model).filter_by(**where)
    return int(s.scalar(q) or 0)


def test_old_final_messages_go_with_parts_and_events_pending_ones_stay(
    database: Database,
) -> None:
    old, recent = NOW - 200 * DAY, NOW - 10 * DAY
    ids = database.run_sync(
        "seed",
        _seed,
        [("delivered", old), ("sent", old), ("queued", old), ("delivered", recent)],
        [NOW - 400 * DAY, NOW - 300 * DAY],
    )
    report = purge_sync(database, RetentionConfig(), NOW)
    assert report.deleted["messages"] == 1
    assert report.deleted["message_parts"] == 1 and report.deleted["message_events"] == 1
    assert report.deleted["audit_entries"] == 1  # 400 days > 365, 300 days kept

    def left(s: Session) -> tuple[list[int], int, int, int]:
        kept = list(s.scalars(select(Message.id).order_by(Message.id)))
        return kept, _count(s, MessagePart), _count(s, MessageEvent), _count(s, AuditEntry)

    kept, parts, events, audits = database.run_sync("left", left)
    assert kept == ids[1:]  # the old sent and queued messages are not final: kept
    assert (parts, events, audits) == (3, 3, 1)


def test_zero_keeps_for_ever(database: Database) -> None:
    database.run_sync("seed", _seed, [("delivered", NOW - 1000 * DAY)], [NOW - 1000 * DAY])
    config = RetentionConfig(messages_days=0, audit_days=0)
    report = purge_sync(database, config, NOW)
    assert "messages" not in report.deleted and "audit_entries" not in report.deleted
    assert database.run_sync("n", _count, Message) == 1
    assert database.run_sync("n", _count, AuditEntry) == 1


def test_a_purge_of_2500_rows_runs_3_transactions_of_the_batch_size(database: Database) -> None:
    database.run_sync("seed", _seed, [], [NOW - 400 * DAY - i for i in range(2500)])
    calls: list[str] = []
    real = database.run_sync

    def counting(label: str, fn: Any, *args: Any) -> Any:
        calls.append(label)
        return real(label, fn, *args)

    database.run_sync = counting  # type: ignore[method-assign]
    report = purge_sync(database, RetentionConfig(batch_size=1000), NOW)
    assert report.deleted["audit_entries"] == 2500
    assert report.transactions["audit_entries"] == 3
    assert calls.count("retention") == 3 + 5  # audit 3, one pass per other table (batches too)
    database.run_sync = real  # type: ignore[method-assign]
    assert real("n", _count, AuditEntry) == 0


@pytest_twisted.ensureDeferred
async def test_the_job_runs_on_its_clock_and_yields_between_batches(
    database: Database,
) -> None:
    database.run_sync("seed", _seed, [], [NOW - 400 * DAY - i for i in range(25)])
    clock = Clock()
    clock.advance(NOW)
    job = RetentionJob(database, clock, RetentionConfig(interval=600.0, batch_size=10))
    job.startService()
    try:
        clock.advance(599)
        for _ in range(20):  # let the database thread answer, if anything was asked
            await deferLater(reactor, 0, lambda: None)
        assert job.last_report is None  # not before its interval
        assert database.run_sync("n", _count, AuditEntry) == 25
        clock.advance(1)
        turns = 0
        while job.last_report is None:
            # Between two batches the job waits on its clock: it goes on only when it turns.
            now = clock.seconds()
            turns += sum(1 for c in clock.getDelayedCalls() if c.getTime() == now)
            clock.advance(0)
            await deferLater(reactor, 0, lambda: None)
        report: PurgeReport = job.last_report
        assert report.deleted["audit_entries"] == 25
        assert report.transactions["audit_entries"] == 3
        assert turns == 2  # 3 batches: it yielded to the reactor twice, between them
        assert database.run_sync("n", _count, AuditEntry) == 0
    finally:
        job.stopService()


def _cli(config: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "-c", str(config)], lambda: None, {}, io.StringIO(""), out, err)
    return code, out.getvalue(), err.getvalue()


def test_db_purge_stats_and_vacuum_in_process(db_url: str, tmp_path: Path) -> None:
    from gatewayd.config import DatabaseConfig
    from gatewayd.storage.database import create_db_engine

    config = tmp_path / "gatewayd.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\n[retention]\naudit_days = 30\n', encoding="utf-8"
    )
    engine = create_db_engine(DatabaseConfig(url=db_url))
    upgrade(engine)
    db = Database(engine, None, 1)  # type: ignore[arg-type]
    db.run_sync("seed", _seed, [("rejected", NOW - 200 * DAY)], [NOW - 40 * DAY, NOW])
    engine.dispose()

    code, out, _ = _cli(config, "db", "stats")
    assert code == 0
    assert "messages: 1 rows, oldest 20" in out and "audit_entries: 2 rows" in out
    assert "outbox: 0 rows, oldest -" in out
    code, out, _ = _cli(config, "db", "purge", "--dry-run")
    assert code == 0
    assert "messages: would delete 1" in out and "audit_entries: would delete 1" in out
    assert "message_parts: would delete 1" in out
    code, out, _ = _cli(config, "db", "stats")
    assert "messages: 1 rows" in out  # the dry run deleted nothing
    code, out, _ = _cli(config, "db", "purge")
    assert code == 0
    assert "messages: deleted 1" in out and "audit_entries: deleted 1" in out
    code, out, _ = _cli(config, "db", "stats")
    assert "messages: 0 rows" in out and "audit_entries: 1 rows" in out
    code, out, err = _cli(config, "db", "vacuum")
    assert code == 0, err
    assert "VACUUM" in out
    if db_url.startswith("postgresql"):
        assert "VACUUM (ANALYZE)" in out


def test_batches_left_without_messages_go_once_old_enough(database: Database) -> None:
    def seed(s: Session) -> None:
        _seed(s, [("delivered", NOW - 200 * DAY)], [])  # an old batch, its message purged
        account_id = s.scalars(select(Batch.account_id)).first()
        s.add(Batch(account_id=account_id, channel="cli", body="x", created_at=NOW - DAY))
        kept = Batch(account_id=account_id, channel="cli", body="y", created_at=NOW - 400 * DAY)
        s.add(kept)
        s.flush()
        queued = {"status": "queued", "created_at": NOW, "updated_at": NOW}
        s.add(
            Message(
                public_id="q", batch_id=kept.id, account_id=account_id,
                destination="33612345678", **queued,
            )
        )  # fmt: skip

    database.run_sync("seed", seed)
    report = purge_sync(database, RetentionConfig(batch_size=1), NOW)
    assert report.deleted["messages"] == 1 and report.deleted["batches"] == 1
    assert report.transactions["batches"] >= 1
    bodies = database.run_sync("n", lambda s: sorted(s.scalars(select(Batch.body))))
    assert bodies == ["x", "y"]  # the recent empty one and the one with a message stay
