"""Batches, messages, their parts and their status history."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred

from gatewayd.errors import Conflict, NotFound
from gatewayd.status import FAILED, FINAL, PENDING, Status
from gatewayd.storage.database import Database
from gatewayd.storage.models import Batch, Connector, Message, MessageEvent, MessagePart


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


@dataclass(frozen=True)
class Outbound:
    """What the dispatcher needs to send one queued message."""

    id: int
    public_id: str
    destination: str
    sender: str
    body: str
    registered_delivery: bool


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

    def accept(self, batch: NewBatch, now: float) -> Deferred[list[str]]:
        """Persist a batch; its messages are queued. Returns their public ids, in order."""
        return self._db.run("accept_batch", accept_batch, batch, now)

    def queued(self, limit: int, exclude: Collection[int]) -> Deferred[list[Outbound]]:
        return self._db.run("queued", queued, limit, tuple(exclude))

    def mark_sent(
        self, message_id: int, connector: str, smsc_ids: Sequence[str], now: float
    ) -> Deferred[None]:
        """Record the SMSC's id of each part, in part order."""
        return self._db.run("mark_sent", mark_sent, message_id, connector, tuple(smsc_ids), now)

    def mark_failed(
        self, message_id: int, status: Status, error_code: str, now: float
    ) -> Deferred[None]:
        return self._db.run("mark_failed", mark_failed, message_id, status, error_code, now)

    def apply_receipt(
        self, connector: str, smsc_id: str, status: Status, error_code: str | None, now: float
    ) -> Deferred[str | None]:
        return self._db.run(
            "apply_receipt", apply_receipt, connector, smsc_id, status, error_code, now
        )

    def cancel(self, public_id: str, account_id: int, now: float) -> Deferred[None]:
        return self._db.run("cancel", cancel_queued, public_id, account_id, now)

    def cancel_matching(
        self, account_id: int, sender: str, destination: str, now: float
    ) -> Deferred[int]:
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
    ) -> Deferred[None]:
        return self._db.run(
            "replace", replace_queued, public_id, account_id, body, registered_delivery, now
        )

    def message(self, public_id: str, account_id: int | None) -> Deferred[MessageView]:
        return self._db.run("message", message_view, public_id, account_id)

    def batch_messages(self, batch_id: int, account_id: int) -> Deferred[list[MessageView]]:
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


def accept_batch(s: Session, new: NewBatch, now: float) -> list[str]:
    batch = Batch(
        account_id=new.account_id,
        user_id=new.user_id,
        channel=new.channel,
        subject=new.subject,
        body=new.body,
        sender=new.sender,
        priority=0,
        archived=False,
        created_at=now,
    )
    s.add(batch)
    s.flush()
    msgs = [
        Message(
            public_id=uuid.uuid4().hex,
            batch_id=batch.id,
            account_id=new.account_id,
            destination=to,
            status=Status.QUEUED,
            part_count=new.part_count,
            registered_delivery=new.registered_delivery,
            created_at=now,
            updated_at=now,
        )
        for to in new.recipients
    ]
    s.add_all(msgs)
    s.flush()
    s.add_all(
        MessageEvent(message_id=m.id, status=st, error_code=None, at=now)
        for m in msgs
        for st in (Status.ACCEPTED, Status.QUEUED)
    )
    return [m.public_id for m in msgs]


def queued(s: Session, limit: int, exclude: tuple[int, ...]) -> list[Outbound]:
    query = (
        select(
            Message.id,
            Message.public_id,
            Message.destination,
            Batch.sender,
            Batch.body,
            Message.registered_delivery,
        )
        .join(Batch, Batch.id == Message.batch_id)
        .where(Message.status == Status.QUEUED)
        .order_by(Message.id)
        .limit(limit)
    )
    if exclude:
        query = query.where(Message.id.not_in(exclude))
    return [Outbound(*row) for row in s.execute(query)]


def mark_sent(
    s: Session, message_id: int, connector: str, smsc_ids: Sequence[str], now: float
) -> None:
    msg = s.get(Message, message_id)
    if msg is None:
        return
    conn_id = connector_id(s, connector, now)
    msg.connector_id = conn_id
    s.add_all(
        MessagePart(
            message_id=msg.id,
            seq=seq,
            connector_id=conn_id,
            smsc_message_id=smsc_id,
            status=Status.SENT,
            updated_at=now,
        )
        for seq, smsc_id in enumerate(smsc_ids, start=1)
    )
    if msg.status not in FINAL:  # a receipt may have overtaken the response
        _transition(s, msg, Status.SENT, None, now)


def mark_failed(s: Session, message_id: int, status: Status, error: str, now: float) -> None:
    msg = s.get(Message, message_id)
    if msg is not None and msg.status not in FINAL:
        _transition(s, msg, status, error, now)


def combined_status(parts: Sequence[tuple[str, str | None]]) -> tuple[Status, str | None]:
    """One status per recipient from its parts' receipts: delivered only when every part is,
    failed as soon as one part failed, sent while any is still out."""
    for status, error in parts:
        if status in FAILED or status in (Status.UNKNOWN, Status.CANCELLED):
            return Status(status), error
    if parts and all(status == Status.DELIVERED for status, _ in parts):
        return Status.DELIVERED, None
    return Status.SENT, None


def apply_receipt(
    s: Session, connector: str, smsc_id: str, status: Status, error: str | None, now: float
) -> str | None:
    """Apply a receipt to the part it names; returns the message's public id, or None."""
    conn_id = connector_id(s, connector, now)
    part = s.scalar(
        select(MessagePart).where(
            MessagePart.connector_id == conn_id, MessagePart.smsc_message_id == smsc_id
        )
    )
    if part is None:
        return None
    part.status, part.error_code, part.updated_at = status, error, now
    msg = s.get(Message, part.message_id)
    if msg is None:
        return None
    s.flush()
    parts = s.execute(
        select(MessagePart.status, MessagePart.error_code).where(MessagePart.message_id == msg.id)
    ).all()
    combined, code = combined_status([(st, err) for st, err in parts])
    if msg.status != combined and msg.status not in FINAL:
        _transition(s, msg, combined, code, now)
    return msg.public_id


def _own_message(s: Session, public_id: str, account_id: int) -> Message:
    msg = s.scalar(select(Message).where(Message.public_id == public_id))
    # Another account's message is "not found", never "forbidden": ids are not confirmed.
    if msg is None or msg.account_id != account_id:
        raise NotFound(f"no message {public_id}")
    return msg


def cancel_queued(s: Session, public_id: str, account_id: int, now: float) -> None:
    msg = _own_message(s, public_id, account_id)
    if msg.status != Status.QUEUED:
        raise Conflict(f"message {public_id} is {msg.status}, only a queued one can be cancelled")
    _transition(s, msg, Status.CANCELLED, None, now)


def cancel_matching(s: Session, account_id: int, sender: str, destination: str, now: float) -> int:
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
    count = 0
    for msg in rows:
        _transition(s, msg, Status.CANCELLED, None, now)
        count += 1
    return count


def replace_queued(
    s: Session,
    public_id: str,
    account_id: int,
    body: str,
    registered_delivery: bool | None,
    now: float,
) -> None:
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


def batch_messages(s: Session, batch_id: int, account_id: int) -> list[MessageView]:
    batch = s.get(Batch, batch_id)
    if batch is None or batch.account_id != account_id:
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
