"""The fair-use engine: one pure function decides each message at acceptance, on every channel.

``evaluate(rules, state, usage, now, tz)`` takes an account's rules
(:mod:`gatewayd.routing.fairuse_rules`), its counters (:class:`State`), one message to one
recipient (:class:`Usage`), the time (epoch seconds) and the account's time zone. It returns an
:class:`Outcome`: the decision, the new counters, the events to notify and the checks made
(rule, value, limit), so every decision carries the rule and the counters behind it. It does no
I/O: the store locks the account's row, runs it, and writes :meth:`State.to_row` and the
message in one commit, which is what makes the counters right across restarts and nodes.

The checks, in order (the first that refuses decides):

1. ``suspension``: while suspended, every message is refused (ESME_RTHROTTLED / HTTP 429 with
   Retry-After). A suspension ends by itself once ``now >= suspended_until``.
2. ``hourly_messages``: accepted messages in the rolling hour. The message over the cap is
   refused and the account is suspended for ``suspension_days`` *calendar days in local time*:
   until the same wall-clock time N days later (71 or 73 hours across a DST change), which is
   what the console shows and what a customer reading "3 days" expects. A wall-clock time that
   does not exist that day (spring forward) is read with the offset before the change.
   The hour is kept in per-minute buckets, so it is exact to the minute: a message counts for
   the minute it was accepted in and the 59 after.
3. ``distinct_recipients``: a recipient not yet counted this month, beyond the cap: refused
   ("block"), or accepted out of bundle ("out_of_bundle", priced), or accepted and the account
   flagged for review ("review"). The store says whether the recipient is new
   (``Usage.new_recipient``) and records it when ``Accept.record_recipient`` says so: recipients
   beyond the cap are not recorded under "out_of_bundle", so every message to them is billed.
4. ``monthly_quota`` (SMS parts): "blocked" refuses a message that does not fit whole;
   "unblocked" accepts it and counts its parts beyond the quota as overage (out of bundle).
5. ``spending_cap``: the month's priced parts, this message included, must not exceed it.
6. ``prepaid_credit``: the message's price must be covered by the credit; it is taken on
   acceptance, and :func:`refund` gives it back when the SMSC rejects the message.

Only accepted messages are counted (a refused one changes nothing but the period and the
suspension). Monthly counters and sent alerts reset at 00:00 local time on the 1st; a ``now``
in an earlier month than the counters' (a node's clock behind) counts in the later month.
Alerts at each threshold of the quota and the spending cap are sent once per period; none for
a limit of 0. The review flag and the credit outlive the period.

SMPP statuses (v3.4 has none for quotas): ESME_RTHROTTLED (0x58) for the hour and the
suspension, the one status that means "message limits exceeded", which clients retry later;
ESME_RSUBMITFAIL (0x45) for the monthly limits and the credit, a plain refusal of this
submit (ESME_RX_P_APPN is the status an ESME returns to a deliver_sm, not an SMSC's answer).
HTTP: 429 with Retry-After for the hour and the suspension, 403 for a monthly limit (its
``retry_after`` is the start of next month, for information), 402 for missing prepaid credit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from gatewayd.routing.fairuse_rules import (
    ZERO,
    Rules,
    following_period,
    local_period,
    period_start,
)
from gatewayd.routing.fairuse_state import (
    Accept,
    Alert,
    Check,
    Decision,
    Event,
    Outcome,
    PeriodStarted,
    Reject,
    ReviewFlagged,
    State,
    Suspended,
    Usage,
    clear_review,
    lift_suspension,
    refund,
    suspension,
    top_up,
)
from gatewayd.smpp.constants import ESME_RSUBMITFAIL, ESME_RTHROTTLED

# One import for the edges and the store: the engine and its values.
__all__ = [
    "Accept",
    "Alert",
    "Check",
    "Decision",
    "Event",
    "Outcome",
    "PeriodStarted",
    "Reject",
    "ReviewFlagged",
    "State",
    "Suspended",
    "Usage",
    "clear_review",
    "evaluate",
    "evaluate_many",
    "lift_suspension",
    "refund",
    "suspension",
    "top_up",
]


def evaluate(rules: Rules, state: State, usage: Usage, now: float, tz: ZoneInfo) -> Outcome:
    """Decide one message; see the module docstring for the order of the checks."""
    events: list[Event] = []
    checks: list[Check] = []
    state = _current(state, now, tz, events)
    until = state.suspended_until
    if until is not None:
        checks.append(Check("suspension", until, None, False))
        reject = _refuse_suspended("suspension", until, now, tz)
        return Outcome(reject, state, tuple(events), tuple(checks))
    minute = int(now // 60)
    state = _recent(state, minute)
    cap = rules.hourly_messages
    if cap is not None:
        count = sum(state.hour) + 1
        checks.append(Check("hourly_messages", count, cap, count <= cap))
        if count > cap:
            return _over_hour(rules, state, count - 1, now, tz, events, checks)
    over, refusal = _distinct(rules, state, usage, checks)
    if refusal:
        return _refused("distinct_recipients", refusal, state, now, tz, events, checks)
    return _charge(rules, state, usage, over, minute, now, tz, events, checks)


def _current(state: State, now: float, tz: ZoneInfo, events: list[Event]) -> State:
    """The counters for the period of ``now``, with a suspension that has ended lifted."""
    period = local_period(now, tz)
    if period > state.period:
        if state.period:
            events.append(PeriodStarted(period, state.period))
        state = State(
            period,
            credit=state.credit,
            hour_start=state.hour_start,
            hour=state.hour,
            suspended_until=state.suspended_until,
            review=state.review,
        )
    if state.suspended_until is not None and now >= state.suspended_until:
        state = replace(state, suspended_until=None)
    return state


def _recent(state: State, minute: int) -> State:
    """``state`` with only the minutes of the rolling hour that ends in ``minute``."""
    stale = minute - 59 - state.hour_start
    if stale <= 0 or not state.hour:
        return state
    if stale >= len(state.hour):
        return replace(state, hour_start=minute, hour=())
    return replace(state, hour_start=state.hour_start + stale, hour=state.hour[stale:])


def _counted(state: State, minute: int) -> tuple[int, tuple[int, ...]]:
    """The hour's buckets with one more message in ``minute``."""
    counts = state.hour
    if not counts:
        return minute, (1,)
    gap = minute - state.hour_start - len(counts)
    if gap < 0:  # the last minute again (or a clock that stepped back): count it there
        return state.hour_start, (*counts[:-1], counts[-1] + 1)
    return state.hour_start, (*counts, *(0,) * gap, 1)


