"""Routing cost: one ``RoutingTable.route`` call for a table of 20 rules.

Cases: the message matches the first rule (the typical table, most traffic on one route); it
matches only the last rule after 19 rules fail on their prefixes; it matches the last after 19
rules fail on their time window (the worst case: each window converts ``now`` to local time);
and a balance pick. Best of several ``timeit`` repeats, in microseconds per call. Run alone
with ``python -m bench.routing_cost``.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Mapping

from gatewayd.routing.rules_parse import parse_rules
from gatewayd.routing.table import Routed, RouteQuery, RoutingTable

REPEATS = 15
NUMBER = 20_000
RULES = 20
#: Monday 2024-03-04 10:00 UTC.
NOW = 1_709_546_400.0
QUERY = RouteQuery(
    destination="22376600000",
    operator="orange-ml",
    account="Demo SARL",
    groups=frozenset({"resellers"}),
    sender="ACME",
    message_class="transactional",
    now=NOW,
)
BALANCE: list[Mapping[str, object]] = [
    {"name": "spread", "balance": {"smsc-1": 3, "smsc-2": 2, "smsc-3": 1}}
]
#: Weekends only, so every rule but the last fails on its window on a Monday.
WEEKEND = {"days": ["sat", "sun"], "from": "07:00", "to": "22:00", "tz": "Africa/Bamako"}


def _rules(last_matches: bool, window: bool) -> list[Mapping[str, object]]:
    """RULES rules on distinct country prefixes, or (``window``) with no prefix and a weekend
    window; the first or the last rule takes Mali (223) at any time."""
    rules: list[dict[str, object]] = []
    for index in range(RULES):
        rule: dict[str, object] = {
            "name": f"rule-{index}",
            "prefixes": [f"{30 + index}1", f"{30 + index}2"],
            "message_class": "transactional",
            "failover": [f"smsc-{index}", "backup"],
        }
        if window:
            del rule["prefixes"]
            rule["window"] = WEEKEND
        rules.append(rule)
    mali = 0 if not last_matches else RULES - 1
    rules[mali]["prefixes"] = ["2237", "2236"]
    rules[mali].pop("window", None)
    return list(rules)


def per_call(action: Callable[[], object]) -> float:
    """Best-of-REPEATS microseconds per call."""
    return min(timeit.repeat(action, number=NUMBER, repeat=REPEATS)) / NUMBER * 1e6


def _cost(raw: list[Mapping[str, object]], expected: str) -> float:
    table = RoutingTable(parse_rules(raw, "routing.rules"), None)
    decision = table.route(QUERY, _bound)
    # Measure the case named, not a table that happens to route elsewhere.
    assert isinstance(decision, Routed) and decision.connector == expected, decision
    return per_call(lambda: table.route(QUERY, _bound))


def _bound(name: str) -> bool:
    return True


def main() -> list[tuple[str, str]]:
    last = f"smsc-{RULES - 1}"
    cases = {
        f"{RULES} rules, the first matches": (_rules(last_matches=False, window=False), "smsc-0"),
        f"{RULES} rules, the last matches": (_rules(last_matches=True, window=False), last),
        f"{RULES} rules, 19 fail on a window": (_rules(last_matches=True, window=True), last),
        "1 balance rule of 3 connectors": (BALANCE, "smsc-1"),
    }
    rows = [("route() (µs per call)", "best of repeats")]
    for label, (raw, expected) in cases.items():
        rows.append((label, f"{_cost(raw, expected):6.2f}"))
    return rows


if __name__ == "__main__":
    for label, value in main():
        print(f"{label:<40}  {value}")
