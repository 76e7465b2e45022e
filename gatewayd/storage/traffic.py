"""The pipeline's writes, as group-commit kinds, and the reads that rebuild its state on start.

Each ``*_KIND`` is applied to a whole run of items in one go (see
:mod:`gatewayd.storage.committer`); the SQL is plain and portable (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gatewayd.routing.fairuse import Accept as FairUseAccept
from gatewayd.routing.fairuse import Outcome
from gatewayd.routing.fairuse import Reject as FairUseReject
from gatewayd.status import PENDING, Status
from gatewayd.storage.committer import WriteKind
from gatewayd.storage.fair_use import FairUsePolicy, cost_text, decide, refund_rejected
from gatewayd.storage.messages import NewBatch, Outbound, connector_id
from gatewayd.storage.raw import Raw

# The statuses a message can still leave, as an SQL list (from the one status model).
_PENDING_SQL = "(" + ", ".join(f"'{status.value}'" for status in sorted(PENDING)) + ")"


# --- acceptance ------------------------------------------------------------------------------


def new_public_id(now: float) -> str:
    """32 hex digits: the time in milliseconds, then 80 random bits. Unguessable like a random
    UUID, but in time order, so inserting into the unique index of a table of millions of
    messages touches its last pages rather than random ones."""
    return f"{int(now * 1000) & 0xFFFFFFFFFFFF:012x}{secrets.token_hex(10)}"


@dataclass(frozen=True)
class Accept:
    batch: NewBatch
    now: float
    fair_use: FairUsePolicy | None = None  # None: no fair-use rules (tests of other parts)


@dataclass(frozen=True)
class Accepted:
    """A committed submission: its batch, a public id per recipient (in order), and the
    messages to queue now (none when the batch is scheduled for later). ``refused``: fair use
    refused every recipient, and nothing was written but the counters' period. ``outcomes``:
    fair use's decision per recipient (empty without rules), for the metrics once committed."""

    batch_id: int
    ids: list[str]
    queued: list[Outbound]
    refused: FairUseReject | None = None
    outcomes: Sequence[Outcome] = ()


def _fair_use(raw: Raw, items: Sequence[Accept]) -> list[list[Outcome] | None]:
    found: dict[int, list[Outcome]] = {}
    for policy in {id(i.fair_use): i.fair_use for i in items if i.fair_use}.values():
        chosen = [n for n, i in enumerate(items) if i.fair_use is policy]
        outcomes = decide(raw, policy, [items[n].batch for n in chosen], items[0].now)
        found.update(zip(chosen, outcomes, strict=True))
    return [found.get(n) for n in range(len(items))]


def _accept(s: Session, items: Sequence[Accept]) -> list[Accepted]:
    raw = Raw(s)
    decisions = _fair_use(raw, items)
    kept = [
        n
        for n, d in enumerate(decisions)
        if d is None or any(isinstance(o.decision, FairUseAccept) for o in d)
    ]
    batch_ids = iter(raw.new_ids("batches", len(kept)))
    message_ids = iter(raw.new_ids("messages", sum(len(items[n].batch.recipients) for n in kept)))
    rows = _Rows()
    accepted = []
    taken = set(kept)
    for n, (item, outcomes) in enumerate(zip(items, decisions, strict=True)):
        if outcomes is not None and n not in taken:
            first = outcomes[0].decision
            assert isinstance(first, FairUseReject)
            accepted.append(Accepted(0, [], [], first, outcomes))
            continue
        accepted.append(rows.add(item, next(batch_ids), message_ids, outcomes))
    rows.write(raw)
    return accepted


BATCH_COLUMNS = (
    "id", "account_id", "user_id", "channel", "subject", "body", "sender", "priority",
    "scheduled_at", "archived", "created_at",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "public_id", "batch_id", "account_id", "destination", "status", "error_code",
    "part_count", "registered_delivery", "priority", "expires_at", "scope", "operator",
    "out_of_bundle", "cost", "created_at", "updated_at",
)  # fmt: skip


