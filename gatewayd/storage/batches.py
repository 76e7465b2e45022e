"""Batch (campaign) control: pause, resume and cancel, scheduled batches coming due, and the
expansion of contact groups into numbers.

A held message (its batch paused, or scheduled for later) is "accepted" in the database and is
not in any send queue; releasing it makes it "queued" and hands it to the dispatcher. Messages
already handed to an SMSC are not recalled: cancel and pause act on what is still queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatewayd.errors import Conflict, NotFound
from gatewayd.status import Status
from gatewayd.storage.messages import Outbound, own_batch
from gatewayd.storage.models import Batch, Contact, ContactGroup, GroupMember, GroupNumber
from gatewayd.storage.raw import Raw
from gatewayd.storage.traffic import load_queued

BatchAction = Literal["pause", "resume", "cancel"]
ACTIVE, PAUSED, CANCELLED = "active", "paused", "cancelled"


@dataclass(frozen=True)
class BatchChange:
    """What the dispatcher must do after the commit: drop ``forget``, queue ``enqueue``."""

    batch_id: int
    state: str
    affected: int
    forget: tuple[int, ...] = ()
    enqueue: tuple[Outbound, ...] = ()


def control_batch(
    s: Session, batch_id: int, account_id: int | None, action: BatchAction, now: float
) -> BatchChange:
    """Pause, resume or cancel a batch; None as ``account_id`` is the operator."""
    batch = own_batch(s, batch_id, account_id)
    if batch.state == CANCELLED:
        raise Conflict(f"batch {batch_id} is cancelled")
    raw = Raw(s)
    if action == "cancel":
        ids = _move(raw, batch_id, (Status.QUEUED, Status.ACCEPTED), Status.CANCELLED, now)
        batch.state = CANCELLED
        return BatchChange(batch_id, CANCELLED, len(ids), forget=tuple(ids))
    if action == "pause":
        ids = _move(raw, batch_id, (Status.QUEUED,), Status.ACCEPTED, now, "paused")
        batch.state = PAUSED
        return BatchChange(batch_id, PAUSED, len(ids), forget=tuple(ids))
    batch.state = ACTIVE
    if batch.scheduled_at is not None and batch.scheduled_at > now:
        return BatchChange(batch_id, ACTIVE, 0)
    released = _release(s, raw, batch_id, now)
    return BatchChange(batch_id, ACTIVE, len(released), enqueue=tuple(released))


def _move(
    raw: Raw,
    batch_id: int,
    sources: Sequence[Status],
    target: Status,
    now: float,
    code: str | None = None,
) -> list[int]:
    marks = ", ".join("?" for _ in sources)
    ids = [
        int(r[0])
        for r in raw.all(
            f"SELECT id FROM messages WHERE batch_id = ? AND status IN ({marks})",
            (batch_id, *sources),
        )
    ]
    raw.execute(
        f"UPDATE messages SET status = ?, error_code = ?, updated_at = ?"
        f" WHERE batch_id = ? AND status IN ({marks})",
        (target, code, now, batch_id, *sources),
    )
    raw.many(
        "INSERT INTO message_events (message_id, status, error_code, at) VALUES (?, ?, ?, ?)",
        [(i, target.value, code, now) for i in ids],
    )
    return ids


def _release(s: Session, raw: Raw, batch_id: int, now: float) -> list[Outbound]:
    ids = _move(raw, batch_id, (Status.ACCEPTED,), Status.QUEUED, now)
    if not ids:
        return []
    return load_queued(s, min(ids) - 1, len(ids), batch_id=batch_id)


def release_due(s: Session, now: float) -> list[Outbound]:
    """Active batches whose scheduled time has come: their held messages become queued."""
    due = s.scalars(
        select(Batch.id).where(
            Batch.state == ACTIVE, Batch.scheduled_at.is_not(None), Batch.scheduled_at <= now
        )
    ).all()
    raw = Raw(s)
    released: list[Outbound] = []
    for batch_id in due:
        released.extend(_release(s, raw, batch_id, now))
        s.get_one(Batch, batch_id).scheduled_at = None  # due once
    return released


def group_numbers(s: Session, account_id: int, names: Sequence[str]) -> list[str]:
    """The mobile numbers of the named groups, in group order: each group's contacts, then
    the numbers added to it by hand (the submission de-duplicates)."""
    numbers: list[str] = []
    for name in names:
        group_id = s.scalar(
            select(ContactGroup.id).where(
                ContactGroup.account_id == account_id, ContactGroup.name == name
            )
        )
        if group_id is None:
            raise NotFound(f"no group {name!r}")
        numbers.extend(
            s.scalars(
                select(Contact.msisdn)
                .join(GroupMember, GroupMember.contact_id == Contact.id)
                .where(GroupMember.group_id == group_id)
                .order_by(Contact.id)
            )
        )
        numbers.extend(
            s.scalars(
                select(GroupNumber.msisdn)
                .where(GroupNumber.group_id == group_id)
                .order_by(GroupNumber.msisdn)
            )
        )
    return numbers