def _distinct(rules: Rules, state: State, usage: Usage, checks: list[Check]) -> tuple[bool, str]:
    """Whether the recipient is beyond the distinct cap; a reason when that refuses it."""
    cap = rules.distinct_recipients
    if cap is None:
        return False, ""
    value = state.distinct + usage.new_recipient
    over = usage.new_recipient and value > cap
    checks.append(Check("distinct_recipients", value, cap, not over))
    if over and rules.over_distinct == "block":
        return True, f"{cap} distinct recipients this month already (the plan's limit)"
    return over, ""


def _charge(
    rules: Rules,
    state: State,
    usage: Usage,
    over_distinct: bool,
    minute: int,
    now: float,
    tz: ZoneInfo,
    events: list[Event],
    checks: list[Check],
) -> Outcome:
    """The quota, the spending cap and the credit; then the message is accepted."""
    overage, refusal = _quota(rules, state, usage, checks)
    if refusal:
        return _refused("monthly_quota", refusal, state, now, tz, events, checks)
    distinct_billed = over_distinct and rules.over_distinct == "out_of_bundle"
    cost = _cost(rules, usage, overage, distinct_billed)
    money = _money(rules, state, cost, checks)
    if money is not None:
        return _refused(*money, state, now, tz, events, checks)
    review = over_distinct and rules.over_distinct == "review"
    if review and not state.review:
        events.append(ReviewFlagged(state.distinct + 1, rules.distinct_recipients or 0))
    record = usage.new_recipient and not distinct_billed
    accept = Accept(distinct_billed or overage > 0, review, cost, record)
    return Outcome(
        accept,
        _counters(rules, state, usage, accept, overage, minute, events),
        tuple(events),
        tuple(checks),
    )


def _quota(rules: Rules, state: State, usage: Usage, checks: list[Check]) -> tuple[int, str]:
    """The message's parts beyond an unblocked quota; a reason when a blocked one refuses it."""
    quota = rules.monthly_quota
    if quota is None:
        return 0, ""
    parts = state.parts + usage.parts
    checks.append(Check("monthly_quota", parts, quota, parts <= quota))
    if parts <= quota:
        return 0, ""
    if rules.quota_mode == "blocked":
        return 0, f"the monthly quota of {quota} parts is used ({state.parts} so far)"
    return min(usage.parts, parts - quota), ""


def _counters(
    rules: Rules,
    state: State,
    usage: Usage,
    accept: Accept,
    overage: int,
    minute: int,
    events: list[Event],
) -> State:
    """The counters with the accepted message in them, and the alerts it sets off."""
    hour_start, hour = _counted(state, minute)
    parts, spend = state.parts + usage.parts, state.spend + accept.cost
    return State(
        state.period,
        state.messages + 1,
        parts,
        state.overage_parts + overage,
        state.distinct + accept.record_recipient,
        state.out_of_bundle + accept.out_of_bundle,
        spend,
        state.credit - accept.cost if rules.prepaid else state.credit,
        hour_start,
        hour,
        None,
        _alerts(rules, state.alerts, parts, spend, events),
        state.review or accept.review,
    )


