"""Expanding and persisting a big batch: ``python -m bench batches``.

One submission of 100,000 distinct recipients (typed in several formats, with duplicates) goes
through the same acceptance as every channel (numbers normalised and classified, the sender
checked, each recipient routed) and is written in one transaction by the group commit's
``accept`` write with fair use on (every rule evaluated), on a new SQLite file (and on
PostgreSQL when GATEWAYD_BENCH_DATABASE_URL is set). The target is <= 10 s for the whole.
"""

from __future__ import annotations

import time
from decimal import Decimal

from sqlalchemy.orm import Session

from bench.pipeline import database_kind, on_each_database, total_rows
from gatewayd.config import DatabaseConfig
from gatewayd.pipeline.submission import SubmitRequest, prepare
from gatewayd.routing.acceptance import Acceptance
from gatewayd.routing.account import AccountPolicy
from gatewayd.routing.fairuse_rules import Rules
from gatewayd.routing.numbers import NumberPlan
from gatewayd.routing.table import Failover, Match, RoutingTable, Rule
from gatewayd.storage.accounts import create_account
from gatewayd.storage.database import create_db_engine
from gatewayd.storage.fair_use import FairUsePolicy
from gatewayd.storage.migrate import upgrade
from gatewayd.storage.traffic import ACCEPT, Accept

RECIPIENTS = 100_000
#: Fair use on, with every rule evaluated (limits the batch does not reach).
FAIR_USE = FairUsePolicy(
    {
        "campaigns": Rules(
            distinct_recipients=10_000_000,
            hourly_messages=10_000_000,
            monthly_quota=100_000_000,
            price_national=Decimal("0.02"),
            price_international=Decimal("0.05"),
        )
    },
    "campaigns",
)
PREFIXES = {"2237": "Orange Mali", "2236": "Moov Africa Malitel"}
RULES = (
    Rule("ml-night", Match(prefixes=("223",), message_class="transactional"), Failover(("a",))),
    Rule("ml", Match(prefixes=("223",)), Failover(("a", "b"))),
    Rule("fr", Match(prefixes=("33",)), Failover(("b", "a"))),
)


def recipients(count: int) -> list[str]:
    """``count`` distinct numbers in the formats people paste, plus 5 % repeated."""
    out = []
    for i in range(count):
        if i % 2:
            out.append(f"+223 7{i // 1_000_000 % 10}{i % 1_000_000:06d}")
        else:
            digits = f"{i:08d}"
            out.append(f"0033 6 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}")
    return out + out[: count // 20]


def measure(url: str) -> list[tuple[str, str]]:
    engine = create_db_engine(DatabaseConfig(url=url))
    upgrade(engine)
    with Session(engine) as s, s.begin():
        info = create_account(s, f"Bench {time.time_ns()}", "customer", time.time())
    acceptance = Acceptance(NumberPlan(PREFIXES, "ML"), RoutingTable(RULES, "a"), lambda n: True)
    account = AccountPolicy(info.id, info.name, country="ML", senders=frozenset({"Bench"}))
    raws = recipients(RECIPIENTS)
    request = SubmitRequest(info, None, "api", raws, "Soldes -20 % ce week-end", "BENCH")
    now = time.time()
    t0 = time.perf_counter()
    batch = prepare(request, now, 172800.0, acceptance, account)
    t1 = time.perf_counter()
    with Session(engine) as s, s.begin():
        [accepted] = ACCEPT.apply(s, [Accept(batch, now, FAIR_USE)])
    t2 = time.perf_counter()
    engine.dispose()
    assert len(accepted.ids) == RECIPIENTS
    kind = database_kind(url)
    return [
        (
            f"{kind}: {len(raws):,} typed, {RECIPIENTS:,} distinct: check and route",
            f"{t1 - t0:.2f} s",
        ),
        (f"{kind}: fair use and persist (one transaction)", f"{t2 - t1:.2f} s"),
        *total_rows(kind, t2 - t0, RECIPIENTS, "recipient"),
    ]


def main() -> list[tuple[str, str]]:
    return on_each_database(measure, "batches.db")


if __name__ == "__main__":
    for label, value in main():
        print(f"{label:60} {value}")
