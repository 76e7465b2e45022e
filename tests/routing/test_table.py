from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.routing.mo import MoRule, MoTable
from gatewayd.routing.rules_parse import (
    RESEND_STATES,
    mo_rule_to_mapping,
    parse_mo_rules,
    parse_rules,
    rule_to_mapping,
)
from gatewayd.routing.table import (
    NO_ROUTE_STATUS,
    Action,
    Balance,
    Connector,
    Failover,
    Match,
    Reject,
    Resend,
    Routed,
    RouteQuery,
    RoutingTable,
    Rule,
    Unroutable,
    Window,
    connectors_used,
)
from gatewayd.smpp.constants import ESME_RINVDSTADR, ESME_RX_R_APPN

WHERE = "routing.rules"
PARIS = ZoneInfo("Europe/Paris")


def at(year: int, month: int, day: int, hour: int, minute: int) -> float:
    """Epoch seconds of a UTC date and time."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


#: Monday 2024-03-04 10:00 UTC.
MONDAY = at(2024, 3, 4, 10, 0)


def query(**changes: Any) -> RouteQuery:
    fields: dict[str, Any] = {
        "destination": "33612345678",
        "operator": "orange-fr",
        "account": "Demo SARL",
        "groups": frozenset({"resellers"}),
        "sender": "ACME",
        "message_class": "transactional",
        "now": MONDAY,
    }
    fields.update(changes)
    return RouteQuery(**fields)


def table(*rules: Mapping[str, object], default: str | None = "default") -> RoutingTable:
    return RoutingTable(parse_rules(list(rules), WHERE), default)


def all_bound(name: str) -> bool:
    return True


def none_bound(name: str) -> bool:
    return False


def bound(*names: str) -> Any:
    return lambda name: name in names


def connector(decision: Routed | Unroutable) -> str:
    assert isinstance(decision, Routed), decision
    return decision.connector


# --- criteria -----------------------------------------------------------------------------

CRITERIA: list[tuple[dict[str, object], dict[str, Any], dict[str, Any], str]] = [
    ({"prefixes": ["336", "337"]}, {"destination": "33712345678"},
     {"destination": "22376600000"}, "prefix 336/337 did not match 22376600000"),
    ({"operators": ["orange-fr", "sfr"]}, {"operator": "sfr"},
     {"operator": None}, "operator unknown is not 'orange-fr'/'sfr'"),
    ({"regex": "336[0-9]{8}"}, {"destination": "33612345678"},
     {"destination": "336123456789"}, "regex 336[0-9]{8} did not match 336123456789"),
    ({"accounts": ["Demo SARL"]}, {"account": "Demo SARL"},
     {"account": "Other"}, "account 'Other' is not 'Demo SARL'"),
    ({"groups": ["resellers", "banks"]}, {"groups": frozenset({"banks", "x"})},
     {"groups": frozenset()}, "account groups (no groups) include none of 'banks'/'resellers'"),
    ({"senders": ["ACME"]}, {"sender": "ACME"},
     {"sender": "acme"}, "sender 'acme' is not 'ACME'"),
    ({"message_class": "bulk"}, {"message_class": "bulk"},
     {"message_class": "transactional"}, "message class transactional is not bulk"),
    ({"window": {"days": ["mon"], "from": "09:00", "to": "12:00", "tz": "UTC"}},
     {"now": MONDAY}, {"now": at(2024, 3, 3, 10, 0)},
     "sun 10:00 UTC is outside the window mon 09:00-12:00 UTC"),
]  # fmt: skip


@pytest.mark.parametrize(("criterion", "hit", "miss", "why"), CRITERIA)
def test_each_criterion_matches_or_says_why_not(
    criterion: dict[str, object], hit: dict[str, Any], miss: dict[str, Any], why: str
) -> None:
    routes = table({"name": "r", **criterion, "connector": "c"})
    assert connector(routes.route(query(**hit), all_bound)) == "c"
    assert connector(routes.route(query(**miss), all_bound)) == "default"
    assert routes.explain(query(**miss), all_bound).lines[0] == f"rule 'r': {why}"


def test_all_given_criteria_must_hold() -> None:
    routes = table({"name": "r", "prefixes": ["336"], "accounts": ["Bank"], "connector": "c"})
    assert connector(routes.route(query(account="Bank"), all_bound)) == "c"
    assert connector(routes.route(query(account="Demo SARL"), all_bound)) == "default"
    assert connector(routes.route(query(account="Bank", destination="3371"), all_bound)) == (
        "default"
    )


def test_a_rule_without_criteria_matches_everything() -> None:
    routes = table({"name": "all", "connector": "c"})
    assert connector(routes.route(query(destination="1", operator=None), all_bound)) == "c"


def test_the_first_matching_rule_decides() -> None:
    routes = table(
        {"name": "mali", "prefixes": ["223"], "connector": "orange-ml"},
        {"name": "fr", "prefixes": ["33"], "connector": "first"},
        {"name": "fr-too", "prefixes": ["336"], "connector": "second"},
    )
    decision = routes.route(query(), all_bound)
    assert decision == Routed("first", "fr", (), None, True)
    explanation = routes.explain(query(), all_bound)
    assert explanation.lines == (
        "rule 'mali': prefix 223 did not match 33612345678",
        "rule 'fr': matched; connector 'first'",
        "decision: send through 'first'",
    )
    assert explanation.decision == decision


def test_without_a_match_the_default_connector_or_no_route() -> None:
    rules = [{"name": "mali", "prefixes": ["223"], "connector": "orange-ml"}]
    assert table(*rules).route(query(), none_bound) == Routed("default", None, (), None, False)
    unrouted = table(*rules, default=None)
    assert unrouted.route(query(), all_bound) == Unroutable(NO_ROUTE_STATUS, "no route", None)
    assert unrouted.explain(query(), all_bound).lines[1:] == (
        "no rule matched and there is no default connector",
        "decision: reject with ESME_RINVDSTADR (0x0000000B): no route",
    )


# --- actions ------------------------------------------------------------------------------


def test_a_connector_is_chosen_bound_or_not_and_the_message_waits() -> None:
    routes = table({"name": "r", "connector": "c"})
    assert routes.route(query(), all_bound) == Routed("c", "r", (), None, True)
    assert routes.route(query(), none_bound) == Routed("c", "r", (), None, False)
    assert routes.explain(query(), none_bound).lines[-1] == (
        "decision: queue for 'c', which is not bound now"
    )


def test_reject_with_the_rule_status_and_reason() -> None:
    routes = table({"name": "no-ml", "reject": {"status": "0x0B", "reason": "no route to Mali"}})
    assert routes.route(query(), all_bound) == Unroutable(
        ESME_RINVDSTADR, "no route to Mali", "no-ml"
    )


def test_failover_takes_the_first_bound_connector() -> None:
    routes = table({"name": "f", "failover": ["a", "b", "c", "d"]})
    assert routes.route(query(), all_bound) == Routed("a", "f", ("b", "c", "d"), None, True)
    assert routes.route(query(), bound("c", "b")) == Routed("b", "f", ("c", "d"), None, True)
    assert routes.route(query(), bound("d")) == Routed("d", "f", (), None, True)


def test_failover_with_nothing_bound_queues_on_the_first() -> None:
    routes = table({"name": "f", "failover": ["a", "b"]})
    assert routes.route(query(), none_bound) == Routed("a", "f", ("b",), None, False)


def test_next_after_a_routing_error_walks_the_candidates() -> None:
    routes = table({"name": "f", "failover": ["a", "b", "c", "d"]})
    first = routes.route(query(), all_bound)
    assert isinstance(first, Routed)
    second = routes.next_after(first, "a", bound("a", "c", "d"))
    assert second == Routed("c", "f", ("d",), None, True)
    assert second is not None
    third = routes.next_after(second, "c", none_bound)
    assert third == Routed("d", "f", (), None, False)
    assert third is not None
    assert routes.next_after(third, "d", all_bound) is None
    assert routes.next_after(first, "elsewhere", all_bound) is None


def test_next_after_keeps_the_resend() -> None:
    routes = table(
        {"name": "f", "failover": ["a", "b"], "resend": {"via": "z", "states": ["expired"]}}
    )
    first = routes.route(query(), all_bound)
    assert isinstance(first, Routed)
    resend = Resend("z", frozenset({"expired"}))
    assert first.resend == resend
    assert routes.next_after(first, "a", all_bound) == Routed("b", "f", (), resend, True)


def picks(routes: RoutingTable, count: int, is_bound: Any = all_bound) -> list[str]:
    return [connector(routes.route(query(), is_bound)) for _ in range(count)]


def test_balance_is_smooth_weighted_round_robin() -> None:
    routes = table({"name": "b", "balance": {"a": 5, "b": 1, "c": 1}})
    assert picks(routes, 14) == list("aabacaa" * 2)


@pytest.mark.parametrize("weights", [{"a": 3, "b": 1}, {"a": 5, "b": 3, "c": 2}])
def test_balance_proportions_over_1000_picks_are_exact(weights: dict[str, int]) -> None:
    routes = table({"name": "b", "balance": weights})
    total = sum(weights.values())
    assert Counter(picks(routes, 1000)) == {name: 1000 * w // total for name, w in weights.items()}


@given(st.lists(st.integers(1, 20), min_size=1, max_size=6), st.integers(1, 4))
def test_each_member_gets_its_weight_in_every_cycle(weights: list[int], cycles: int) -> None:
    members = {f"c{i}": weight for i, weight in enumerate(weights)}
    routes = table({"name": "b", "balance": members})
    assert Counter(picks(routes, sum(weights) * cycles)) == {
        name: weight * cycles for name, weight in members.items()
    }


def test_balance_skips_unbound_members_and_offers_the_others_on_error() -> None:
    routes = table({"name": "b", "balance": {"a": 3, "b": 2, "c": 1}})
    assert Counter(picks(routes, 300, bound("b", "c"))) == {"b": 200, "c": 100}
    decision = routes.route(query(), bound("b", "c"))
    assert isinstance(decision, Routed)
    assert decision.candidates == tuple(name for name in "abc" if name != decision.connector)


def test_balance_with_nothing_bound_queues_on_the_heaviest_without_turning() -> None:
    routes = table({"name": "b", "balance": {"a": 1, "b": 3, "c": 3}})
    assert routes.route(query(), none_bound) == Routed("b", "b", ("a", "c"), None, False)
    fresh = table({"name": "b", "balance": {"a": 1, "b": 3, "c": 3}})
    assert picks(routes, 7) == picks(fresh, 7)


def test_explain_does_not_move_the_round_robin() -> None:
    routes = table({"name": "b", "balance": {"a": 1, "b": 1}})
    assert routes.explain(query(), all_bound).decision == Routed("a", "b", ("b",), None, True)
    assert routes.explain(query(), all_bound).decision == Routed("a", "b", ("b",), None, True)
    assert picks(routes, 3) == ["a", "b", "a"]


def test_explain_lines_for_failover_with_resend() -> None:
    routes = table(
        {"name": "fr-mobile", "prefixes": ["336", "337"], "failover": ["orange-fr", "sfr"],
         "resend": {"via": "backup", "states": ["undeliverable", "expired"]}},
    )  # fmt: skip
    assert routes.explain(query(), bound("sfr")).lines == (
        "rule 'fr-mobile': matched; failover 'orange-fr' then 'sfr'",
        "decision: send through 'sfr'",
        "when expired/undeliverable: resend once through 'backup'",
    )
    assert routes.explain(query(), none_bound).lines[1:3] == (
        "decision: queue for 'orange-fr', which is not bound now",
        "after a routing error: try 'sfr'",
    )


# --- time windows -------------------------------------------------------------------------


def in_window(window: object, now: float) -> bool:
    routes = table({"name": "w", "window": window, "connector": "c"})
    return connector(routes.route(query(now=now), all_bound)) == "c"


FRIDAY_NIGHT = {"days": ["fri"], "from": "22:00", "to": "06:00", "tz": "Europe/Paris"}


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2024, 3, 8, 23, 0), True),  # Friday 23:00
        ((2024, 3, 9, 3, 0), True),  # Saturday 03:00 belongs to Friday night
        ((2024, 3, 9, 5, 59), True),
        ((2024, 3, 9, 6, 0), False),
        ((2024, 3, 8, 21, 59), False),
        ((2024, 3, 8, 3, 0), False),  # Friday 03:00 is Thursday night
        ((2024, 3, 9, 23, 0), False),  # Saturday night
    ],
)
def test_a_window_crossing_midnight(local: tuple[int, int, int, int, int], expected: bool) -> None:
    year, month, day, hour, minute = local
    now = datetime(year, month, day, hour, minute, tzinfo=PARIS).timestamp()
    assert in_window(FRIDAY_NIGHT, now) is expected


def test_a_window_follows_the_wall_clock_across_dst() -> None:
    day = {"from": "08:00", "to": "20:00", "tz": "Europe/Paris"}
    # 06:30 UTC is 07:30 in winter (UTC+1) and 08:30 in summer (UTC+2).
    assert not in_window(day, at(2024, 3, 30, 6, 30))
    assert in_window(day, at(2024, 4, 1, 6, 30))
    assert in_window(day, at(2024, 10, 26, 18, 30)) is False  # 20:30 summer time
    assert in_window(day, at(2024, 10, 28, 18, 30))  # 19:30 winter time


def test_a_night_window_over_the_spring_change_ends_at_local_six() -> None:
    night = {"days": ["sat"], "from": "22:00", "to": "06:00", "tz": "Europe/Paris"}
    # The night of 30-31 March 2024 loses an hour at 02:00.
    assert in_window(night, at(2024, 3, 31, 3, 30))  # 05:30 CEST
    assert not in_window(night, at(2024, 3, 31, 4, 30))  # 06:30 CEST
    assert in_window(night, at(2024, 3, 24, 4, 30))  # a week earlier: 05:30 CET


def test_the_repeated_autumn_hour_is_in_the_window_both_times() -> None:
    hour = {"days": ["sun"], "from": "02:00", "to": "03:00", "tz": "Europe/Paris"}
    assert in_window(hour, at(2024, 10, 27, 0, 30))  # 02:30 CEST
    assert in_window(hour, at(2024, 10, 27, 1, 30))  # 02:30 CET
    assert not in_window(hour, at(2024, 10, 27, 2, 30))  # 03:30 CET


def test_equal_from_and_to_is_24_hours_from_the_start() -> None:
    window = {"days": ["mon"], "from": "12:00", "to": "12:00", "tz": "UTC"}
    assert in_window(window, at(2024, 3, 4, 12, 0))
    assert in_window(window, at(2024, 3, 5, 11, 59))
    assert not in_window(window, at(2024, 3, 5, 12, 0))
    assert not in_window(window, at(2024, 3, 4, 11, 59))


def test_a_window_without_times_is_the_whole_day() -> None:
    weekend = {"days": ["sat", "sun"], "tz": "Africa/Bamako"}
    assert in_window(weekend, at(2024, 3, 9, 0, 0))
    assert in_window(weekend, at(2024, 3, 10, 23, 59))
    assert not in_window(weekend, at(2024, 3, 11, 0, 0))


QUERIES = st.builds(
    query,
    destination=st.sampled_from(["33612345678", "33712345678", "22376600000", "336"]),
    operator=st.sampled_from([None, "orange-fr", "sfr"]),
    account=st.sampled_from(["Demo SARL", "Bank"]),
    groups=st.frozensets(st.sampled_from(["resellers", "banks"])),
    sender=st.sampled_from(["ACME", "INFO"]),
    message_class=st.sampled_from(["transactional", "bulk"]),
    now=st.floats(0, 2e9),
)


@given(QUERIES)
def test_mismatch_agrees_with_holds(q: RouteQuery) -> None:
    for criterion, _, _, _ in CRITERIA:
        rule = parse_rules([{"name": "r", **criterion, "connector": "c"}], WHERE)[0]
        assert rule.match.holds(q) == (rule.match.mismatch(q) is None)


# --- MO routing ---------------------------------------------------------------------------

MO = MoTable(
    parse_mo_rules(
        [
            {"address": "36001", "keyword": "STOP", "account": "Opt-out"},
            {"address": "36001", "account": "Demo SARL"},
            {"address": "36001", "keyword": "éte", "account": "Summer"},
            {"address": "22376600000", "keyword": "INFO", "account": "Bank"},
        ],
        "mo.rules",
    )
)


@pytest.mark.parametrize(
    ("address", "text", "account"),
    [
        ("36001", "STOP", "Opt-out"),
        ("36001", "  stop please", "Opt-out"),
        ("36001", "Stop.", "Opt-out"),
        ("36001", "STÖP", "Opt-out"),
        ("36001", "ETE 2024", "Summer"),
        ("36001", "STOPPED", "Demo SARL"),
        ("36001", "hello STOP", "Demo SARL"),
        ("36001", "", "Demo SARL"),
        ("+36001", "stop", "Opt-out"),
        ("22376600000", "info", "Bank"),
        ("22376600000", "stop", None),
        ("36002", "stop", None),
    ],
)
def test_mo_keyword_beats_the_address_rule(address: str, text: str, account: str | None) -> None:
    found = MO.route(address, text)
    assert (found.account if found else None) == account
    if found is not None:
        assert found.rule.account == account


def test_mo_table_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="keyword STOP"):
        MoTable([MoRule("1", "STOP", "a"), MoRule("1", "stop", "b")])
    with pytest.raises(ValueError, match="without a keyword"):
        MoTable([MoRule("1", None, "a"), MoRule("+1", None, "b")])


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"address": "1", "account": "a"}, {"address": "+1", "account": "b"}],
         "mo.rules[1].address: mo.rules[0] has the same address and keyword"),
        ([{"address": "1", "keyword": "Stop", "account": "a"},
          {"address": "1", "keyword": "STOP", "account": "b"}],
         "mo.rules[1].keyword: mo.rules[0] has the same address and keyword"),
        ([{"address": "1", "keyword": "two words", "account": "a"}], "mo.rules[0].keyword: "),
        ([{"address": "36 001", "account": "a"}], "mo.rules[0].address: "),
        ([{"address": "1"}], "mo.rules[0].account: required"),
        ([{"address": "1", "account": "a", "kw": "x"}], "mo.rules[0].kw: unknown key"),
    ],
)  # fmt: skip
def test_mo_parse_errors_name_the_key(rules: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_mo_rules(rules, "mo.rules")
    assert str(caught.value).startswith(message)


def test_mo_rules_round_trip() -> None:
    for rule in MO.rules:
        assert parse_mo_rules([mo_rule_to_mapping(rule)], "mo.rules") == (rule,)


# --- parsing ------------------------------------------------------------------------------

GOOD = {"name": "r", "connector": "c"}
ERRORS = [
    ({**GOOD, "prefix": ["33"]}, "[0].prefix: unknown key"),
    ({**GOOD, "regex": "33[0-9"}, "[0].regex: not a valid regular expression"),
    ({"name": "r", "reject": {"status": "ESME_RNOPE"}}, "[0].reject.status: 'ESME_RNOPE' is not"),
    ({"name": "r", "reject": {"status": 0}}, "[0].reject.status: 0 is not a non-zero"),
    ({"name": "r", "reject": {"reason": "x"}}, "[0].reject.status: required"),
    ({"name": "r", "reject": {"status": 11, "why": "x"}}, "[0].reject.why: unknown key"),
    ({**GOOD, "window": {"from": "7:60", "to": "22:00", "tz": "UTC"}}, "[0].window.from: '7:60'"),
    ({**GOOD, "window": {"from": "07:00", "to": "24:00", "tz": "UTC"}}, "[0].window.to: "),
    ({**GOOD, "window": {"from": "07:00", "tz": "UTC"}}, "[0].window: give both from and to"),
    ({**GOOD, "window": {"days": ["lun"], "tz": "UTC"}}, "[0].window.days: 'lun' is not one of"),
    ({**GOOD, "window": {"tz": "Mars/Olympus"}}, "[0].window.tz: unknown time zone"),
    ({**GOOD, "window": {"days": ["mon"]}}, "[0].window.tz: required"),
    ({"name": "r", "balance": {"a": 0}}, "[0].balance.a: must be a positive integer weight"),
    ({"name": "r", "balance": {"a": True}}, "[0].balance.a: must be a positive integer weight"),
    ({"name": "r", "balance": {"a": 1.5}}, "[0].balance.a: must be a positive integer weight"),
    ({"name": "r", "balance": {}}, "[0].balance: needs at least one"),
    ({"name": "r", "failover": ["a", "a"]}, "[0].failover: a connector is listed twice"),
    ({"name": "r"}, "[0]: needs one action"),
    ({**GOOD, "failover": ["a"]}, "[0].failover: a rule has one action and this one also has"),
    ({**GOOD, "prefixes": []}, "[0].prefixes: must be a non-empty list"),
    ({**GOOD, "prefixes": "33"}, "[0].prefixes: must be a non-empty list"),
    ({**GOOD, "prefixes": ["+33"]}, "[0].prefixes: '+33' is not 1 to 15 digits"),
    ({**GOOD, "accounts": [""]}, "[0].accounts: must not be empty"),
    ({**GOOD, "message_class": "urgent"}, "[0].message_class: must be"),
    ({**GOOD, "name": "x" * 65}, "[0].name: at most 64"),
    ({"connector": "c"}, "[0].name: required"),
    ({**GOOD, "resend": {"via": "c", "states": ["expired"]}}, "[0].resend.via: must be another"),
    ({**GOOD, "resend": {"via": "d", "states": ["delivered"]}}, "[0].resend.states: 'delivered'"),
    ({**GOOD, "resend": {"via": "d"}}, "[0].resend.states: required"),
    ({"name": "r", "reject": {"status": 11}, "resend": {"via": "d", "states": ["expired"]}},
     "[0].resend: a rejected message is never sent"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "message"), ERRORS)
def test_parse_errors_name_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_rules([raw], WHERE)
    assert str(caught.value).startswith(WHERE + message)


def test_duplicate_rule_names_and_non_tables_are_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("rules[2].name: 'r' is already the name of")):
        parse_rules([GOOD, {**GOOD, "name": "s"}, GOOD], WHERE)
    with pytest.raises(ValueError, match=re.escape("rules[0]: must be a table")):
        parse_rules(["r"], WHERE)  # type: ignore[list-item]


@pytest.mark.parametrize("status", [11, "11", "0x0B", "0x0000000b", "esme_rinvdstadr"])
def test_reject_status_by_name_or_number(status: object) -> None:
    (rule,) = parse_rules([{"name": "r", "reject": {"status": status}}], WHERE)
    assert rule.action == Reject(ESME_RINVDSTADR, "")


TOML = """
[[routing.rules]]
name = "fr-mobile"
prefixes = ["336", "337"]
message_class = "transactional"
failover = ["orange-fr", "sfr"]
resend = { via = "backup", states = ["undeliverable"] }
window = { days = ["mon", "tue"], from = 07:00:00, to = "22:00", tz = "Europe/Paris" }

