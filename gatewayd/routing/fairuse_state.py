"""The fair-use engine's values: an account's counters (:class:`State`, one database row), one
message (:class:`Usage`), the decision and events :func:`gatewayd.routing.fairuse.evaluate`
returns, and what the operator and the store do to the counters outside evaluation.

:meth:`State.to_row` gives JSON scalars only (money as decimal strings, the hour's per-minute
counts as words, the alerts sent as "kind:percent" words), so the store may keep it as a
JSON column or as columns of its own; :meth:`State.from_row` fills keys an older row lacks
with their defaults and ignores keys it does not know, so nodes of two releases can share rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from gatewayd.routing.fairuse_rules import ZERO, Rules

Scope = Literal["national", "international"]
Number = int | float | Decimal


@dataclass(frozen=True, slots=True)
class State:
    """An account's counters; ``period`` is the local month ("YYYY-MM") they count."""

    period: str = ""
    messages: int = 0
    parts: int = 0
    overage_parts: int = 0  # parts beyond an unblocked quota
    distinct: int = 0  # recipients recorded this period
    out_of_bundle: int = 0  # messages accepted out of bundle
    spend: Decimal = ZERO  # priced parts this period
    credit: Decimal = ZERO  # prepaid; outlives the period
    hour_start: int = 0  # the epoch minute (seconds // 60) of hour[0]
    hour: tuple[int, ...] = ()  # accepted messages in each minute of the rolling hour
    suspended_until: float | None = None
    alerts: frozenset[tuple[str, int]] = frozenset()  # (kind, percent) sent this period
    review: bool = False

    def to_row(self) -> dict[str, str | int | float | bool | None]:
        """JSON scalars only, for one database row or column."""
        return {
            "period": self.period,
            "messages": self.messages,
            "parts": self.parts,
            "overage_parts": self.overage_parts,
            "distinct": self.distinct,
            "out_of_bundle": self.out_of_bundle,
            "spend": str(self.spend),
            "credit": str(self.credit),
            "hour_start": self.hour_start,
            "hour": " ".join(map(str, self.hour)),
            "suspended_until": self.suspended_until,
            "alerts": " ".join(sorted(f"{kind}:{percent}" for kind, percent in self.alerts)),
            "review": self.review,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> State:
        """The inverse of :meth:`to_row`; missing keys take their defaults (an older row)."""
        until = row.get("suspended_until")
        return cls(
            period=str(row.get("period", "")),
            messages=_int(row.get("messages", 0)),
            parts=_int(row.get("parts", 0)),
            overage_parts=_int(row.get("overage_parts", 0)),
            distinct=_int(row.get("distinct", 0)),
            out_of_bundle=_int(row.get("out_of_bundle", 0)),
            spend=Decimal(str(row.get("spend", "0"))),
            credit=Decimal(str(row.get("credit", "0"))),
            hour_start=_int(row.get("hour_start", 0)),
            hour=tuple(int(count) for count in str(row.get("hour", "")).split()),
            suspended_until=None if until is None else float(str(until)),
            alerts=frozenset(_alert(item) for item in str(row.get("alerts", "")).split()),
            review=row.get("review", False) is True,
        )


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not a counter")
    return value


def _alert(item: str) -> tuple[str, int]:
    kind, percent = item.split(":")
    return kind, int(percent)


@dataclass(frozen=True, slots=True)
class Usage:
    """One message to one recipient. ``recipient`` is only for :func:`evaluate_many`."""

    parts: int = 1
    scope: Scope = "national"
    new_recipient: bool = True  # not yet recorded this period (the store knows)
    recipient: str | None = None


@dataclass(frozen=True, slots=True)
class Accept:
    out_of_bundle: bool = False
    review: bool = False
    cost: Decimal = ZERO  # charged to spending (and credit): store it with the message
    record_recipient: bool = False  # the store records the recipient for this period


@dataclass(frozen=True, slots=True)
class Reject:
    rule: str
    reason: str
    smpp_status: int
    http_status: int
    retry_after: float | None  # seconds; None: not by waiting


Decision = Accept | Reject


@dataclass(frozen=True, slots=True)
class Check:
    """One rule as it was checked: the value with this message, its limit, and whether it is
    within it (a message beyond may still be accepted: out of bundle, for review, unblocked)."""

    rule: str
    value: Number
    limit: Number | None
    ok: bool


@dataclass(frozen=True, slots=True)
class Alert:
    """A threshold reached: SMS to the account's alert number, e-mail to its managers."""

    kind: Literal["quota", "spending"]
    threshold: int  # percent
    used: Number
    limit: Number


@dataclass(frozen=True, slots=True)
class Suspended:
    until: float
    messages: int  # accepted in the hour before


@dataclass(frozen=True, slots=True)
class ReviewFlagged:
    distinct: int
    limit: int


@dataclass(frozen=True, slots=True)
class PeriodStarted:
    period: str
    previous: str


Event = Alert | Suspended | ReviewFlagged | PeriodStarted


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: Decision
    state: State
    events: tuple[Event, ...]
    checks: tuple[Check, ...]


# --- outside evaluation: the console, the operator, the store ---------------------------


def suspension(state: State, now: float) -> float | None:
    """When the suspension in force ends (None: not suspended)."""
    until = state.suspended_until
    return until if until is not None and now < until else None


def lift_suspension(state: State) -> State:
    """An operator admin lifts a suspension early (the caller writes the audit entry). The
    hour is forgotten too, or the next message would suspend the account again at once."""
    return replace(state, suspended_until=None, hour_start=0, hour=())


def clear_review(state: State) -> State:
    return replace(state, review=False)


def top_up(state: State, amount: Decimal) -> State:
    if amount <= 0:
        raise ValueError("a top-up is a positive amount")
    return replace(state, credit=state.credit + amount)


def refund(rules: Rules, state: State, cost: Decimal) -> State:
    """Give back ``cost`` (the accepted message's :attr:`Accept.cost`) when the SMSC rejected
    it, if the rules say so; the month's counters are left as they were at acceptance."""
    if not (rules.prepaid and rules.refund_on_reject) or cost <= 0:
        return state
    return replace(state, credit=state.credit + cost)
