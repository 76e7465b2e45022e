"""Batches, messages, their parts and their status history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred

from gatewayd.errors import Conflict, NotFound
from gatewayd.status import FAILED, PENDING, Status
from gatewayd.storage.database import Database
from gatewayd.storage.models import Account, Batch, Connector, Message, MessageEvent


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
    scheduled_at: float | None = None  # held until then


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

    def batches(
        self, account_id: int, limit: int, offset: int, archived: bool = False
    ) -> Deferred[list[BatchSummary]]:
        return self._db.run("batches", batch_summaries, account_id, limit, offset, archived)


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
    own_batch(s, batch_id, account_id)
    rows = s.scalars(select(Message).where(Message.batch_id == batch_id).order_by(Message.id))
    return [_view(s, m) for m in rows]


def batch_summaries(
    s: Session, account_id: int, limit: int, offset: int, archived: bool = False
) -> list[BatchSummary]:
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
            Batch.scheduled_at,
        )
        .join(Message, Message.batch_id == Batch.id)
        .where(Batch.account_id == account_id, Batch.archived.is_(archived))
        .group_by(Batch.id)
        .order_by(Batch.created_at.desc(), Batch.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        BatchSummary(
            bid, at, subject, body, int(n), int(ok or 0), int(ko or 0), int(wait or 0), later
        )
        for bid, at, subject, body, n, ok, ko, wait, later in s.execute(query)
    ]


# --- the console's sent list, statuses, archives ----------------------------------------------

#: The status filters of a batch's page: each a set of message statuses.
STATUS_FILTERS: dict[str, frozenset[Status]] = {
    "delivered": frozenset({Status.DELIVERED}),
    "failed": FAILED,
    "pending": PENDING,
}


def account_timezone(s: Session, account_id: int) -> str:
    """The account's IANA time zone, in which its people read dates."""
    return s.scalar(select(Account.timezone).where(Account.id == account_id)) or "UTC"


def count_batches(s: Session, account_id: int, archived: bool = False) -> int:
    found = s.scalar(
        select(func.count(Batch.id)).where(
            Batch.account_id == account_id, Batch.archived.is_(archived)
        )
    )
    return int(found or 0)


@dataclass(frozen=True)
class BatchInfo:
    id: int
    created_at: float
    subject: str
    body: str
    sender: str
    archived: bool
    scheduled_at: float | None
    counts: dict[str, int]  # per filter of STATUS_FILTERS, and "all"


@dataclass(frozen=True)
class RecipientStatus:
    public_id: str
    destination: str
    status: str
    error_code: str | None
    updated_at: float


def own_batch(s: Session, batch_id: int, account_id: int | None) -> Batch:
    """The account's batch ``batch_id`` (any account's for None, the operator); another
    account's is NotFound, as a missing one."""
    batch = s.get(Batch, batch_id)
    if batch is None or (account_id is not None and batch.account_id != account_id):
        raise NotFound(f"no batch {batch_id}")
    return batch


def batch_info(s: Session, batch_id: int, account_id: int) -> BatchInfo:
    """One of the account's batches with its counts per status filter; NotFound otherwise."""
    own_batch(s, batch_id, account_id)
    [info] = batch_infos(s, [batch_id], account_id)
    return info


def batch_infos(s: Session, batch_ids: Sequence[int], account_id: int) -> list[BatchInfo]:
    """Several of the account's batches (in ``batch_ids``' order) with their counts, in two
    queries whatever their number; NotFound when one is missing or another account's."""
    batches = {
        b.id: b
        for b in s.scalars(
            select(Batch).where(Batch.id.in_(batch_ids), Batch.account_id == account_id)
        )
    }
    for batch_id in batch_ids:
        if batch_id not in batches:
            raise NotFound(f"no batch {batch_id}")
    by_status: dict[int, dict[str, int]] = {i: {} for i in batches}
    for batch_id, status, n in s.execute(
        select(Message.batch_id, Message.status, func.count(Message.id))
        .where(Message.batch_id.in_(batch_ids))
        .group_by(Message.batch_id, Message.status)
    ):
        by_status[batch_id][status] = int(n)
    return [_info(batches[i], by_status[i]) for i in batch_ids]


def _info(batch: Batch, by_status: dict[str, int]) -> BatchInfo:
    counts = {
        name: sum(n for status, n in by_status.items() if status in statuses)
        for name, statuses in STATUS_FILTERS.items()
    }
    counts["all"] = sum(by_status.values())
    return BatchInfo(
        batch.id,
        batch.created_at,
        batch.subject,
        batch.body,
        batch.sender,
        batch.archived,
        batch.scheduled_at,
        counts,
    )


def batch_statuses(
    s: Session,
    batch_id: int,
    account_id: int,
    status_filter: str,
    limit: int | None,
    offset: int = 0,
) -> list[RecipientStatus]:
    """The recipients of one of the account's batches, filtered ("" for all), in order."""
    own_batch(s, batch_id, account_id)
    query = select(
        Message.public_id,
        Message.destination,
        Message.status,
        Message.error_code,
        Message.updated_at,
    ).where(Message.batch_id == batch_id)
    if status_filter in STATUS_FILTERS:
        query = query.where(Message.status.in_(STATUS_FILTERS[status_filter]))
    query = query.order_by(Message.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [RecipientStatus(*row) for row in s.execute(query)]


def set_archived(s: Session, account_id: int, batch_ids: Sequence[int], archived: bool) -> int:
    """Archive (or bring back) several of the account's batches; all or none (NotFound)."""
    for batch_id in batch_ids:
        own_batch(s, batch_id, account_id).archived = archived
    return len(batch_ids)


class NotArchived(Conflict):
    """A batch asked to be deleted is not (any more) in the archives."""


def delete_batches(s: Session, account_id: int, batch_ids: Sequence[int]) -> int:
    """Delete archived batches and their messages for good; all or none. Refused (Conflict)
    while a message is still on its way: its receipt would have nothing to update."""
    for batch_id in batch_ids:
        if not own_batch(s, batch_id, account_id).archived:
            raise NotArchived(f"batch {batch_id} is not archived")
    waiting = s.scalar(
        select(func.count(Message.id)).where(
            Message.batch_id.in_(batch_ids), Message.status.in_(PENDING)
        )
    )
    if waiting:
        raise Conflict(f"{waiting} message(s) are still on their way")
    # The database cascades to the messages, their parts and their events.
    s.execute(delete(Batch).where(Batch.id.in_(batch_ids)))
    return len(batch_ids)
