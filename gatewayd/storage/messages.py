"""Batches, messages, their parts and their status history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred

from gatewayd.errors import Conflict, NotFound
from gatewayd.status import FAILED, PENDING, Status
from gatewayd.storage.database import Database
from gatewayd.storage.models import Batch, Connector, Message, MessageEvent


@dataclass(frozen=True)
class NewBatch:
    account_id: int
    user_id: int | None
    channel: str
    subject: str
    body: str
    sender: str
    recipients: Sequence[str]
    part_count: int
    registered_delivery: bool
    priority: int = 0  # 1: transactional, 0: bulk
    expires_at: float | None = None
    scheduled_at: float | None = None  # held (status accepted) until then
    classes: Sequence[tuple[str, str]] = ()  # per recipient: (scope, operator)


@dataclass(frozen=True)
class Outbound:
    """What the dispatcher needs to send one queued message."""

    id: int
    public_id: str
    destination: str
    sender: str
    body: str
    registered_delivery: bool
    account_id: int = 0
    priority: int = 0
    expires_at: float | None = None
    sent_parts: frozenset[int] = frozenset()  # parts the SMSC acknowledged before a restart


@dataclass(frozen=True)
class Event:
    status: str
    error_code: str | None
    at: float


@dataclass(frozen=True)
class MessageView:
    public_id: str
    batch_id: int
    account_id: int
    destination: str
    sender: str
    status: str
    error_code: str | None
    created_at: float
    updated_at: float
    events: tuple[Event, ...]


@dataclass(frozen=True)
class BatchSummary:
    id: int
    created_at: float
    subject: str
    body: str
    recipients: int
    delivered: int
    failed: int
    pending: int


class MessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def cancel(self, public_id: str, account_id: int, now: float) -> Deferred[int]:
        return self._db.run("cancel", cancel_queued, public_id, account_id, now)

    def cancel_matching(
        self, account_id: int, sender: str, destination: str, now: float
    ) -> Deferred[list[int]]:
        return self._db.run(
            "cancel_matching", cancel_matching, account_id, sender, destination, now
        )

    def replace(
        self,
        public_id: str,
        account_id: int,
        body: str,
        registered_delivery: bool | None,
        now: float,
    ) -> Deferred[int]:
        return self._db.run(
            "replace", replace_queued, public_id, account_id, body, registered_delivery, now
        )

    def message(self, public_id: str, account_id: int | None) -> Deferred[MessageView]:
        return self._db.run("message", message_view, public_id, account_id)

    def batch_messages(self, batch_id: int, account_id: int | None) -> Deferred[list[MessageView]]:
        """None: any account's (the operator's control API)."""
        return self._db.run("batch_messages", batch_messages, batch_id, account_id)

    def batches(self, account_id: int, limit: int, offset: int) -> Deferred[list[BatchSummary]]:
        return self._db.run("batches", batch_summaries, account_id, limit, offset)


def connector_id(s: Session, name: str, now: float) -> int:
    found = s.scalar(select(Connector.id).where(Connector.name == name))
    if found is not None:
        return found
    row = Connector(name=name, created_at=now)
    s.add(row)
    s.flush()
    return row.id


def _transition(s: Session, msg: Message, status: Status, error: str | None, now: float) -> None:
    msg.status, msg.error_code, msg.updated_at = status, error, now
    s.add(MessageEvent(message_id=msg.id, status=status, error_code=error, at=now))


def combined_status(parts: Sequence[tuple[str, str | None]]) -> tuple[Status, str | None]:
    """One status per recipient from its parts' receipts: delivered only when every part is,
    failed as soon as one part failed, sent while any is still out."""
    for status, error in parts:
        if status in FAILED or status in (Status.UNKNOWN, Status.CANCELLED):
            return Status(status), error
    if parts and all(status == Status.DELIVERED for status, _ in parts):
        return Status.DELIVERED, None
    return Status.SENT, None


def _own_message(s: Session, public_id: str, account_id: int) -> Message:
    msg = s.scalar(select(Message).where(Message.public_id == public_id))
    # Another account's message is "not found", never "forbidden": ids are not confirmed.
    if msg is None or msg.account_id != account_id:
        raise NotFound(f"no message {public_id}")
    return msg


def cancel_queued(s: Session, public_id: str, account_id: int, now: float) -> int:
    """Returns the message's internal id, for the dispatcher to drop it."""
    msg = _own_message(s, public_id, account_id)
    if msg.status != Status.QUEUED:
        raise Conflict(f"message {public_id} is {msg.status}, only a queued one can be cancelled")
    _transition(s, msg, Status.CANCELLED, None, now)
    return msg.id