def _cost(rules: Rules, usage: Usage, overage: int, out_of_bundle: bool) -> Decimal:
    price = rules.price_national if usage.scope == "national" else rules.price_international
    if not price:
        return ZERO
    if rules.charge == "all" or out_of_bundle:
        return price * usage.parts
    return price * overage


def _money(
    rules: Rules, state: State, cost: Decimal, checks: list[Check]
) -> tuple[str, str] | None:
    """(rule, reason) when the spending cap or the prepaid credit refuses ``cost``."""
    cap = rules.spending_cap
    if cap is not None:
        spend = state.spend + cost
        checks.append(Check("spending_cap", spend, cap, spend <= cap))
        if spend > cap:
            return "spending_cap", f"the monthly spending cap of {cap} is reached ({state.spend})"
    if rules.prepaid:
        checks.append(Check("prepaid_credit", cost, state.credit, cost <= state.credit))
        if cost > state.credit:
            return "prepaid_credit", f"the credit ({state.credit}) does not cover {cost}"
    return None


def _alerts(
    rules: Rules,
    sent: frozenset[tuple[str, int]],
    parts: int,
    spend: Decimal,
    events: list[Event],
) -> frozenset[tuple[str, int]]:
    """``sent`` with the thresholds this message reaches for the first time this period."""
    quota, cap = rules.monthly_quota, rules.spending_cap
    new: list[tuple[str, int]] = []
    for percent in rules.alert_thresholds:
        if quota and ("quota", percent) not in sent and parts * 100 >= quota * percent:
            new.append(("quota", percent))
            events.append(Alert("quota", percent, parts, quota))
        if cap and ("spending", percent) not in sent and spend * 100 >= cap * percent:
            new.append(("spending", percent))
            events.append(Alert("spending", percent, spend, cap))
    return sent.union(new) if new else sent


def _refused(
    rule: str,
    reason: str,
    state: State,
    now: float,
    tz: ZoneInfo,
    events: list[Event],
    checks: list[Check],
) -> Outcome:
    if rule == "prepaid_credit":
        reject = Reject(rule, reason, ESME_RSUBMITFAIL, 402, None)
    else:  # a monthly limit: it lifts at the start of the next period
        next_start = period_start(following_period(state.period), tz)
        reject = Reject(rule, reason, ESME_RSUBMITFAIL, 403, max(0.0, next_start - now))
    return Outcome(reject, state, tuple(events), tuple(checks))


def _over_hour(
    rules: Rules,
    state: State,
    count: int,
    now: float,
    tz: ZoneInfo,
    events: list[Event],
    checks: list[Check],
) -> Outcome:
    """The message over the hourly cap: refused, and the account suspended (if configured)."""
    if rules.suspension_days == 0:
        oldest = state.hour_start + next(i for i, n in enumerate(state.hour) if n)
        retry = max(1.0, (oldest + 60) * 60 - now)  # when the oldest minute leaves the hour
        reason = f"{count} messages in the last hour (the plan's limit)"
        reject = Reject("hourly_messages", reason, ESME_RTHROTTLED, 429, retry)
        return Outcome(reject, state, tuple(events), tuple(checks))
    local = datetime.fromtimestamp(now, tz)
    until = (local + timedelta(days=rules.suspension_days)).timestamp()  # wall-clock arithmetic
    suspended = replace(state, suspended_until=until)
    why = f"{count} messages in the last hour: "
    reject = _refuse_suspended("hourly_messages", until, now, tz, why)
    events.append(Suspended(until, count))
    return Outcome(reject, suspended, tuple(events), tuple(checks))


def _refuse_suspended(rule: str, until: float, now: float, tz: ZoneInfo, why: str = "") -> Reject:
    local = datetime.fromtimestamp(until, tz).isoformat(timespec="minutes")
    reason = f"{why}sending is suspended until {local}"
    return Reject(rule, reason, ESME_RTHROTTLED, 429, until - now)


def evaluate_many(
    rules: Rules, state: State, usages: Sequence[Usage], now: float, tz: ZoneInfo
) -> tuple[list[Outcome], State]:
    """Decide each message of a batch in order; the outcomes and the final counters.

    A recipient recorded earlier in the same batch is not new again, even if the store said
    so (it looked them all up before the batch).
    """
    outcomes: list[Outcome] = []
    recorded: set[str] = set()
    for usage in usages:
        if usage.new_recipient and usage.recipient is not None and usage.recipient in recorded:
            usage = replace(usage, new_recipient=False)
        outcome = evaluate(rules, state, usage, now, tz)
        decision = outcome.decision
        if isinstance(decision, Accept) and decision.record_recipient and usage.recipient:
            recorded.add(usage.recipient)
        outcomes.append(outcome)
        state = outcome.state
    return outcomes, state