[[routing.rules]]
name = "spread"
balance = { orange-fr = 3, sfr = 1 }

[[routing.rules]]
name = "no-ml"
prefixes = ["223"]
reject = { status = "0x0B", reason = "no route" }
"""


def test_the_toml_shape() -> None:
    raw = tomllib.loads(TOML)["routing"]["rules"]
    first, spread, no_ml = parse_rules(raw, WHERE)
    assert first == Rule(
        "fr-mobile",
        Match(
            prefixes=("336", "337"),
            message_class="transactional",
            window=Window(frozenset({0, 1}), 7 * 60, 22 * 60, PARIS),
        ),
        Failover(("orange-fr", "sfr")),
        Resend("backup", frozenset({"undeliverable"})),
    )
    assert spread.action == Balance((("orange-fr", 3), ("sfr", 1)))
    assert no_ml.action == Reject(ESME_RINVDSTADR, "no route")
    assert connectors_used([first, spread, no_ml]) == {"orange-fr", "sfr", "backup"}


CONNECTORS = st.sampled_from(["a", "b", "c", "d"])
NAMES = st.text(min_size=1, max_size=12).filter(str.strip)
ACTIONS: st.SearchStrategy[Action] = st.one_of(
    st.builds(Connector, CONNECTORS),
    st.builds(Failover, st.lists(CONNECTORS, min_size=1, unique=True).map(tuple)),
    st.builds(
        Balance,
        st.dictionaries(CONNECTORS, st.integers(1, 100), min_size=1).map(
            lambda d: tuple(d.items())
        ),
    ),
    st.builds(Reject, st.integers(1, 0xFFFFFFFF), st.text(max_size=20)),
)
WINDOWS = st.builds(
    Window,
    st.frozensets(st.integers(0, 6), min_size=1),
    st.integers(0, 1439),
    st.integers(0, 1439),
    st.sampled_from([PARIS, ZoneInfo("UTC"), ZoneInfo("Africa/Bamako")]),
)
MATCHES = st.builds(
    Match,
    prefixes=st.lists(st.text("0123456789", min_size=1, max_size=6), unique=True).map(tuple),
    operators=st.frozensets(NAMES, max_size=3),
    regex=st.none() | st.sampled_from(["336[0-9]+", "(33|34)[0-9]*"]).map(re.compile),
    accounts=st.frozensets(NAMES, max_size=3),
    groups=st.frozensets(NAMES, max_size=3),
    senders=st.frozensets(NAMES, max_size=3),
    message_class=st.sampled_from([None, "transactional", "bulk"]),
    window=st.none() | WINDOWS,
)


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    action = draw(ACTIONS)
    resend = None
    if not isinstance(action, Reject) and draw(st.booleans()):
        via = draw(CONNECTORS.filter(lambda name: action != Connector(name)))
        resend = Resend(
            via, draw(st.frozensets(st.sampled_from(sorted(RESEND_STATES)), min_size=1))
        )
    return Rule(draw(NAMES.filter(lambda name: len(name) <= 64)), draw(MATCHES), action, resend)


@given(rules())
def test_rules_round_trip_through_a_json_mapping(rule: Rule) -> None:
    stored = json.loads(json.dumps(rule_to_mapping(rule)))
    assert parse_rules([stored], WHERE) == (rule,)


def test_reject_status_is_written_by_name_when_it_has_one() -> None:
    rule = Rule("r", Match(), Reject(ESME_RX_R_APPN, "blocked"))
    assert rule_to_mapping(rule)["reject"] == {"status": "ESME_RX_R_APPN", "reason": "blocked"}
    unnamed = Rule("r", Match(), Reject(0x400, ""))
    assert rule_to_mapping(unnamed)["reject"] == {"status": "0x00000400", "reason": ""}
