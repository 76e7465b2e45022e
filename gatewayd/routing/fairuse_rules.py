"""Fair-use rules, plans and the calendar they count in: plain values and their parser.

A plan is a table of rules (``[plans.NAME]`` in the config); an account may override any of
them (the ``fair_use`` JSON object of the account). Every key, its default and its meaning::

    distinct_recipients = 250        # distinct recipients per calendar month, or "unlimited"
    over_distinct = "block"          # beyond: "block", "out_of_bundle" (billed) or "review"
    hourly_messages = 500            # accepted messages per rolling hour, or "unlimited"
    suspension_days = 3              # beyond the hourly cap: calendar days suspended (0: none)
    monthly_quota = "unlimited"      # SMS parts per calendar month (the plan's volume)
    quota_mode = "blocked"           # "blocked" stops at 100 %, "unblocked" counts the overage
    spending_cap = "unlimited"       # money per calendar month, e.g. 0, 50, 100 or 200
    price_national = "0"             # price of one SMS part, in the currency unit
    price_international = "0"
    charge = "all"                   # which parts are priced: "all" or "out_of_bundle"
    prepaid = false                  # true: each priced message is paid from the credit
    refund_on_reject = true          # prepaid: credit back a message the SMSC rejects
    alert_thresholds = [80, 100]     # percent of quota and spending cap, each alerted once

Decisions where the issue was silent:

* The quota counts SMS parts, as the operators bill them; the hourly cap counts messages (one
  per recipient), as the host network's fair-use clause does; the distinct cap counts numbers.
* TOML has no null, so a limit that does not apply is written ``"unlimited"`` (JSON overrides
  may also use ``null``). 0 is a real limit: a spending cap of 0 refuses every priced part.
* Money is :class:`~decimal.Decimal`; it is given as a string (``"0.05"``), an integer, or a
  TOML float (read through its shortest repr, so 0.1 stays 0.1).
* ``charge = "out_of_bundle"`` is for bundle plans: only the parts beyond ``monthly_quota``
  (unblocked) and the messages beyond ``distinct_recipients`` (policy "out_of_bundle") are
  priced. ``"all"`` is pay-as-you-go. Spending and prepaid credit count priced parts only.
* Alert thresholds are whole percents (exact integer arithmetic; 1 to 1000, so an unblocked
  plan may also warn at 150 %).

Plan changes take effect at 00:00 local time on the 1st of the month after the request
(:class:`PlanSchedule`), as the operators' contracts say. Months are calendar months of the
account's time zone, computed with :mod:`zoneinfo`, so they are right across DST changes.
Errors raise ``ValueError("<where>.<key>: <reason>")``; the config loader adds the file name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, cast
from zoneinfo import ZoneInfo

OverDistinct = Literal["block", "out_of_bundle", "review"]
QuotaMode = Literal["blocked", "unblocked"]
Charge = Literal["all", "out_of_bundle"]
UNLIMITED = "unlimited"
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Rules:
    """One account's fair-use rules (None: that limit does not apply)."""

    distinct_recipients: int | None = 250
    over_distinct: OverDistinct = "block"
    hourly_messages: int | None = 500
    suspension_days: int = 3
    monthly_quota: int | None = None
    quota_mode: QuotaMode = "blocked"
    spending_cap: Decimal | None = None
    price_national: Decimal = ZERO
    price_international: Decimal = ZERO
    charge: Charge = "all"
    prepaid: bool = False
    refund_on_reject: bool = True
    alert_thresholds: tuple[int, ...] = (80, 100)

    def merge(self, overrides: Mapping[str, object], where: str = "fair_use") -> Rules:
        """These rules with an account's ``overrides`` (same keys as a plan); checked."""
        return rules_from_mapping(overrides, where, base=self)

    def to_mapping(self) -> dict[str, object]:
        """JSON types only (money as strings, no limit as None): for the console and the API."""
        out: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[item.name] = value
        return out


#: Plans every gateway has; ``[plans.NAME]`` with the same name replaces one.
BUILTIN_PLANS: Mapping[str, Rules] = {
    "standard": Rules(),
    "unlimited": Rules(distinct_recipients=None, hourly_messages=None),
}

_CHOICES: Mapping[str, tuple[str, ...]] = {
    "over_distinct": ("block", "out_of_bundle", "review"),
    "quota_mode": ("blocked", "unblocked"),
    "charge": ("all", "out_of_bundle"),
}
_LIMITS = {"distinct_recipients": 0, "hourly_messages": 1, "monthly_quota": 0}
_PRICES = ("price_national", "price_international")
_FLAGS = ("prepaid", "refund_on_reject")
KEYS = tuple(item.name for item in fields(Rules))


class _Invalid(Exception):
    pass


