"""The fair-use engine, driven by a task.Clock across hour, month and DST boundaries."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock

from gatewayd.routing.fairuse import (
    Accept,
    Alert,
    Outcome,
    PeriodStarted,
    Reject,
    ReviewFlagged,
    State,
    Suspended,
    Usage,
    clear_review,
    evaluate,
    evaluate_many,
    lift_suspension,
    refund,
    suspension,
    top_up,
)
from gatewayd.routing.fairuse_rules import (
    BUILTIN_PLANS,
    PlanSchedule,
    Rules,
    account_rules,
    plans_from_mapping,
    rules_from_mapping,
)
from gatewayd.smpp.constants import ESME_RSUBMITFAIL, ESME_RTHROTTLED

PARIS = ZoneInfo("Europe/Paris")  # DST from 2026-03-29 02:00 to 2026-10-25 03:00
BAMAKO = ZoneInfo("Africa/Bamako")  # UTC all year
KNOWN = Usage(new_recipient=False)
NO_CAPS = Rules(distinct_recipients=None, hourly_messages=None)
NEW_ACCOUNT = State()


def at(tz: ZoneInfo, year: int, month: int, day: int, h: int = 0, m: int = 0, s: int = 0) -> float:
    return datetime(year, month, day, h, m, s, tzinfo=tz).timestamp()


class Line:
    """One account: its rules and counters, with time from a task.Clock."""

    def __init__(self, rules: Rules, tz: ZoneInfo, *start: int, state: State = NEW_ACCOUNT) -> None:
        self.rules, self.tz, self.state = rules, tz, state
        self.clock = Clock()
        self.clock.advance(at(tz, *start))

    def send(self, usage: Usage = KNOWN) -> Outcome:
        outcome = evaluate(self.rules, self.state, usage, self.clock.seconds(), self.tz)
        self.state = outcome.state
        return outcome

    def send_many(self, count: int, usage: Usage = KNOWN) -> list[Outcome]:
        return [self.send(usage) for _ in range(count)]

    def go_to(self, *when: int) -> None:
        self.clock.advance(at(self.tz, *when) - self.clock.seconds())


def accepted(outcomes: list[Outcome]) -> int:
    return sum(isinstance(outcome.decision, Accept) for outcome in outcomes)


def refusal(outcome: Outcome) -> Reject:
    assert isinstance(outcome.decision, Reject), outcome.decision
    return outcome.decision


def acceptance(outcome: Outcome) -> Accept:
    assert isinstance(outcome.decision, Accept), outcome.decision
    return outcome.decision


# --- messages per rolling hour ----------------------------------------------------------------


def test_the_hour_is_rolling_not_the_clock_hour() -> None:
    line = Line(
        BUILTIN_PLANS["unlimited"].merge({"hourly_messages": 500}), PARIS, 2026, 5, 4, 10, 30
    )
    assert accepted(line.send_many(250)) == 250
    line.go_to(2026, 5, 4, 10, 59, 30)
    assert accepted(line.send_many(250)) == 250
    line.go_to(2026, 5, 4, 11, 5)  # a new clock hour, but 500 in the last 60 minutes
    over = line.send()
    assert refusal(over).rule == "hourly_messages"
    assert over.checks[-1].rule == "hourly_messages" and over.checks[-1].value == 501
    assert over.events == (Suspended(line.state.suspended_until or 0, 500),)


def test_the_rolling_hour_is_exact_to_the_minute() -> None:
    rules = NO_CAPS.merge({"hourly_messages": 3, "suspension_days": 0})
    line = Line(rules, BAMAKO, 2026, 5, 4, 10, 30, 40)
    line.send_many(3)
    line.go_to(2026, 5, 4, 11, 29, 59)  # 10:30 is still in the hour that ends in minute 11:29
    late = refusal(line.send())
    assert (late.rule, late.smpp_status, late.http_status) == ("hourly_messages", 0x58, 429)
    assert late.retry_after == 1.0  # 10:30 leaves the hour at 11:30:00
    assert suspension(line.state, line.clock.seconds()) is None  # 0 days: refused, not suspended
    line.clock.advance(1)
    assert accepted(line.send_many(3)) == 3


def test_only_accepted_messages_fill_the_hour() -> None:
    rules = Rules(distinct_recipients=0, hourly_messages=2)
    line = Line(rules, BAMAKO, 2026, 5, 4, 10, 0)
    assert accepted(line.send_many(5, Usage(new_recipient=True))) == 0  # refused: no new numbers
    assert accepted(line.send_many(2)) == 2
    assert refusal(line.send()).rule == "hourly_messages"


@pytest.mark.parametrize(
    ("start", "until", "hours"),
    [
        ((2026, 3, 27, 20, 0), (2026, 3, 30, 20, 0), 71),  # across the spring change
        ((2026, 10, 23, 20, 0), (2026, 10, 26, 20, 0), 73),  # across the autumn change
        ((2026, 5, 4, 20, 0), (2026, 5, 7, 20, 0), 72),
        # 02:30 does not exist on 29 March: read with the winter offset, it is 03:30 summer time.
        ((2026, 3, 26, 2, 30), (2026, 3, 29, 3, 30), 72),
    ],
)
def test_suspension_lasts_calendar_days_in_local_time(
    start: tuple[int, ...], until: tuple[int, ...], hours: int
) -> None:
    line = Line(NO_CAPS.merge({"hourly_messages": 2}), PARIS, *start)
    line.send_many(2)
    over = line.send()
    assert over.state.suspended_until == at(PARIS, *until)
    assert refusal(over).retry_after == hours * 3600
    line.go_to(*until)
    line.clock.advance(-1)
    during = refusal(line.send())
    assert (during.rule, during.smpp_status, during.retry_after) == ("suspension", 0x58, 1.0)
    line.clock.advance(1)
    assert isinstance(line.send().decision, Accept)  # lifted by itself
    assert line.state.suspended_until is None


def test_suspension_in_a_zone_without_dst_is_exactly_n_days() -> None:
    line = Line(NO_CAPS.merge({"hourly_messages": 1, "suspension_days": 5}), BAMAKO, 2026, 3, 27, 9)
    line.send_many(2)
    assert line.state.suspended_until == line.clock.seconds() + 5 * 86400


def test_an_admin_lifts_a_suspension_early() -> None:
    line = Line(NO_CAPS.merge({"hourly_messages": 2}), PARIS, 2026, 5, 4, 10, 0)
    line.send_many(3)
    assert suspension(line.state, line.clock.seconds()) is not None
    line.state = lift_suspension(line.state)
    assert suspension(line.state, line.clock.seconds()) is None
    assert accepted(line.send_many(2)) == 2  # the hour before the lift no longer counts


# --- the month ------------------------------------------------------------------------------


def test_month_rolls_over_at_local_midnight_on_the_first() -> None:
    rules = NO_CAPS.merge({"monthly_quota": 100})
    paris = Line(rules, PARIS, 2026, 10, 31, 23, 30)
    bamako = Line(rules, BAMAKO, 2026, 10, 31, 23, 30)
    paris.send_many(3)
    bamako.send_many(3)
    # 00:00:30 in Paris on 1 November is 23:00:30 UTC on 31 October: November for Paris only.
    paris.go_to(2026, 11, 1, 0, 0, 30)
    bamako.clock.advance(paris.clock.seconds() - bamako.clock.seconds())
    first = paris.send()
    assert first.events == (PeriodStarted("2026-11", "2026-10"),)
    assert (paris.state.period, paris.state.parts, paris.state.messages) == ("2026-11", 1, 1)
    bamako.send()
    assert (bamako.state.period, bamako.state.parts) == ("2026-10", 4)


def test_a_clock_behind_counts_in_the_later_month() -> None:
    line = Line(NO_CAPS, PARIS, 2026, 4, 1, 0, 5)
    line.send_many(2)
    line.go_to(2026, 3, 31, 23, 59)  # another node's clock, a few minutes behind
    line.send()
    assert (line.state.period, line.state.messages) == ("2026-04", 3)


def test_alerts_once_per_threshold_per_period_and_again_next_month() -> None:
    line = Line(NO_CAPS.merge({"monthly_quota": 10}), PARIS, 2026, 3, 30, 12)
    events = [line.send().events for _ in range(11)]
    assert events[7] == (Alert("quota", 80, 8, 10),)
    assert events[9] == (Alert("quota", 100, 10, 10),)
    assert [e for i, e in enumerate(events) if i not in (7, 9)] == [()] * 9
    assert line.state.alerts == {("quota", 80), ("quota", 100)}
    line.go_to(2026, 4, 1, 0, 0)
    big = line.send(Usage(parts=10, new_recipient=False))
    assert big.events[1:] == (Alert("quota", 80, 10, 10), Alert("quota", 100, 10, 10))


def test_a_blocked_quota_stops_at_100_percent() -> None:
    line = Line(NO_CAPS.merge({"monthly_quota": 10}), PARIS, 2026, 3, 30, 12)
    line.send(Usage(parts=9, new_recipient=False))
    refused = refusal(line.send(Usage(parts=2, new_recipient=False)))  # does not fit whole
    assert (refused.rule, refused.smpp_status, refused.http_status) == ("monthly_quota", 0x45, 403)
    assert refused.retry_after == at(PARIS, 2026, 4, 1) - line.clock.seconds()
    assert isinstance(line.send().decision, Accept)
    assert (line.state.parts, line.state.overage_parts) == (10, 0)


def test_an_unblocked_quota_goes_on_and_counts_the_overage() -> None:
    rules = NO_CAPS.merge({"monthly_quota": 10, "quota_mode": "unblocked"})
    line = Line(rules, PARIS, 2026, 3, 30, 12)
    assert not acceptance(line.send(Usage(parts=9, new_recipient=False))).out_of_bundle
    assert acceptance(line.send(Usage(parts=3, new_recipient=False))).out_of_bundle
    assert acceptance(line.send()).out_of_bundle
    assert (line.state.parts, line.state.overage_parts, line.state.out_of_bundle) == (13, 3, 2)


# --- money ----------------------------------------------------------------------------------


def test_spending_cap_refuses_what_would_pass_it_and_alerts() -> None:
    rules = NO_CAPS.merge(
        {"spending_cap": 1, "price_national": "0.10", "price_international": "0.50"}
    )
    line = Line(rules, BAMAKO, 2026, 6, 1, 8)
    events = [line.send().events for _ in range(8)]
    assert events[7] == (Alert("spending", 80, Decimal("0.80"), Decimal(1)),)
    abroad = line.send(Usage(scope="international", new_recipient=False))
    assert (refusal(abroad).rule, refusal(abroad).http_status) == ("spending_cap", 403)
    assert abroad.checks[-1].value == Decimal("1.30") and not abroad.checks[-1].ok
    assert line.send_many(2)[-1].events == (Alert("spending", 100, Decimal("1.00"), Decimal(1)),)
    assert refusal(line.send()).rule == "spending_cap"
    assert line.state.spend == Decimal("1.00")


def test_a_zero_cap_on_a_bundle_plan_refuses_only_priced_parts() -> None:
    rules = NO_CAPS.merge(
        {
            "monthly_quota": 2,
            "quota_mode": "unblocked",
            "charge": "out_of_bundle",
            "spending_cap": 0,
            "price_national": "0.05",
        }
    )
    line = Line(rules, BAMAKO, 2026, 6, 1, 8)
    assert acceptance(line.send()).cost == 0
    assert acceptance(line.send()).cost == 0
    assert refusal(line.send()).rule == "spending_cap"
    assert {kind for kind, _ in line.state.alerts} == {"quota"}  # none for a cap of 0


def test_prepaid_credit_is_taken_on_acceptance_and_refunded_on_reject() -> None:
    rules = NO_CAPS.merge({"prepaid": True, "price_national": "0.10"})
    line = Line(rules, BAMAKO, 2026, 6, 1, 8, state=top_up(State(), Decimal("0.25")))
    costs = [acceptance(outcome).cost for outcome in line.send_many(2)]
    assert costs == [Decimal("0.10")] * 2 and line.state.credit == Decimal("0.05")
    short = refusal(line.send())
    assert (short.rule, short.smpp_status, short.http_status) == ("prepaid_credit", 0x45, 402)
    assert short.retry_after is None
    line.state = refund(rules, line.state, costs[0])  # the SMSC rejected the first one
    assert line.state.credit == Decimal("0.15")
    assert isinstance(line.send().decision, Accept)
    kept = refund(rules.merge({"refund_on_reject": False}), line.state, costs[0])
    assert kept.credit == line.state.credit
    with pytest.raises(ValueError, match="positive"):
        top_up(State(), Decimal(0))


def test_a_multipart_message_costs_each_part_at_its_scope_price() -> None:
    rules = NO_CAPS.merge({"price_national": "0.02", "price_international": 0.1})
    outcome = evaluate(rules, State(), Usage(parts=3, scope="international"), 0.0, BAMAKO)
    assert acceptance(outcome).cost == Decimal("0.3")


# --- distinct recipients --------------------------------------------------------------------


def distinct_line(policy: str) -> Line:
    rules = Rules(
        distinct_recipients=3,
        over_distinct=policy,  # type: ignore[arg-type]
        hourly_messages=None,
        charge="out_of_bundle",
        price_national=Decimal("0.07"),
    )
    line = Line(rules, PARIS, 2026, 2, 10, 9)
    for outcome in line.send_many(3, Usage(new_recipient=True)):
        assert acceptance(outcome) == Accept(record_recipient=True)
    return line


def test_beyond_the_distinct_cap_block_refuses_new_numbers_only() -> None:
    line = distinct_line("block")
    refused = refusal(line.send(Usage(new_recipient=True)))
    assert (refused.rule, refused.smpp_status, refused.http_status) == (
        "distinct_recipients",
        ESME_RSUBMITFAIL,
        403,
    )
    assert "3 distinct recipients" in refused.reason
    assert isinstance(line.send(KNOWN).decision, Accept)
    assert line.state.distinct == 3


def test_beyond_the_distinct_cap_out_of_bundle_bills_every_message() -> None:
    line = distinct_line("out_of_bundle")
    for _ in range(2):  # never recorded, so the same number is "new" and billed again
        beyond = acceptance(line.send(Usage(new_recipient=True)))
        assert beyond == Accept(out_of_bundle=True, cost=Decimal("0.07"), record_recipient=False)
    assert (line.state.distinct, line.state.out_of_bundle) == (3, 2)
    assert line.state.spend == Decimal("0.14")


def test_beyond_the_distinct_cap_review_flags_the_account_once() -> None:
    line = distinct_line("review")
    first = line.send(Usage(new_recipient=True))
    assert acceptance(first) == Accept(review=True, record_recipient=True)
    assert first.events == (ReviewFlagged(4, 3),)
    assert line.send(Usage(new_recipient=True)).events == ()
    assert (line.state.distinct, line.state.review) == (5, True)
    line.go_to(2026, 3, 1, 0, 0)
    line.send()
    assert line.state.review and line.state.distinct == 0  # the flag outlives the month
    assert not clear_review(line.state).review


def test_every_decision_carries_its_checks() -> None:
    rules = Rules(monthly_quota=100, spending_cap=Decimal(5), prepaid=True)
    outcome = evaluate(rules, top_up(State(), Decimal(1)), Usage(parts=2), 0.0, BAMAKO)
    found = [(check.rule, check.value, check.limit, check.ok) for check in outcome.checks]
    assert found == [
        ("hourly_messages", 1, 500, True),
        ("distinct_recipients", 1, 250, True),
        ("monthly_quota", 2, 100, True),
        ("spending_cap", 0, Decimal(5), True),
        ("prepaid_credit", 0, Decimal(1), True),
    ]


# --- batches --------------------------------------------------------------------------------


def test_a_batch_decides_each_recipient_in_order() -> None:
    rules = BUILTIN_PLANS["unlimited"].merge({"hourly_messages": 500})
    usages = [Usage(recipient=f"2237660{index:04d}") for index in range(1000)]
    now = at(PARIS, 2026, 5, 4, 10)
    outcomes, state = evaluate_many(rules, State(), usages, now, PARIS)
    assert accepted(outcomes) == 500 and state.messages == 500
    assert refusal(outcomes[500]).rule == "hourly_messages"
    assert {refusal(outcome).rule for outcome in outcomes[501:]} == {"suspension"}
    assert refusal(outcomes[-1]).smpp_status == ESME_RTHROTTLED


def test_a_batch_counts_a_repeated_new_recipient_once() -> None:
    usages = [Usage(recipient="22376600000"), Usage(recipient="22376600000"), Usage()]
    outcomes, state = evaluate_many(Rules(), State(), usages, 0.0, BAMAKO)
    assert [acceptance(outcome).record_recipient for outcome in outcomes] == [True, False, True]
    assert state.distinct == 2


# --- plans ----------------------------------------------------------------------------------


def test_a_plan_change_takes_effect_on_the_first_of_next_month() -> None:
    schedule = PlanSchedule("standard").request("gold", at(PARIS, 2026, 3, 15, 12), PARIS)
    assert schedule == PlanSchedule("standard", "gold", "2026-04")
    # 00:00 on 1 April in Paris is 22:00 UTC on 31 March.
    assert schedule.plan_at(at(PARIS, 2026, 3, 31, 23, 59, 59), PARIS) == "standard"
    assert schedule.plan_at(at(PARIS, 2026, 4, 1), PARIS) == "gold"
    assert schedule.settled(at(PARIS, 2026, 4, 1), PARIS) == PlanSchedule("gold")
    assert schedule.plan_at(at(PARIS, 2026, 4, 1), BAMAKO) == "standard"  # still March there


def test_plan_requests() -> None:
    december = at(BAMAKO, 2026, 12, 31, 23)
    assert PlanSchedule().request("gold", december, BAMAKO) == PlanSchedule("gold")
    assert PlanSchedule("a").request("b", december, BAMAKO).effective == "2027-01"
    waiting = PlanSchedule("a", "b", "2027-01")
    assert waiting.request("a", december, BAMAKO) == PlanSchedule("a")  # cancelled
    assert waiting.request("c", december, BAMAKO) == PlanSchedule("a", "c", "2027-01")
    # Asked in January, once "b" is in force: "b" is current and "c" waits for February.
    later = waiting.request("c", at(BAMAKO, 2027, 1, 5), BAMAKO)
    assert later == PlanSchedule("b", "c", "2027-02")


def test_the_new_plan_counts_the_new_month() -> None:
    plans = plans_from_mapping({"small": {"monthly_quota": 2}, "big": {"monthly_quota": 5}})
    schedule = PlanSchedule("small").request("big", at(PARIS, 2026, 3, 15), PARIS)
    line = Line(plans["small"], PARIS, 2026, 3, 31, 23)
    line.send_many(2)
    assert refusal(line.send()).rule == "monthly_quota"
    line.go_to(2026, 4, 1, 0, 0)
    line.rules = plans[schedule.plan_at(line.clock.seconds(), PARIS) or "standard"]
    assert accepted(line.send_many(6)) == 5


# --- rules, overrides, parser ---------------------------------------------------------------


def test_overrides_merge_onto_the_plan() -> None:
    merged = BUILTIN_PLANS["standard"].merge(
        {"distinct_recipients": 100, "hourly_messages": "unlimited", "spending_cap": 50.5}
    )
    assert merged == Rules(
        distinct_recipients=100, hourly_messages=None, spending_cap=Decimal("50.5")
    )
    assert merged.merge({"spending_cap": None}).spending_cap is None
    assert rules_from_mapping({"price_national": 0.1}, "p").price_national == Decimal("0.1")
    assert rules_from_mapping({"alert_thresholds": [100, 50]}, "p").alert_thresholds == (50, 100)
    assert json.loads(json.dumps(merged.to_mapping()))["spending_cap"] == "50.5"
    assert rules_from_mapping(merged.to_mapping(), "p") == merged


def test_account_rules() -> None:
    plans = plans_from_mapping({"gold": {"monthly_quota": 1000}})
    assert set(plans) == {"standard", "unlimited", "gold"}
    gold = account_rules(plans, "gold", {"quota_mode": "unblocked"}, "accounts.acme")
    assert (gold.monthly_quota, gold.quota_mode) == (1000, "unblocked")
    with pytest.raises(ValueError, match=r"^accounts\.acme\.plan: no plan 'silver'"):
        account_rules(plans, "silver", {}, "accounts.acme")
    with pytest.raises(ValueError, match=r"^accounts\.acme\.fair_use\.prepaid: "):
        account_rules(plans, "gold", {"prepaid": 1}, "accounts.acme")


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("hourly_message", 5, "unknown key"),
        ("distinct_recipients", -1, "below 0"),
        ("distinct_recipients", 250.0, "not a whole number"),
        ("hourly_messages", 0, "below 1"),
        ("monthly_quota", True, "not a whole number"),
        ("over_distinct", "bill", "not one of block, out_of_bundle, review"),
        ("quota_mode", "soft", "not one of blocked, unblocked"),
        ("spending_cap", "fifty", "not an amount"),
        ("spending_cap", "NaN", "0 or more"),
        ("price_national", "-0.01", "0 or more"),
        ("price_international", [1], "not an amount"),
        ("prepaid", "yes", "not true or false"),
        ("suspension_days", 400, "at most 366"),
        ("alert_thresholds", [80, 80], "listed twice"),
        ("alert_thresholds", [0], "below 1"),
        ("alert_thresholds", 80, "not a list"),
    ],
)
def test_parser_errors_name_the_key(key: str, value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=rf"^plans\.gold\.{key}: .*{reason}"):
        plans_from_mapping({"gold": {key: value}})


def test_a_plan_must_be_a_table() -> None:
    with pytest.raises(ValueError, match=r"^plans\.gold: must be a table"):
        plans_from_mapping({"gold": 5})


# --- the row --------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False)
counter = st.integers(min_value=0, max_value=2**40)
states = st.builds(
    State,
    period=st.dates().map(lambda day: f"{day.year:04d}-{day.month:02d}"),
    messages=counter,
    parts=counter,
    overage_parts=counter,
    distinct=counter,
    out_of_bundle=counter,
    spend=money,
    credit=money,
    hour_start=counter,
    hour=st.lists(st.integers(0, 10**6), max_size=60).map(tuple),
    suspended_until=st.none() | st.floats(0, 4e9),
    alerts=st.frozensets(st.tuples(st.sampled_from(["quota", "spending"]), st.integers(1, 1000))),
    review=st.booleans(),
)


@given(states)
def test_state_round_trips_through_a_json_row(state: State) -> None:
    row = state.to_row()
    assert all(value is None or isinstance(value, str | int | float) for value in row.values())
    assert State.from_row(json.loads(json.dumps(row))) == state


def test_an_empty_row_is_a_new_account() -> None:
    assert State.from_row({}) == State()
    with pytest.raises(ValueError, match="not a counter"):
        State.from_row({"messages": "3"})


# --- a property: what a blocked plan promises -----------------------------------------------

steps = st.lists(
    st.tuples(
        st.integers(0, 900),  # seconds since the previous message
        st.integers(1, 4),  # parts
        st.sampled_from(["national", "international"]),
        st.booleans(),  # a new recipient
    ),
    max_size=300,
)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_limits_hold_whatever_the_traffic(traffic: list[tuple[int, int, str, bool]]) -> None:
    rules = Rules(
        distinct_recipients=20,
        hourly_messages=30,
        suspension_days=0,
        monthly_quota=200,
        spending_cap=Decimal(9),
        price_national=Decimal("0.03"),
        price_international=Decimal("0.11"),
        prepaid=True,
    )
    line = Line(rules, PARIS, 2026, 3, 29, 0, state=top_up(State(), Decimal(7)))
    accepted_at: list[float] = []
    for wait, parts, scope, new in traffic:
        line.clock.advance(wait)
        usage = Usage(parts, scope, new)  # type: ignore[arg-type]
        if isinstance(line.send(usage).decision, Accept):
            accepted_at.append(line.clock.seconds())
        state = line.state
        assert state.parts <= 200 and state.distinct <= 20
        assert state.spend <= 9 and state.credit >= 0
        in_window = [t for t in accepted_at if t // 60 > line.clock.seconds() // 60 - 60]
        assert len(in_window) <= 30 and sum(state.hour) == len(in_window)
