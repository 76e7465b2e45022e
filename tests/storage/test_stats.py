"""Statistics: the period, the zone's offsets, the folding, and the GROUP BY on both databases."""

from __future__ import annotations

from datetime import date, datetime
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from gatewayd.errors import ValidationError
from gatewayd.storage.database import Database
from gatewayd.storage.models import Account, Batch, Message
from gatewayd.storage.stats import (
    Delivery,
    Period,
    account_statistics,
    fold,
    offset_segments,
    parse_period,
    this_month,
)

PARIS = ZoneInfo("Europe/Paris")


def _at(text: str, zone: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


# --- pure ------------------------------------------------------------------------------------


def test_default_period_is_this_month_in_the_accounts_zone() -> None:
    # 31 March 23:30 UTC: still March in Bamako (UTC), already 1 April in Paris.
    now = _at("2026-03-31T23:30:00", "UTC")
    assert this_month(now, "UTC") == Period(date(2026, 3, 1), date(2026, 3, 31), "UTC")
    assert this_month(now, "Europe/Paris") == Period(
        date(2026, 4, 1), date(2026, 4, 1), "Europe/Paris"
    )


def test_period_parsing_and_its_errors() -> None:
    now = _at("2026-03-15T12:00:00", "UTC")
    assert parse_period("2026-03-02", "02/03/2026", now, "UTC") == Period(
        date(2026, 3, 2), date(2026, 3, 2), "UTC"
    )
    assert parse_period("", "", now, "UTC").first == date(2026, 3, 1)
    with pytest.raises(ValidationError, match="after the end"):
        parse_period("2026-03-05", "2026-03-04", now, "UTC")
    with pytest.raises(ValidationError, match="too long"):
        parse_period("2025-01-01", "2026-01-02", now, "UTC")
    with pytest.raises(ValidationError, match="not valid"):
        parse_period("2026-02-30", "", now, "UTC")
    assert len(parse_period("2024-01-01", "2024-12-31", now, "UTC").days) == 366


def test_offsets_change_exactly_at_the_transitions() -> None:
    start, end = _at("2026-03-01T00:00:00", "Europe/Paris"), _at("2026-11-01", "Europe/Paris")
    segments = offset_segments(start, end, PARIS)
    assert [offset for _at_, offset in segments] == [3600, 7200, 3600]
    assert segments[1][0] == _at("2026-03-29T01:00:00", "UTC")
    assert segments[2][0] == _at("2026-10-25T01:00:00", "UTC")
    kathmandu = offset_segments(start, end, ZoneInfo("Asia/Kathmandu"))
    assert kathmandu == [(start, 5 * 3600 + 45 * 60)]


def test_fold_fills_empty_days_filters_operators_and_counts_parts() -> None:
    period = Period(date(2026, 3, 1), date(2026, 3, 3), "UTC")
    first = (date(2026, 3, 1) - date(1970, 1, 1)).days
    rows = [
        (first, "national", "delivered", "Orange", 3, 4),
        (first, "international", "undeliverable", "", 1, 2),
        (first + 2, "national", "sent", "Moov", 2, 2),
        (first + 9, "national", "sent", "Moov", 5, 5),  # outside: ignored
    ]
    stats = fold(period, "", rows)
    assert [(d.national, d.international, d.total) for d in stats.days] == [
        (3, 1, 4),
        (0, 0, 0),
        (2, 0, 2),
    ]
    assert stats.totals.total_parts == 8 and stats.operators == ["Moov", "Orange"]
    assert (stats.delivery.delivered, stats.delivery.failed, stats.delivery.pending) == (3, 1, 2)
    assert stats.delivery.rate == 0.75
    orange = fold(period, "Orange", rows)
    assert orange.totals.total == 3 and orange.operators == ["Moov", "Orange"]


def test_delivery_rate_is_none_until_something_is_final() -> None:
    waiting = Delivery(pending=4)
    assert waiting.rate is None
    waiting.add("cancelled", 1)
    assert waiting.other == 1 and waiting.rate is None


# --- SQL, SQLite and PostgreSQL --------------------------------------------------------------

_ids = count(1)


def _seed(s: Session, zone: str, messages: list[tuple[str, str, str, str, int]]) -> int:
    """An account in ``zone`` and its messages: (local time, scope, status, operator, parts)."""
    n = next(_ids)
    account = Account(name=f"stats{n}", kind="customer", timezone=zone, created_at=0.0)
    other = Account(name=f"other{n}", kind="customer", created_at=0.0)
    s.add_all([account, other])
    s.flush()
    batch = Batch(account_id=account.id, channel="web", body="x", created_at=0.0)
    foreign = Batch(account_id=other.id, channel="web", body="x", created_at=0.0)
    s.add_all([batch, foreign])
    s.flush()
    for m, (local, scope, status, operator, parts) in enumerate(messages):
        at = _at(local, zone)
        for owner, owner_batch in ((account, batch), (other, foreign)):
            s.add(
                Message(
                    public_id=f"{n:04d}{owner.id:04d}{m:08d}",
                    batch_id=owner_batch.id,
                    account_id=owner.id,
                    destination="22376600000",
                    status=status,
                    part_count=parts,
                    scope=scope,
                    operator=operator,
                    created_at=at,
                    updated_at=at,
                )
            )
    return account.id


def _stats(database: Database, zone: str, rows: Any, first: date, last: date, op: str = "") -> Any:
    account_id = database.run_sync("seed", _seed, zone, rows)
    period = Period(first, last, zone)
    return database.run_sync("stats", account_statistics, account_id, period, op)


def test_days_follow_the_accounts_zone_across_a_dst_change(database: Database) -> None:
    rows = [
        ("2026-03-28T00:00:00", "national", "delivered", "Orange", 1),  # first second
        ("2026-03-28T23:59:59", "national", "delivered", "Orange", 2),  # last second
        ("2026-03-29T01:59:59", "international", "undeliverable", "", 1),  # before the jump
        ("2026-03-29T03:00:00", "national", "sent", "Moov", 3),  # after it (02:xx is skipped)
        ("2026-03-29T23:59:59", "national", "delivered", "Moov", 1),
        ("2026-03-30T00:00:00", "national", "delivered", "Moov", 1),  # next day: outside
        ("2026-03-27T23:59:59", "national", "delivered", "Moov", 1),  # day before: outside
    ]
    stats = _stats(database, "Europe/Paris", rows, date(2026, 3, 28), date(2026, 3, 29))
    assert [(d.day.day, d.national, d.international, d.total_parts) for d in stats.days] == [
        (28, 2, 0, 3),
        (29, 2, 1, 5),
    ]
    assert (stats.delivery.delivered, stats.delivery.failed, stats.delivery.pending) == (3, 1, 1)
    assert stats.operators == ["Moov", "Orange"]


def test_a_quarter_hour_zone_and_the_operator_filter(database: Database) -> None:
    rows = [
        ("2026-05-01T00:00:00", "national", "delivered", "Ncell", 1),
        ("2026-05-01T23:59:59", "national", "delivered", "NTC", 1),
        ("2026-05-02T00:00:01", "international", "delivered", "NTC", 2),
    ]
    stats = _stats(database, "Asia/Kathmandu", rows, date(2026, 5, 1), date(2026, 5, 2), op="NTC")
    assert [(d.national, d.international) for d in stats.days] == [(1, 0), (0, 1)]
    assert stats.totals.total_parts == 3 and stats.delivery.rate == 1.0
