"""An invoice's content from a month's usage: lines, consumption detail and totals. Pure.

An account invoice has, in order: the plan's fee (prorated the first month), then one line per
zone and tier band of billed parts ("usage" for a metered plan, "out_of_bundle" otherwise).
Amounts are rounded per line; VAT once on the subtotal (:mod:`gatewayd.billing.money`).

A client group's invoice has one line per account invoice of the month (its subtotal), and its
VAT is the sum of theirs, so its total is exactly the sum of the accounts' totals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gatewayd.billing.money import Money, to_minor, zero
from gatewayd.billing.rating import Band, Tariff, billed, plan_fee, rate_zone


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Messages of one local day to one zone, in or out of bundle (aggregated by the store)."""

    day: str  # "YYYY-MM-DD"
    zone: str
    out_of_bundle: bool
    messages: int
    parts: int


@dataclass(frozen=True, slots=True)
class Line:
    kind: str  # "plan", "usage", "out_of_bundle", "account"
    description: str
    quantity: int
    unit_price: str  # decimal text; "" when the line is not quantity x price
    amount: Money
    zone: str = ""


@dataclass(frozen=True, slots=True)
class Draft:
    """An invoice before it is stored."""

    currency: str
    lines: tuple[Line, ...]
    usage: tuple[UsageRow, ...]
    subtotal: Money
    vat_rate: Decimal
    vat: Money

    @property
    def total(self) -> Money:
        return self.subtotal + self.vat

    @property
    def empty(self) -> bool:
        """Nothing billed and nothing used: no invoice is issued."""
        return not self.usage and all(line.amount.minor == 0 for line in self.lines)


def _band_text(band: Band) -> str:
    if band.first == 1 and band.last is None:
        span = ""
    elif band.last is None:
        span = f", parts from {band.first}"
    else:
        span = f", parts {band.first} to {band.last}"
    return f"SMS parts, zone {band.zone}{span}"


def account_draft(
    tariff: Tariff,
    vat_rate: Decimal,
    plan_name: str | None,
    period: str,
    start: date,
    usage: Iterable[UsageRow],
) -> Draft:
    """The invoice of one account for ``period``; ``start`` is its first local day."""
    currency = tariff.currency
    plan = tariff.plan(plan_name)
    rows = tuple(sorted(usage, key=lambda r: (r.day, r.zone, r.out_of_bundle)))
    lines: list[Line] = []
    fee = plan_fee(plan.fee, period, start, currency) if plan.fee else None
    if fee is not None:
        text = f"Plan {plan.name}, monthly fee"
        if fee.prorated:
            text += f" (prorated, {fee.days} of {fee.month_days} days)"
        lines.append(Line("plan", text, 1, str(plan.fee), fee.amount))
    parts: dict[str, int] = defaultdict(int)
    for row in rows:
        if billed(plan.usage, row.out_of_bundle):
            parts[row.zone] += row.parts
    kind = "usage" if plan.usage == "all" else "out_of_bundle"
    for name in sorted(parts):
        for band in rate_zone(tariff.zone(name), parts[name], currency):
            text = _band_text(band) + (", out of bundle" if kind == "out_of_bundle" else "")
            lines.append(Line(kind, text, band.parts, str(band.price), band.amount, name))
    return _totals(currency, lines, rows, vat_rate)


def _totals(
    currency: str, lines: Sequence[Line], rows: tuple[UsageRow, ...], vat_rate: Decimal
) -> Draft:
    subtotal = sum((line.amount for line in lines), zero(currency))
    vat = Money(to_minor(subtotal.major * vat_rate, currency), currency)
    return Draft(currency, tuple(lines), rows, subtotal, vat_rate, vat)


@dataclass(frozen=True, slots=True)
class Member:
    """An account invoice, as a group invoice lists it."""

    number: str
    account: str
    subtotal: Money
    vat: Money


def group_draft(currency: str, vat_rate: Decimal, members: Sequence[Member]) -> Draft:
    """A client group's invoice over its accounts' invoices of the month."""
    lines = tuple(
        Line("account", f"Account {m.account}, invoice {m.number}", 1, "", m.subtotal)
        for m in members
    )
    subtotal = sum((m.subtotal for m in members), zero(currency))
    vat = sum((m.vat for m in members), zero(currency))
    return Draft(currency, lines, (), subtotal, vat_rate, vat)
