"""Fair-use cost: one ``evaluate`` call, the decision taken at each message's acceptance.

Cases, each from the same counters every call (so the numbers do not drift as they fill):
the built-in "standard" plan (distinct cap, hourly cap) for a known recipient and for a new
one, on an account busy every minute of the last hour (60 buckets to sum); every rule at once
(quota, spending cap, prepaid credit, prices), far from the alert thresholds and crossing two of
them; a suspended account; and ``evaluate_many`` over a batch of 1,000 recipients, per
recipient. Best of several ``timeit`` repeats, in microseconds per call. Run alone with
``python -m bench.fairuse_cost``.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from gatewayd.routing.fairuse import Accept, Reject, State, Usage, evaluate, evaluate_many
from gatewayd.routing.fairuse_rules import BUILTIN_PLANS, Rules

REPEATS = 15
NUMBER = 20_000
BATCH = 1_000
#: 2026-03-10 10:00:30 UTC, 11:00:30 in Paris.
NOW = 1_773_136_830.0
TZ = ZoneInfo("Europe/Paris")
MINUTE = int(NOW // 60)
#: Four messages in each minute of the last hour: 240, under the cap of 500.
BUSY_HOUR = (4,) * 60
BUSY = State(
    period="2026-03",
    messages=5000,
    parts=6000,
    distinct=120,
    hour_start=MINUTE - 59,
    hour=BUSY_HOUR,
)
EVERYTHING = Rules(
    monthly_quota=7_500,
    spending_cap=Decimal(200),
    price_national=Decimal("0.025"),
    price_international=Decimal("0.08"),
    prepaid=True,
)
#: Just under 80 % of the quota and the cap: this message sends both alerts.
NEAR_ALERT = State(
    period="2026-03",
    messages=5000,
    parts=5_999,
    distinct=120,
    spend=Decimal("159.99"),
    credit=Decimal(1000),
    hour_start=MINUTE - 59,
    hour=BUSY_HOUR,
)
FAR_FROM_ALERTS = replace(NEAR_ALERT, parts=3_000, spend=Decimal(50))
SUSPENDED = State(period="2026-03", suspended_until=NOW + 86_400)


def per_call(action: Callable[[], object], number: int = NUMBER) -> float:
    """Best-of-REPEATS microseconds per call."""
    return min(timeit.repeat(action, number=number, repeat=REPEATS)) / number * 1e6


def _cost(rules: Rules, state: State, usage: Usage, expected: type[Accept | Reject]) -> float:
    outcome = evaluate(rules, state, usage, NOW, TZ)
    # Measure the case named, not a path that happens to decide otherwise.
    assert isinstance(outcome.decision, expected), outcome.decision
    return per_call(lambda: evaluate(rules, state, usage, NOW, TZ))


def _batch_cost() -> float:
    rules = BUILTIN_PLANS["unlimited"]
    usages = [Usage(recipient=f"2237660{index:04d}") for index in range(BATCH)]
    outcomes, _ = evaluate_many(rules, State(period="2026-03"), usages, NOW, TZ)
    assert all(isinstance(outcome.decision, Accept) for outcome in outcomes)
    batch = per_call(lambda: evaluate_many(rules, State(), usages, NOW, TZ), number=20)
    return batch / BATCH


def main() -> list[tuple[str, str]]:
    standard = BUILTIN_PLANS["standard"]
    known, new = Usage(new_recipient=False), Usage(new_recipient=True)
    cases = {
        "standard plan, known recipient": (standard, BUSY, known, Accept),
        "standard plan, new recipient": (standard, BUSY, new, Accept),
        "every rule, no alert": (EVERYTHING, FAR_FROM_ALERTS, known, Accept),
        "every rule, two alerts sent": (EVERYTHING, NEAR_ALERT, Usage(parts=2), Accept),
        "suspended account": (standard, SUSPENDED, known, Reject),
    }
    rows = [("evaluate() (µs per call)", "best of repeats")]
    for label, (rules, state, usage, expected) in cases.items():
        rows.append((label, f"{_cost(rules, state, usage, expected):6.2f}"))
    rows.append((f"evaluate_many, {BATCH} recipients (per one)", f"{_batch_cost():6.2f}"))
    return rows


if __name__ == "__main__":
    for label, value in main():
        print(f"{label:<44}  {value}")
