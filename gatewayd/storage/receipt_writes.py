"""Applying a group-commit's worth of delivery receipts at once.

Each receipt could cost half a dozen round trips (find the part, update it, read the message and
its parts, write the transition, the event and the outbox row); on PostgreSQL that made a
flush of a few hundred receipts take a quarter of a second. Here a flush costs a fixed handful
of statements whatever its size: one lookup per reading, one read of the messages and of their
parts, and one ``executemany`` per table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gatewayd.routing.acceptance import Failed
from gatewayd.status import FINAL, Status
from gatewayd.storage.committer import WriteKind
from gatewayd.storage.messages import Outbound, combined_status
from gatewayd.storage.raw import Raw
from gatewayd.storage.traffic import OutboxRow, outbox_insert_many

_CHUNK = 500  # values per IN (...): well under every backend's parameter limit
#: Final failures a route may resend once (its ``resend.states`` says which).
RESENDABLE = frozenset({Status.UNDELIVERABLE, Status.EXPIRED, Status.REJECTED, Status.UNKNOWN})


@dataclass(frozen=True)
class ReceiptIn:
    connector_id: int
    smsc_id: str
    keys: tuple[str, ...]  # the stored keys it may stand for, most likely first
    stat: str  # Appendix B spelling, for the customer's own receipt
    status: Status
    error_code: str | None
    now: float
    outbox_expiry: float
    unmatched_id: int | None = None  # set when applying a receipt held since before its part
    resend: ResendVia | None = None  # the routes' "resend once" for failed messages


#: The connector to send a failed message through once more, or None. Runs in the database
#: thread, inside the receipt's transaction: it must only read (the routing table, the
#: accounts' settings), never block.
ResendVia = Callable[[Failed], str | None]


@dataclass(frozen=True)
class ReceiptOut:
    public_id: str | None  # None: no part has this id (yet)
    status: Status | None  # the message's status after it, when matched
    outbox: tuple[OutboxRow, ...] = ()
    unmatched_id: int | None = None  # the row that keeps an unmatched receipt
    resend: tuple[Outbound, str] | None = None  # queued again, through this connector


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _in(
    raw: Raw, sql: str, values: Sequence[Any], before: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """``sql`` with one ``IN ({})`` filled with ``values``, chunked; ``before`` are the
    parameters ahead of it."""
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(set(values))):
        rows += raw.all(sql.format(", ".join("?" * len(chunk))), (*before, *chunk))
    return rows


def _parts_by_key(
    raw: Raw, wanted: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, int]]:
    """(connector id, key) -> (part id, message id); the newest part wins. One query per
    connector, so the (connector_id, smsc_key) index is used, not a scan of every part."""
    by_connector: dict[int, list[str]] = {}
    for connector_id, key in wanted:
        by_connector.setdefault(connector_id, []).append(key)
    found: dict[tuple[int, str], tuple[int, int]] = {}
    for connector_id, keys in by_connector.items():
        sql = (
            "SELECT id, message_id, smsc_key FROM message_parts"
            " WHERE connector_id = ? AND smsc_key IN ({})"
        )
        for part_id, message_id, key in sorted(_in(raw, sql, keys, (connector_id,))):
            found[(connector_id, key)] = (part_id, message_id)
    return found


def _locate(raw: Raw, items: Sequence[ReceiptIn]) -> list[tuple[int, int] | None]:
    """Each receipt's part: its first reading for all of them in one query, then the other
    readings for those still unmatched."""
    first = _parts_by_key(raw, [(i.connector_id, i.keys[0]) for i in items if i.keys])
    located = [first.get((i.connector_id, i.keys[0])) if i.keys else None for i in items]
    missing = [n for n, where in enumerate(located) if where is None and len(items[n].keys) > 1]
    if missing:
        rest = _parts_by_key(
            raw, [(items[n].connector_id, k) for n in missing for k in items[n].keys[1:]]
        )
        for n in missing:
            item = items[n]
            located[n] = next(
                (
                    rest[(item.connector_id, k)]
                    for k in item.keys[1:]
                    if (item.connector_id, k) in rest
                ),
                None,
            )
    return located


def _apply(s: Session, items: Sequence[ReceiptIn]) -> list[ReceiptOut]:
    raw = Raw(s)
    located = _locate(raw, items)

    # Receipts for parts not recorded yet are kept.
    new_unmatched = [
        n for n, where in enumerate(located) if where is None and items[n].unmatched_id is None
    ]
    unmatched_ids = dict(
        zip(new_unmatched, raw.new_ids("unmatched_receipts", len(new_unmatched)), strict=True)
    )
    raw.many(
        "INSERT INTO unmatched_receipts (id, connector_id, smsc_message_id, status, error_code,"
        " received_at) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                row_id,
                items[n].connector_id,
                items[n].smsc_id,
                items[n].stat,
                items[n].error_code,
                items[n].now,
            )
            for n, row_id in unmatched_ids.items()
        ],
    )
    matched = [(n, where) for n, where in enumerate(located) if where is not None]
    raw.many(
        "DELETE FROM unmatched_receipts WHERE id = ?",
        [(items[n].unmatched_id,) for n, _ in matched if items[n].unmatched_id is not None],
    )
    raw.many(
        "UPDATE message_parts SET status = ?, error_code = ?, updated_at = ? WHERE id = ?",
        [
            (items[n].status.value, items[n].error_code, items[n].now, part_id)
            for n, (part_id, _) in matched
        ],
    )

    message_ids = sorted({message_id for _, (_, message_id) in matched})
    messages = {
        row[0]: row
        for row in _in(
            raw,
            "SELECT m.id, m.public_id, m.status, m.part_count, m.registered_delivery,"
            " m.account_id, m.destination, m.created_at, b.sender, b.channel, b.body,"
            " a.callback_url, m.resent, m.priority, m.expires_at"
            " FROM messages m JOIN batches b ON b.id = m.batch_id"
            " JOIN accounts a ON a.id = m.account_id WHERE m.id IN ({})",
            message_ids,
        )
    }
    parts: dict[int, list[tuple[str, str | None]]] = {}
    for message_id, status, error in _in(
        raw,
        "SELECT message_id, status, error_code FROM message_parts WHERE message_id IN ({})",
        message_ids,
    ):
        parts.setdefault(message_id, []).append((status, error))

    # The last receipt of each message in this flush decides its transition.
    last_of: dict[int, int] = {message_id: n for n, (_, message_id) in matched}
    results: list[ReceiptOut | None] = [None] * len(items)
    updates, outbox_rows, outbox_owner = [], [], []
    events: list[tuple[int, str, str | None, float]] = []
    resends: dict[int, tuple[Outbound, str]] = {}
    after: dict[int, Status] = {}
    for message_id, n in last_of.items():
        row = messages.get(message_id)
        if row is None:
            continue
        _, public_id, current, part_count, registered, account_id, to, created, sender = row[:9]
        channel, body, callback_url, resent, priority, expires_at = row[9:]
        statuses = parts.get(message_id, [])
        statuses = statuses + [("sent", None)] * (part_count - len(statuses))
        combined, code = combined_status(statuses)
        if current == combined or current in FINAL:
            after[message_id] = Status(current)
            continue
        item = items[n]
        via = None
        if combined in RESENDABLE and not resent and item.resend is not None:
            failed = Failed(account_id, to, sender, priority, item.connector_id, combined)
            via = item.resend(failed)
        if via is not None:
            after[message_id] = Status.QUEUED
            note = f"resend:{via}"  # the failure itself stays on the part's row
            resends[n] = (
                Outbound(message_id, public_id, to, sender, body, bool(registered), account_id,
                         priority, expires_at),
                via,
            )  # fmt: skip
            events.append((message_id, Status.QUEUED.value, note[:32], item.now))
            continue
        after[message_id] = combined
        updates.append((combined.value, code, item.now, message_id))
        events.append((message_id, combined.value, code, item.now))
        if combined not in FINAL or not registered:
            continue
        payload = {
            "message_id": public_id,
            "status": combined.value,
            "error_code": code,
            "stat": item.stat if part_count == 1 else stat_of(combined),
            "err": (code or "").removeprefix("err:") or "000",
            "to": to,
            "from": sender,
            "submitted_at": created,
            "done_at": item.now,
            "text": body[:20],
        }
        for ch in (["smpp"] if channel == "smpp" else []) + (["http"] if callback_url else []):
            outbox_rows.append((account_id, "receipt", ch, payload, item.now, item.outbox_expiry))
            outbox_owner.append(n)
    raw.many("UPDATE messages SET status = ?, error_code = ?, updated_at = ? WHERE id = ?", updates)
    # Resent once: queued again, and its parts forgotten so the new ones and their receipts
    # are recorded afresh.
    raw.many(
        "UPDATE messages SET status = 'queued', resent = ?, updated_at = ? WHERE id = ?",
        [(True, items[n].now, msg.id) for n, (msg, _) in resends.items()],
    )
    raw.many(
        "DELETE FROM message_parts WHERE message_id = ?",
        [(msg.id,) for msg, _ in resends.values()],
    )
    raw.many(
        "INSERT INTO message_events (message_id, status, error_code, at) VALUES (?, ?, ?, ?)",
        events,
    )
    owed: dict[int, list[OutboxRow]] = {}
    for n, owed_row in zip(outbox_owner, outbox_insert_many(raw, outbox_rows), strict=True):
        owed.setdefault(n, []).append(owed_row)

    for n, where in enumerate(located):
        item = items[n]
        if where is None:
            results[n] = ReceiptOut(
                None, None, unmatched_id=unmatched_ids.get(n, item.unmatched_id)
            )
            continue
        message = messages.get(where[1])
        if message is None:
            results[n] = ReceiptOut(None, None)
            continue
        results[n] = ReceiptOut(
            message[1], after.get(where[1]), tuple(owed.get(n, ())), resend=resends.get(n)
        )
    return [r if r is not None else ReceiptOut(None, None) for r in results]


_STATS = {
    Status.DELIVERED: "DELIVRD",
    Status.UNDELIVERABLE: "UNDELIV",
    Status.EXPIRED: "EXPIRED",
    Status.REJECTED: "REJECTD",
    Status.CANCELLED: "DELETED",
}


def stat_of(status: Status) -> str:
    """The Appendix B ``stat`` for one of our statuses."""
    return _STATS.get(status, "UNKNOWN")


RECEIPT: WriteKind[ReceiptIn, ReceiptOut] = WriteKind("receipt", _apply)