def rules_from_mapping(raw: Mapping[str, object], where: str, base: Rules | None = None) -> Rules:
    """``base`` (default: :class:`Rules`' defaults) with the keys of ``raw`` parsed and checked."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a table of fair-use rules")
    changes: dict[str, object] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise ValueError(f"{where}.{key}: unknown key (one of {', '.join(KEYS)})")
        try:
            changes[key] = _parse(key, value)
        except _Invalid as error:
            raise ValueError(f"{where}.{key}: {error}") from None
    return replace(base if base is not None else Rules(), **changes)  # type: ignore[arg-type]


def _parse(key: str, value: object) -> object:
    if key in _LIMITS:
        return None if value is None or value == UNLIMITED else _whole(value, _LIMITS[key])
    if key == "spending_cap":
        return None if value is None or value == UNLIMITED else _money(value)
    if key in _PRICES:
        return _money(value)
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise _Invalid(f"{value!r} is not one of {', '.join(_CHOICES[key])}")
        return value
    if key in _FLAGS:
        if not isinstance(value, bool):
            raise _Invalid(f"{value!r} is not true or false")
        return value
    if key == "suspension_days":
        days = _whole(value, 0)
        if days > 366:
            raise _Invalid("at most 366 days")
        return days
    return _thresholds(value)


def _whole(value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"{value!r} is not a whole number (or {UNLIMITED!r})")
    if value < minimum:
        raise _Invalid(f"{value} is below {minimum}")
    return value


def _money(value: object) -> Decimal:
    if isinstance(value, float) and math.isfinite(value):
        value = repr(value)  # the shortest repr: 0.1 -> "0.1", not 0.1000000000000000055...
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _Invalid(f'{value!r} is not an amount (e.g. "0.05" or 50)')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise _Invalid(f'{value!r} is not an amount (e.g. "0.05" or 50)') from None
    if not amount.is_finite() or amount < 0:
        raise _Invalid(f"{value!r} is not an amount of 0 or more")
    return amount


def _thresholds(value: object) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        raise _Invalid(f"{value!r} is not a list of percents (e.g. [80, 100])")
    percents = [_whole(item, 1) for item in value]
    if any(percent > 1000 for percent in percents):
        raise _Invalid("percents go up to 1000")
    if len(set(percents)) != len(percents):
        raise _Invalid("a percent is listed twice")
    return tuple(sorted(percents))


def plans_from_mapping(raw: Mapping[str, object], where: str = "plans") -> dict[str, Rules]:
    """The built-in plans and the ``[plans.NAME]`` tables (each from the defaults)."""
    plans = dict(BUILTIN_PLANS)
    for name, table in raw.items():
        if not name or len(name) > 64:
            raise ValueError(f"{where}.{name}: a plan name has 1 to 64 characters")
        plans[name] = rules_from_mapping(cast(Mapping[str, object], table), f"{where}.{name}")
    return plans


def account_rules(
    plans: Mapping[str, Rules], plan: str, overrides: Mapping[str, object], where: str
) -> Rules:
    """The rules in force for an account on ``plan`` with its ``overrides``."""
    if plan not in plans:
        raise ValueError(f"{where}.plan: no plan {plan!r} (have {', '.join(sorted(plans))})")
    rules = plans[plan]
    return rules.merge(overrides, f"{where}.fair_use") if overrides else rules


# --- the calendar ---------------------------------------------------------------------------


def local_period(now: float, tz: ZoneInfo) -> str:
    """The calendar month ("YYYY-MM") that ``now`` falls in, in the time zone ``tz``."""
    local = datetime.fromtimestamp(now, tz)
    return f"{local.year:04d}-{local.month:02d}"


def following_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def period_start(period: str, tz: ZoneInfo) -> float:
    """00:00 local time on the 1st of ``period``, as epoch seconds."""
    return datetime(int(period[:4]), int(period[5:7]), 1, tzinfo=tz).timestamp()


@dataclass(frozen=True, slots=True)
class PlanSchedule:
    """An account's plan and the change waiting for the 1st of ``effective`` ("YYYY-MM")."""

    current: str | None = None
    pending: str | None = None
    effective: str | None = None

    def plan_at(self, now: float, tz: ZoneInfo) -> str | None:
        """The plan in force at ``now`` (None: the configured default plan)."""
        pending, effective = self.pending, self.effective
        if pending is not None and effective is not None and local_period(now, tz) >= effective:
            return pending
        return self.current

    def settled(self, now: float, tz: ZoneInfo) -> PlanSchedule:
        """The same schedule with a change that has taken effect made current."""
        plan = self.plan_at(now, tz)
        if plan == self.current:
            return self
        return PlanSchedule(plan)

    def request(self, plan: str, now: float, tz: ZoneInfo) -> PlanSchedule:
        """Ask for ``plan``: at once for an account without one, else on the next 1st.

        Asking again before the 1st replaces the waiting change; asking for the plan in force
        cancels it.
        """
        settled = self.settled(now, tz)
        if settled.current is None:
            return PlanSchedule(plan)
        if plan == settled.current:
            return PlanSchedule(plan)
        return PlanSchedule(settled.current, plan, following_period(local_period(now, tz)))