def cancel_matching(
    s: Session, account_id: int, sender: str, destination: str, now: float
) -> list[int]:
    """Cancel every queued message of the account from ``sender`` to ``destination``."""
    rows = s.scalars(
        select(Message)
        .join(Batch, Batch.id == Message.batch_id)
        .where(
            Message.account_id == account_id,
            Message.status == Status.QUEUED,
            Message.destination == destination,
            Batch.sender == sender,
        )
    )
    ids = []
    for msg in rows:
        _transition(s, msg, Status.CANCELLED, None, now)
        ids.append(msg.id)
    return ids


def replace_queued(
    s: Session,
    public_id: str,
    account_id: int,
    body: str,
    registered_delivery: bool | None,
    now: float,
) -> int:
    msg = _own_message(s, public_id, account_id)
    batch = s.get(Batch, msg.batch_id)
    if msg.status != Status.QUEUED or batch is None:
        raise Conflict(f"message {public_id} is {msg.status}, only a queued one can be replaced")
    others = s.scalar(select(func.count(Message.id)).where(Message.batch_id == batch.id))
    if others != 1:
        raise Conflict("a message of a multi-recipient batch cannot be replaced alone")
    batch.body = body
    if registered_delivery is not None:
        msg.registered_delivery = registered_delivery
    msg.updated_at = now
    return msg.id


def _view(s: Session, msg: Message) -> MessageView:
    events = s.execute(
        select(MessageEvent.status, MessageEvent.error_code, MessageEvent.at)
        .where(MessageEvent.message_id == msg.id)
        .order_by(MessageEvent.id)
    )
    sender = s.scalar(select(Batch.sender).where(Batch.id == msg.batch_id)) or ""
    return MessageView(
        msg.public_id,
        msg.batch_id,
        msg.account_id,
        msg.destination,
        sender,
        msg.status,
        msg.error_code,
        msg.created_at,
        msg.updated_at,
        tuple(Event(*e) for e in events),
    )


def message_view(s: Session, public_id: str, account_id: int | None) -> MessageView:
    if account_id is not None:
        return _view(s, _own_message(s, public_id, account_id))
    msg = s.scalar(select(Message).where(Message.public_id == public_id))
    if msg is None:
        raise NotFound(f"no message {public_id}")
    return _view(s, msg)


def batch_messages(s: Session, batch_id: int, account_id: int | None) -> list[MessageView]:
    batch = s.get(Batch, batch_id)
    if batch is None or (account_id is not None and batch.account_id != account_id):
        raise NotFound(f"no batch {batch_id}")
    rows = s.scalars(select(Message).where(Message.batch_id == batch_id).order_by(Message.id))
    return [_view(s, m) for m in rows]


def batch_summaries(s: Session, account_id: int, limit: int, offset: int) -> list[BatchSummary]:
    def count(statuses: frozenset[Status]) -> Any:
        return func.sum(case((Message.status.in_(statuses), 1), else_=0))

    query = (
        select(
            Batch.id,
            Batch.created_at,
            Batch.subject,
            Batch.body,
            func.count(Message.id),
            count(frozenset({Status.DELIVERED})),
            count(FAILED),
            count(PENDING),
        )
        .join(Message, Message.batch_id == Batch.id)
        .where(Batch.account_id == account_id, Batch.archived.is_(False))
        .group_by(Batch.id)
        .order_by(Batch.created_at.desc(), Batch.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        BatchSummary(bid, at, subject, body, int(n), int(ok or 0), int(ko or 0), int(wait or 0))
        for bid, at, subject, body, n, ok, ko, wait in s.execute(query)
    ]
