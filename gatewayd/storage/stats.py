"""A customer's traffic statistics: messages and SMS parts per local day, by scope and status.

One GROUP BY query over ``ix_messages_account_created`` (account_id, created_at) does the
work on SQLite and PostgreSQL alike. Days are the account's calendar days: SQL has no
portable time-zone conversion, so the query shifts each ``created_at`` by the zone's UTC
offset, which is constant between the zone's transitions; Python finds the few transitions
of the range (DST changes: at most a handful a year) and writes them into a CASE. The local
day number is then ``floor((created_at + offset) / 86400)``, exact to the second whatever the
zone (half- and quarter-hour offsets included).

The pure parts (the period, the offsets, folding the rows into days, the rate) take no
database and are unit-tested on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Integer, case, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from gatewayd.errors import NotFound, ValidationError
from gatewayd.status import FAILED, PENDING, Status
from gatewayd.storage.models import Account, Message

#: The longest period one request may ask for (a year, leap day included).
MAX_DAYS = 366
_DAY = 86400


# --- the period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local calendar days ``first`` to ``last`` (both included) in ``zone``."""

    first: date
    last: date
    zone: str

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def start(self) -> float:
        """The UTC instant of the first day's local midnight."""
        return local_midnight(self.first, ZoneInfo(self.zone))

    @property
    def end(self) -> float:
        """The UTC instant the day after the last one begins (excluded)."""
        return local_midnight(self.last + timedelta(days=1), ZoneInfo(self.zone))


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_midnight(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def this_month(now: float, zone: str) -> Period:
    """The default period: the 1st of this month to today, in the account's zone."""
    today = datetime.fromtimestamp(now, zone_of(zone)).date()
    return Period(today.replace(day=1), today, zone)


def parse_day(text: str) -> date | None:
    """A day as a date field sends it (YYYY-MM-DD) or as people write it (DD/MM/YYYY)."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


#: The years a date typed in a filter may have: far enough for any use, and the day after the
#: last one still exists (``date.max`` is 9999-12-31: a day more raises OverflowError).
FIRST_YEAR, LAST_YEAR = 2000, 9998
OUT_OF_YEARS = "Dates are between the years 2000 and 9998."


def within_years(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


def parse_period(first: str, last: str, now: float, zone: str) -> Period:
    """The period asked for; empty fields take this month's bounds. Raises ValidationError
    with an English msgid (translated by the page) when it cannot be used."""
    default = this_month(now, zone)
    start = parse_day(first) if first.strip() else default.first
    end = parse_day(last) if last.strip() else default.last
    if start is None or end is None:
        raise ValidationError("A date is not valid: write it as DD/MM/YYYY.")
    if not (within_years(start) and within_years(end)):
        raise ValidationError(OUT_OF_YEARS)
    if start > end:
        raise ValidationError("The start date is after the end date.")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError("The period is too long: a year (366 days) at most.")
    return Period(start, end, zone)


# --- the zone's offsets ----------------------------------------------------------------------


def _offset(moment: float, zone: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(moment, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def offset_segments(start: float, end: float, zone: ZoneInfo) -> list[tuple[float, int]]:
    """``[(from, offset), ...]``: the zone's UTC offset (seconds) from each instant on, over
    ``[start, end)``. The first entry starts at ``start``; each next one at a transition."""
    segments = [(start, _offset(start, zone))]
    step = 6 * 3600.0  # no zone changes its offset twice within six hours
    low = start
    while low < end:
        high = min(low + step, end)
        if _offset(high, zone) != segments[-1][1]:
            segments.append(_transition(low, high, zone))
        low = high
    return segments


def _transition(low: float, high: float, zone: ZoneInfo) -> tuple[float, int]:
    """The first second in ``(low, high]`` whose offset differs from ``low``'s."""
    before = _offset(low, zone)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(middle, zone) == before:
            low = middle
        else:
            high = middle
    return high, _offset(high, zone)


# --- the rows folded into days ---------------------------------------------------------------


@dataclass
class DayCount:
    day: date
    national: int = 0  # messages
    international: int = 0
    national_parts: int = 0  # SMS parts (what the quota counts)
    international_parts: int = 0

    @property
    def total(self) -> int:
        return self.national + self.international

    @property
    def total_parts(self) -> int:
        return self.national_parts + self.international_parts


@dataclass
class Delivery:
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    other: int = 0  # cancelled or unknown: neither delivered nor failed

    @property
    def rate(self) -> float | None:
        """delivered / (delivered + failed); None before any final answer."""
        done = self.delivered + self.failed
        return self.delivered / done if done else None

    def add(self, status: str, count: int) -> None:
        if status == Status.DELIVERED:
            self.delivered += count
        elif status in FAILED:
            self.failed += count
        elif status in PENDING:
            self.pending += count
        else:
            self.other += count


@dataclass
class Statistics:
    period: Period
    operator: str  # "" for every operator
    days: list[DayCount]
    delivery: Delivery
    operators: list[str] = field(default_factory=list)  # seen in the period, sorted

    @property
    def totals(self) -> DayCount:
        total = DayCount(self.period.first)
        for day in self.days:
            total.national += day.national
            total.international += day.international
            total.national_parts += day.national_parts
            total.international_parts += day.international_parts
        return total


#: One row of the query: local day number, scope, status, operator, messages, parts.
Row = tuple[int, str, str, str, int, int]


def fold(period: Period, operator: str, rows: Iterable[Row]) -> Statistics:
    """The query's rows as one count per day of the period (days without traffic: zeros)."""
    epoch = date(1970, 1, 1)
    days = {day: DayCount(day) for day in period.days}
    delivery = Delivery()
    operators: set[str] = set()
    for number, scope, status, row_operator, messages, parts in rows:
        if row_operator:
            operators.add(row_operator)
        if operator and row_operator != operator:
            continue
        count = days.get(epoch + timedelta(days=int(number)))
        if count is None:
            continue
        if scope == "international":
            count.international += int(messages)
            count.international_parts += int(parts)
        else:  # national, or not classified (older messages): counted as national
            count.national += int(messages)
            count.national_parts += int(parts)
        delivery.add(status, int(messages))
    return Statistics(period, operator, list(days.values()), delivery, sorted(operators))


# --- the query ------------------------------------------------------------------------------


class _floor(FunctionElement[int]):
    """floor() of a non-negative number, portably: SQLite has floor() only when built with
    its math functions, and a CAST to INTEGER there truncates (which is floor for x >= 0);
    PostgreSQL's CAST rounds, so it gets floor()."""

    type = Integer()
    inherit_cache = True


@compiles(_floor)
def _floor_default(element: _floor, compiler: SQLCompiler, **kw: Any) -> str:
    return f"floor({compiler.process(element.clauses, **kw)})"


@compiles(_floor, "sqlite")
def _floor_sqlite(element: _floor, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


def _local_day(segments: Sequence[tuple[float, int]]) -> ColumnElement[int]:
    at = Message.created_at
    # Offsets are whole seconds we computed, inlined so both databases type them alike.
    offsets: list[ColumnElement[int]] = [
        literal_column(str(int(offset)), Integer()) for _start, offset in segments
    ]
    if len(segments) == 1:
        shift: ColumnElement[Any] = offsets[0]
    else:
        whens = [(at < start, offsets[n]) for n, (start, _o) in enumerate(segments[1:])]
        shift = case(*whens, else_=offsets[-1])
    return _floor((at + shift) / _DAY)


def account_statistics(s: Session, account_id: int, period: Period, operator: str) -> Statistics:
    """The account's messages created in the period, per local day (one GROUP BY)."""
    start, end = period.start, period.end
    segments = offset_segments(start, end, ZoneInfo(period.zone))
    day = _local_day(segments).label("day")
    query = (
        select(
            day,
            Message.scope,
            Message.status,
            Message.operator,
            func.count(),
            func.coalesce(func.sum(Message.part_count), 0),
        )
        .where(
            Message.account_id == account_id,
            Message.created_at >= start,
            Message.created_at < end,
        )
        .group_by(day, Message.scope, Message.status, Message.operator)
    )
    rows = [(int(r[0]), r[1], r[2], r[3], int(r[4]), int(r[5])) for r in s.execute(query)]
    return fold(period, operator, rows)


def account_zone(s: Session, account_id: int) -> str:
    zone = s.scalar(select(Account.timezone).where(Account.id == account_id))
    if zone is None:
        raise NotFound("no such account")
    return str(zone_of(zone))
