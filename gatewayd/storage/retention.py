"""Retention: what is old enough to purge, deleted in short transactions, oldest first.

Pure SQL functions taking a Session (SQLite and PostgreSQL). Each :func:`purge_batch` call
deletes at most ``limit`` rows of one table (by primary key, oldest first), its children
first, so the caller runs it in its own transaction and yields between calls. A message is
purged only once its status is final, a batch once it has no message left; the outbox only
once an entry has expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, func, select
from sqlalchemy.orm import Session

from gatewayd.status import FINAL
from gatewayd.storage.models import (
    AuditEntry,
    Batch,
    InboundMessage,
    Message,
    MessageEvent,
    MessagePart,
    OutboxEntry,
    UnmatchedReceipt,
)

DAY = 86400.0

# Purged tables, in order, with the [retention] key giving their age in days.
TABLES: tuple[tuple[str, str], ...] = (
    ("messages", "messages_days"),
    ("batches", "messages_days"),  # after the messages: those left with none
    ("unmatched_receipts", "outbox_days"),
    ("outbox", "outbox_days"),
    ("inbound_messages", "inbound_days"),
    ("audit_entries", "audit_days"),
)
# Rows deleted with a message (its children), counted apart.
CHILDREN = ("message_parts", "message_events")
# Tables shown by ``gatewayd db stats`` with the column dating their rows.
STATS: tuple[tuple[Any, Any], ...] = (
    (Message, Message.created_at),
    (MessagePart, MessagePart.updated_at),
    (MessageEvent, MessageEvent.at),
    (UnmatchedReceipt, UnmatchedReceipt.received_at),
    (OutboxEntry, OutboxEntry.created_at),
    (InboundMessage, InboundMessage.received_at),
    (AuditEntry, AuditEntry.at),
)


@dataclass(frozen=True)
class Cutoff:
    """Rows of ``table`` older than ``before`` (a Unix time) are purged; ``now`` for expiry."""

    table: str
    before: float
    now: float


def cutoffs(days: dict[str, int], now: float) -> list[Cutoff]:
    """One cutoff per table whose retention is not 0 (0 keeps for ever)."""
    return [Cutoff(t, now - days[key] * DAY, now) for t, key in TABLES if days[key] > 0]


def _condition(c: Cutoff) -> tuple[Any, ColumnElement[bool]]:
    if c.table == "messages":
        cond = (Message.created_at < c.before) & Message.status.in_([str(s) for s in FINAL])
        return Message, cond & (Message.updated_at < c.before)
    if c.table == "batches":
        left = select(Message.id).where(Message.batch_id == Batch.id).exists()
        return Batch, (Batch.created_at < c.before) & ~left
    if c.table == "unmatched_receipts":
        return UnmatchedReceipt, UnmatchedReceipt.received_at < c.before
    if c.table == "outbox":
        return OutboxEntry, (OutboxEntry.created_at < c.before) & (OutboxEntry.expires_at < c.now)
    if c.table == "inbound_messages":
        return InboundMessage, InboundMessage.received_at < c.before
    if c.table == "audit_entries":
        return AuditEntry, AuditEntry.at < c.before
    raise ValueError(f"no retention for table {c.table!r}")


def purge_batch(s: Session, c: Cutoff, limit: int) -> dict[str, int]:
    """Delete up to ``limit`` purgeable rows of ``c.table`` (lowest ids first) and their
    children; returns the rows deleted per table."""
    model, cond = _condition(c)
    ids: Sequence[int] = s.scalars(
        select(model.id).where(cond).order_by(model.id).limit(limit)
    ).all()
    done: dict[str, int] = {}
    if not ids:
        return {c.table: 0}
    if model is Message:
        for child in (MessagePart, MessageEvent):
            table: Table = child.__table__  # type: ignore[assignment]
            res = s.execute(delete(child).where(child.message_id.in_(ids)))
            done[table.name] = res.rowcount  # type: ignore[attr-defined]
    res = s.execute(delete(model).where(model.id.in_(ids)))
    done[c.table] = res.rowcount  # type: ignore[attr-defined]
    return done


def count_purgeable(s: Session, c: Cutoff) -> dict[str, int]:
    """What purging ``c`` would delete, per table (for ``--dry-run``)."""
    model, cond = _condition(c)
    out = {c.table: s.scalar(select(func.count()).select_from(model).where(cond)) or 0}
    if model is Message:
        ids = select(Message.id).where(cond)
        for child in (MessagePart, MessageEvent):
            table: Table = child.__table__  # type: ignore[assignment]
            where = child.message_id.in_(ids)
            out[table.name] = s.scalar(select(func.count()).select_from(child).where(where)) or 0
    return out


@dataclass(frozen=True)
class TableStats:
    table: str
    rows: int
    oldest: float | None  # Unix time of the oldest row, None when empty


def table_stats(s: Session) -> list[TableStats]:
    """Rows per table and the date of the oldest one."""
    out = []
    for model, column in STATS:
        rows, oldest = s.execute(select(func.count(), func.min(column)).select_from(model)).one()
        out.append(TableStats(model.__tablename__, int(rows), oldest))
    return out
