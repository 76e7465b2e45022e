"""The rating engine: what an account's month costs, from its SMS parts and its plan. Pure.

* **Zones.** A destination (E.164 digits) is in the zone whose prefix (a country code, or a
  country code and an operator's prefix: "33", "3367") is its longest match; with no match, in
  the built-in zone "national" or "international" by routing's classification of the message
  (``messages.scope``, national for the account's country).
* **Price per SMS part**, per zone, with **degressive volume tiers** that are *marginal*: a
  tier's price applies to the parts inside its band only (parts 1 to 10 000 at x, parts
  10 001 to 100 000 at y...), counted per account, zone and month over the billed parts. So a
  part more never costs less in total than one fewer (no cliff at a threshold), unlike
  whole-volume tiers. Each band is one invoice line (quantity x unit price, rounded once).
* **Which parts are billed** is the billing plan's ``usage``: "out_of_bundle" (default) bills
  the parts of messages fair use accepted out of bundle (``messages.out_of_bundle``: beyond the
  distinct-recipient cap or an unblocked quota), the rest being in the plan's fee; "all" bills
  every part (metered offer, "au compteur"); "none" bills no part (prepaid: fair use took the
  credit at acceptance).
* **Plan fee**, monthly: prorated by days in the month the account starts (its creation day
  counts, in its time zone), "prorata temporis le premier mois"; every later month that has
  started is due in full, "tout mois commencé est dû".

This engine is the one the invoices use. ``messages.cost`` stays fair use's running charge for
the spending cap and the prepaid credit (priced by the fair-use plan at acceptance); invoices do
not add it up, so a message is never billed by two price lists (docs/billing.md).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from gatewayd.billing.money import Money, to_minor

Usage = Literal["none", "out_of_bundle", "all"]
NATIONAL, INTERNATIONAL = "national", "international"


@dataclass(frozen=True, slots=True)
class Tier:
    """Parts from ``start`` (the first part is 0) until the next tier's start, at ``price``."""

    start: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    tiers: tuple[Tier, ...]  # sorted; the first starts at 0
    prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    fee: Decimal = Decimal(0)
    usage: Usage = "out_of_bundle"


@dataclass(frozen=True, slots=True)
class Band:
    """One tier's share of a zone's parts: an invoice line."""

    zone: str
    first: int  # 1-based number of the band's first part
    last: int | None  # the band's last part in the tier's range; None: no upper bound
    parts: int
    price: Decimal
    amount: Money


@dataclass(frozen=True)
class Tariff:
    currency: str = "EUR"
    zones: Mapping[str, Zone] = field(default_factory=dict)
    plans: Mapping[str, Plan] = field(default_factory=dict)
    default_usage: Usage = "out_of_bundle"
    _prefixes: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        pairs = [(p, z.name) for z in self.zones.values() for p in z.prefixes]
        object.__setattr__(self, "_prefixes", tuple(sorted(pairs, key=lambda x: -len(x[0]))))

    def zone_of(self, destination: str, scope: str) -> str:
        """The zone of a destination: its longest prefix, else national or international."""
        for prefix, name in self._prefixes:
            if destination.startswith(prefix):
                return name
        return NATIONAL if scope == NATIONAL else INTERNATIONAL

    def zone(self, name: str) -> Zone:
        """A configured zone, or the built-in national/international zone at 0."""
        return self.zones.get(name) or Zone(name, (Tier(0, Decimal(0)),))

    def plan(self, name: str | None) -> Plan:
        """The billing plan named like the account's (fair-use) plan; none: no fee, the
        default usage."""
        plan = self.plans.get(name or "")
        return plan if plan is not None else Plan(name or "", Decimal(0), self.default_usage)


def billed(usage: Usage, out_of_bundle: bool) -> bool:
    """Whether a message's parts are rated under the plan's ``usage``."""
    return usage == "all" or (usage == "out_of_bundle" and out_of_bundle)


def rate_zone(zone: Zone, parts: int, currency: str) -> list[Band]:
    """A zone's month of ``parts`` split over its marginal tiers (empty bands left out)."""
    bands: list[Band] = []
    for i, tier in enumerate(zone.tiers):
        end = zone.tiers[i + 1].start if i + 1 < len(zone.tiers) else None
        upto = parts if end is None else min(parts, end)
        count = upto - tier.start
        if count <= 0:
            continue
        amount = Money(to_minor(tier.price * count, currency), currency)
        bands.append(Band(zone.name, tier.start + 1, end, count, tier.price, amount))
    return bands


@dataclass(frozen=True, slots=True)
class Prorata:
    """A plan's fee for one month: ``days`` of ``month_days`` (all of them after the first)."""

    amount: Money
    days: int
    month_days: int

    @property
    def prorated(self) -> bool:
        return self.days < self.month_days


def plan_fee(fee: Decimal, period: str, start: date, currency: str) -> Prorata | None:
    """The fee due for ``period`` ("YYYY-MM") by an account that started on ``start`` (local
    date): None before the month it started, prorated by days in that month (the start day
    counts), whole afterwards, rounded half up once."""
    year, month = int(period[:4]), int(period[5:7])
    month_days = calendar.monthrange(year, month)[1]
    if (start.year, start.month) > (year, month):
        return None
    days = month_days - start.day + 1 if (start.year, start.month) == (year, month) else month_days
    amount = Money(to_minor(fee * days / month_days, currency), currency)
    return Prorata(amount, days, month_days)
