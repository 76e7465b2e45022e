"""The fleet's storage: lines, the SIM pool, orders and consumption, always within one
account (another account's line or order is :class:`NotFound`, as if it did not exist).

Synchronous transaction functions, run with ``Database.run``. The rules that decide whether an
action is allowed are pure (:mod:`gatewayd.fleet.rules`); this module loads their facts, checks
them and writes the order in one transaction, so a refused action writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gatewayd.fleet.model import LineState, Option, Plan, UsageKind, billed
from gatewayd.fleet.orders import Order
from gatewayd.storage.contacts import PER_PAGE, Page


@dataclass(frozen=True)
class LineView:
    """A line as the console lists and shows it. ``data_used_kb`` and ``out_of_bundle`` are
    the current month's (the account's time zone)."""

    id: int
    msisdn: str
    iccid: str
    puk: str
    sim_kind: str
    user_name: str
    site: str
    contract: str
    state: LineState
    plan: Plan
    options: tuple[Option, ...]
    delivered_on: str | None
    pending_plan: Plan | None
    plan_effective: str | None
    data_used_kb: int = 0
    data_bundle_mb: int = 0
    out_of_bundle: bool = False

    @property
    def billed(self) -> bool:
        """A suspended line is still billed; the UI says so."""
        return billed(self.state)

    @property
    def data_percent(self) -> int:
        """The month's data use against the bundle (plus top-ups), 0-100 (capped)."""
        if self.data_bundle_mb <= 0:
            return 100 if self.data_used_kb > 0 else 0
        return min(100, round(100 * self.data_used_kb / (self.data_bundle_mb * 1024)))


@dataclass(frozen=True)
class Totals:
    in_bundle: int = 0
    out_of_bundle: int = 0

    @property
    def total(self) -> int:
        return self.in_bundle + self.out_of_bundle


@dataclass(frozen=True)
class Consumption:
    """A line's totals for a month ("YYYY-MM"): voice in seconds, SMS/MMS in messages, data in
    kB; bundles from the plan (None: unlimited), data bundle with the month's top-ups."""

    month: str
    voice: Totals
    sms: Totals
    mms: Totals
    data: Totals
    data_bundle_mb: int
    voice_bundle_minutes: int | None
    sms_bundle: int | None

    @property
    def out_of_bundle(self) -> bool:
        return any(t.out_of_bundle for t in (self.voice, self.sms, self.mms, self.data))


@dataclass(frozen=True)
class UsageView:
    id: int
    at: float
    kind: UsageKind
    quantity: int
    in_bundle: bool
    detail: str


#: The CSV export's columns (English; the console translates the header).
EXPORT_HEADER = (
    "Number",
    "User",
    "Site",
    "Contract",
    "Plan",
    "Options",
    "State",
    "SIM",
    "Data used (MB)",
    "Data bundle (MB)",
    "Out of bundle",
)


def list_lines(
    s: Session,
    account_id: int,
    state: str | None,
    query: str,
    page: int,
    *,
    now: float | None = None,
    per_page: int = PER_PAGE,
) -> Page[LineView]:
    """The account's lines, by number; ``state`` None for all, ``query`` searched in the
    number, the user's name, the site and the contract. ``now``: the clock's time for the
    month's consumption (None: the wall clock)."""
    raise NotImplementedError


def line_counters(s: Session, account_id: int) -> dict[str, int]:
    """How many lines the account has in each state (every state, 0 included)."""
    raise NotImplementedError


def get_line(s: Session, account_id: int, line_id: int, *, now: float | None = None) -> LineView:
    """One line of the account; another account's (or no) line is NotFound."""
    raise NotImplementedError


def order_action(
    s: Session,
    account_id: int,
    user_id: int | None,
    line_ids: Sequence[int],
    action: str,
    params: Mapping[str, Any],
    now: float,
) -> Order:
    """Check ``action`` on the lines with the rules and record it as a requested order (the
    runner carries it out). A refusal is a FieldError (English msgid) and writes nothing."""
    raise NotImplementedError


def list_orders(
    s: Session, account_id: int, page: int, *, line_id: int | None = None
) -> Page[Order]:
    """The account's orders, newest first (``line_id``: only those on that line)."""
    raise NotImplementedError


def get_order(s: Session, account_id: int, order_id: int) -> Order:
    """One order of the account; another account's is NotFound."""
    raise NotImplementedError


def consumption_month(s: Session, account_id: int, line_id: int, month: str) -> Consumption:
    """The line's totals for ``month`` ("YYYY-MM", the account's time zone)."""
    raise NotImplementedError


def journal(
    s: Session,
    account_id: int,
    line_id: int,
    since: float,
    kind: str | None,
    page: int = 1,
) -> Page[UsageView]:
    """The line's consumption records since ``since``, newest first, of one ``kind`` or all."""
    raise NotImplementedError


def export_rows(
    s: Session, account_id: int, state: str | None, query: str, *, now: float | None = None
) -> Iterable[Sequence[object]]:
    """The rows of the CSV export (:data:`EXPORT_HEADER`), for the same filters as the list."""
    raise NotImplementedError