class _Rows:
    """The rows of one flush's accepted batches, written with one executemany per table."""

    def __init__(self) -> None:
        self.batches: list[tuple[Any, ...]] = []
        self.messages: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []

    def add(
        self,
        item: Accept,
        batch_id: int,
        message_ids: Iterator[int],
        outcomes: Sequence[Outcome] | None,
    ) -> Accepted:
        b, now = item.batch, item.now
        held = b.scheduled_at is not None and b.scheduled_at > now
        self.batches.append(
            (
                batch_id,
                b.account_id,
                b.user_id,
                b.channel,
                b.subject,
                b.body,
                b.sender,
                b.priority,
                b.scheduled_at if held else None,
                False,
                now,
            )
        )
        out, ids = [], []
        classes = b.classes or [("", "")] * len(b.recipients)
        for n, (to, (scope, operator)) in enumerate(zip(b.recipients, classes, strict=True)):
            mid, pid = next(message_ids), new_public_id(now)
            decision = outcomes[n].decision if outcomes is not None else FairUseAccept()
            ids.append(pid)
            self.events.append((mid, Status.ACCEPTED.value, None, now))
            if isinstance(decision, FairUseReject):
                status, code, bundle, cost = (
                    Status.REJECTED,
                    f"fair_use:{decision.rule}",
                    False,
                    "0",
                )
            else:
                status = Status.ACCEPTED if held else Status.QUEUED
                code, bundle, cost = None, decision.out_of_bundle, cost_text(decision.cost)
            self.messages.append(
                (mid, pid, batch_id, b.account_id, to, status.value, code, b.part_count,
                 b.registered_delivery, b.priority, b.expires_at, scope, operator, bundle, cost,
                 now, now)
            )  # fmt: skip
            if status == Status.ACCEPTED:
                continue
            self.events.append((mid, status.value, code, now))
            if status == Status.QUEUED:
                out.append(
                    Outbound(
                        mid,
                        pid,
                        to,
                        b.sender,
                        b.body,
                        b.registered_delivery,
                        b.account_id,
                        b.priority,
                        b.expires_at,
                    )
                )
        return Accepted(batch_id, ids, out, outcomes=outcomes or ())

    def write(self, raw: Raw) -> None:
        raw.insert("batches", BATCH_COLUMNS, self.batches)
        raw.insert("messages", MESSAGE_COLUMNS, self.messages)
        raw.insert("message_events", ("message_id", "status", "error_code", "at"), self.events)


ACCEPT: WriteKind[Accept, Accepted] = WriteKind("accept", _accept, lane="accept")


# --- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartSent:
    """The SMSC acknowledged one part; ``complete`` when it was the message's last one."""

    message_id: int
    seq: int
    connector_id: int
    smsc_id: str
    smsc_key: str
    complete: bool
    now: float


def _parts_sent(s: Session, items: Sequence[PartSent]) -> list[None]:
    raw = Raw(s)
    raw.many(
        "INSERT INTO message_parts (message_id, seq, connector_id, smsc_message_id, smsc_key,"
        " status, updated_at) VALUES (?, ?, ?, ?, ?, 'sent', ?)"
        " ON CONFLICT (message_id, seq) DO NOTHING",
        [(i.message_id, i.seq, i.connector_id, i.smsc_id, i.smsc_key, i.now) for i in items],
    )
    done = [i for i in items if i.complete]
    raw.many(
        "UPDATE messages SET status = 'sent', connector_id = ?, updated_at = ?"
        " WHERE id = ? AND status IN ('accepted', 'queued')",
        [(i.connector_id, i.now, i.message_id) for i in done],
    )
    raw.many(
        "INSERT INTO message_events (message_id, status, at)"
        " SELECT id, 'sent', ? FROM messages WHERE id = ? AND status = 'sent' AND updated_at = ?",
        [(i.now, i.message_id, i.now) for i in done],
    )
    return [None] * len(items)


PART_SENT: WriteKind[PartSent, None] = WriteKind("part_sent", _parts_sent)


@dataclass(frozen=True)
class Transition:
    """A message ends (rejected, expired...) unless it already has."""

    message_id: int
    status: Status
    error_code: str | None
    now: float
    refund: FairUsePolicy | None = None  # the SMSC rejected it: give its cost back


def _transitions(s: Session, items: Sequence[Transition]) -> list[bool]:
    raw = Raw(s)
    changed = []
    for i in items:
        n = raw.execute(
            "UPDATE messages SET status = ?, error_code = ?, updated_at = ?"
            f" WHERE id = ? AND status IN {_PENDING_SQL}",
            (i.status.value, i.error_code, i.now, i.message_id),
        )
        if n:
            raw.execute(
                "INSERT INTO message_events (message_id, status, error_code, at)"
                " VALUES (?, ?, ?, ?)",
                (i.message_id, i.status.value, i.error_code, i.now),
            )
            if i.refund is not None:
                refund_rejected(s, i.refund, i.message_id, i.now)
        changed.append(bool(n))
    return changed


