"""A fleet in a real database (SQLite, and PostgreSQL when configured): two customers, a
catalogue of plans and options, lines, and a SIM pool."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import update

from gatewayd.storage import fleet_orders as ops
from gatewayd.storage.accounts import create_account
from gatewayd.storage.database import Database
from gatewayd.storage.models import Account

#: 2026-03-15 10:00 UTC.
NOW = 1773568800.0


@dataclass
class Fleet:
    db: Database
    acme: int
    other: int
    plans: dict[str, int]
    options: dict[str, int]
    lines: dict[str, int]

    def run(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self.db.run_sync(fn.__name__, fn, *args, **kwargs)


def seed(database: Database) -> Fleet:
    run = database.run_sync
    acme = run("a", create_account, "Acme", "customer", NOW).id
    other = run("b", create_account, "Other", "customer", NOW).id

    def zone(s, account_id: int, name: str, email: str) -> None:  # type: ignore[no-untyped-def]
        s.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(timezone=name, email=email, company_name=f"Company {account_id}")
        )

    run("z", zone, acme, "Europe/Paris", "fleet@acme.example")
    run("z", zone, other, "UTC", "")
    plans = {
        "u10": run("p", ops.add_plan, "u10", "Unlimited 10 GB", "unlimited", False, 10240, NOW),
        "u50": run("p", ops.add_plan, "u50", "Unlimited 50 GB", "unlimited", False, 51200, NOW),
        "u10b": run(
            "p", ops.add_plan, "u10b", "Unlimited 10 GB blocked", "unlimited", True, 10240, NOW
        ),
        "voice": run("p", ops.add_plan, "voice", "Unlimited voice", "unlimited", False, 0, NOW),
        "d20": run("p", ops.add_plan, "d20", "Data only 20 GB", "data_only", True, 20480, NOW),
    }
    options = {
        "eu": run("o", ops.add_option, "eu", "Roaming Europe", "roaming", NOW),
        "ip": run("o", ops.add_option, "ip", "Fixed IP", "data", NOW),
        "sms": run("o", ops.add_option, "sms", "SMS pack", "sms", NOW),
        "volte": run("o", ops.add_option, "volte", "VoLTE", "other", NOW),
    }
    lines = {
        "a1": run("l", ops.add_line, "Acme", "33600000001", "89330000000000000001", "u10", NOW,
                  user_name="Awa Diallo", site="Paris", contract="C-100", puk="11111111"),
        "a2": run("l", ops.add_line, "Acme", "33600000002", "89330000000000000002", "u10", NOW,
                  user_name="Jean Martin", site="Lyon", contract="C-101"),
        "a3": run("l", ops.add_line, "Acme", "33600000003", "89330000000000000003", "u50", NOW,
                  user_name="Zoé", contract="C-102"),
        "a4": run("l", ops.add_line, "Acme", "33600000004", "89330000000000000004", "d20", NOW,
                  user_name="Router", contract="C-103"),
        "a5": run("l", ops.add_line, "Acme", "33600000005", "89330000000000000005", "voice", NOW,
                  user_name="Voice", contract="C-104"),
        "b1": run("l", ops.add_line, "Other", "33600000101", "89330000000000000101", "u10", NOW,
                  user_name="Other user", contract="X-1"),
    }  # fmt: skip
    return Fleet(database, acme, other, plans, options, lines)


@pytest.fixture
def fleet(database: Database) -> Fleet:
    return seed(database)