TRANSITION: WriteKind[Transition, bool] = WriteKind("transition", _transitions)


# --- receipts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    id: int
    account_id: int
    kind: str  # "receipt" or "mo"
    channel: str  # "smpp" or "http"
    payload: dict[str, Any]
    attempts: int = 0


def outbox_insert_many(
    raw: Raw, rows: list[tuple[int, str, str, dict[str, Any], float, float]]
) -> list[OutboxRow]:
    """Insert (account_id, kind, channel, payload, now, expiry) rows in one go."""
    ids = raw.new_ids("outbox", len(rows))
    raw.many(
        "INSERT INTO outbox (id, account_id, kind, channel, payload, created_at, expires_at,"
        " attempts, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
        [
            (row_id, account, kind, channel, json.dumps(payload), now, now + expiry, now)
            for row_id, (account, kind, channel, payload, now, expiry) in zip(
                ids, rows, strict=True
            )
        ],
    )
    return [
        OutboxRow(row_id, account, kind, channel, payload)
        for row_id, (account, kind, channel, payload, _, _) in zip(ids, rows, strict=True)
    ]


# --- MO --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoIn:
    connector_id: int
    account: str | None  # the account name its route gives; None: no route
    source: str
    destination: str
    esm_class: int
    data_coding: int
    short_message: bytes
    text: str
    now: float
    outbox_expiry: float


@dataclass(frozen=True)
class MoOut:
    public_id: str
    outbox: tuple[OutboxRow, ...]


def _mos(s: Session, items: Sequence[MoIn]) -> list[MoOut]:
    raw = Raw(s)
    out = []
    for i in items:
        public_id = new_public_id(i.now)
        account_id, channels = _mo_account(raw, i.account)
        raw.execute(
            "INSERT INTO inbound_messages (public_id, account_id, connector_id, source,"
            " destination, esm_class, data_coding, short_message, text, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                public_id,
                account_id,
                i.connector_id,
                i.source,
                i.destination,
                i.esm_class,
                i.data_coding,
                i.short_message.hex(),
                i.text,
                i.now,
            ),
        )
        payload = {
            "mo_id": public_id,
            "from": i.source,
            "to": i.destination,
            "esm_class": i.esm_class,
            "data_coding": i.data_coding,
            "short_message": i.short_message.hex(),
            "text": i.text,
            "at": i.now,
        }
        rows: tuple[OutboxRow, ...] = ()
        if account_id is not None:
            rows = tuple(
                outbox_insert_many(
                    raw,
                    [(account_id, "mo", ch, payload, i.now, i.outbox_expiry) for ch in channels],
                )
            )
        out.append(MoOut(public_id, rows))
    return out


def _mo_account(raw: Raw, name: str | None) -> tuple[int | None, tuple[str, ...]]:
    """The account an MO goes to, and how: its HTTP callback if it has one, else its binds."""
    if name is None:
        return None, ()
    row = raw.one("SELECT id, callback_url, smpp_system_id FROM accounts WHERE name = ?", (name,))
    if row is None:
        return None, ()
    account_id, callback_url, system_id = row
    return int(account_id), ("http",) if callback_url else (("smpp",) if system_id else ())


MO: WriteKind[MoIn, MoOut] = WriteKind("mo", _mos)


# --- the outbox ------------------------------------------------------------------------------


def _outbox_done(s: Session, ids: Sequence[int]) -> list[None]:
    Raw(s).many("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
    return [None] * len(ids)


OUTBOX_DONE: WriteKind[int, None] = WriteKind("outbox_done", _outbox_done)


@dataclass(frozen=True)
class OutboxRetry:
    id: int
    attempts: int
    next_at: float
    error: str


def _outbox_retry(s: Session, items: Sequence[OutboxRetry]) -> list[None]:
    Raw(s).many(
        "UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
        [(i.attempts, i.next_at, i.error[:200], i.id) for i in items],
    )
    return [None] * len(items)


OUTBOX_RETRY: WriteKind[OutboxRetry, None] = WriteKind("outbox_retry", _outbox_retry)


def _outbox_park(s: Session, items: Sequence[OutboxRetry]) -> list[None]:
    """A permanent failure (a callback destination that is refused): the entry keeps its
    last_error but is not tried again; due only after its expiry, it is dropped first."""
    Raw(s).many(
        "UPDATE outbox SET attempts = ?, next_at = expires_at + 1, last_error = ? WHERE id = ?",
        [(i.attempts, i.error[:200], i.id) for i in items],
    )
    return [None] * len(items)


OUTBOX_PARK: WriteKind[OutboxRetry, None] = WriteKind("outbox_park", _outbox_park)


def _row(r: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5])


_OUTBOX_COLUMNS = "id, account_id, kind, channel, payload, attempts"


def outbox_for(
    s: Session, account_id: int, channel: str, after: int, limit: int
) -> list[OutboxRow]:
    """What is owed to an account on a channel, oldest first."""
    rows = Raw(s).all(
        f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE account_id = ? AND channel = ? AND id > ?"
        " ORDER BY id LIMIT ?",
        (account_id, channel, after, limit),
    )
    return [_row(r) for r in rows]


def outbox_due(s: Session, channel: str, now: float, limit: int) -> list[OutboxRow]:
    rows = Raw(s).all(
        f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE channel = ? AND next_at <= ?"
        " ORDER BY id LIMIT ?",
        (channel, now, limit),
    )
    return [_row(r) for r in rows]


def expire_outbox(s: Session, now: float) -> int:
    return Raw(s).execute("DELETE FROM outbox WHERE expires_at < ?", (now,))


# --- recovery --------------------------------------------------------------------------------


def queued_accounts(s: Session) -> dict[int, int]:
    """The accounts with queued messages, each with the id just before its oldest one."""
    rows = Raw(s).all(
        "SELECT account_id, MIN(id) FROM messages WHERE status = 'queued' GROUP BY account_id"
    )
    return {account: first - 1 for account, first in rows}


def load_queued(
    s: Session,
    after_id: int,
    limit: int,
    account_id: int | None = None,
    batch_id: int | None = None,
) -> list[Outbound]:
    """Queued messages with id > ``after_id`` (of one account or batch, or all), in id order,
    with the parts already sent. Messages held back (scheduled or paused batches) are
    "accepted", not "queued", and are not loaded."""
    raw = Raw(s)
    where = "m.status = 'queued' AND m.id > ?"
    args: list[int] = [after_id]
    if account_id is not None:
        where += " AND m.account_id = ?"
        args.append(account_id)
    if batch_id is not None:
        where += " AND m.batch_id = ?"
        args.append(batch_id)
    args.append(limit)
    rows = raw.all(
        "SELECT m.id, m.public_id, m.destination, b.sender, b.body, m.registered_delivery,"
        " m.account_id, m.priority, m.expires_at FROM messages m"
        f" JOIN batches b ON b.id = m.batch_id WHERE {where} ORDER BY m.id LIMIT ?",
        args,
    )
    sent: dict[int, set[int]] = {}
    if rows:
        # A range of the parts' own (message_id, seq) index: joining messages on status would
        # walk every queued message of the status index, page after page.
        loaded = {r[0] for r in rows}
        for message_id, seq in raw.all(
            "SELECT message_id, seq FROM message_parts WHERE message_id BETWEEN ? AND ?",
            (rows[0][0], rows[-1][0]),
        ):
            if message_id in loaded:
                sent.setdefault(message_id, set()).add(seq)
    return [
        Outbound(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            bool(r[5]),
            r[6],
            r[7],
            r[8],
            frozenset(sent.get(r[0], ())),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class HeldReceipt:
    id: int
    connector_id: int
    smsc_id: str
    stat: str
    error_code: str | None
    received_at: float


def load_unmatched(s: Session) -> list[HeldReceipt]:
    return [
        HeldReceipt(*r)
        for r in Raw(s).all(
            "SELECT id, connector_id, smsc_message_id, status, error_code, received_at"
            " FROM unmatched_receipts ORDER BY id"
        )
    ]


def drop_unmatched(s: Session, before: float) -> int:
    return Raw(s).execute("DELETE FROM unmatched_receipts WHERE received_at < ?", (before,))


def ensure_connectors(s: Session, names: Sequence[str], now: float) -> dict[str, int]:
    return {name: connector_id(s, name, now) for name in names}


def callback_targets(s: Session, account_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """The HTTP callback URL and secret of each account that has one."""
    if not account_ids:
        return {}
    marks = ", ".join("?" * len(account_ids))
    rows = Raw(s).all(
        f"SELECT id, callback_url, callback_secret FROM accounts WHERE id IN ({marks})"
        " AND callback_url IS NOT NULL",
        tuple(account_ids),
    )
    return {int(r[0]): (str(r[1]), str(r[2] or "")) for r in rows}
