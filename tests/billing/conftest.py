"""A month of traffic for three customer accounts, two of them in one client group."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from gatewayd.billing.rating import Plan, Tariff, Tier, Zone
from gatewayd.billing.settings import BillingSettings
from gatewayd.storage.database import Database
from gatewayd.storage.models import Account, Batch, Client, Message

D = Decimal
Sessions = Callable[[], Session]


def at(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[arg-type, misc]


SETTINGS = BillingSettings(
    Tariff(
        "EUR",
        {
            "national": Zone("national", (Tier(0, D("0.05")), Tier(10, D("0.04")))),
            "france": Zone("france", (Tier(0, D("0.08")),), ("33",)),
        },
        {"pro": Plan("pro", D("30"), "out_of_bundle"), "meter": Plan("meter", D("0"), "all")},
    ),
    vat_rate=D("0.2"),
)


@dataclass(frozen=True)
class Month:
    alpha: int  # started on 21 November, plan pro, UTC
    beta: int  # New York, metered, in the client group
    gamma: int  # plan pro, no traffic, in the client group
    other: int  # another client group's account, nothing to bill
    client: int
    other_client: int


def _account(s: Session, name: str, created: float, **kw: object) -> Account:
    account = Account(name=name, kind="customer", created_at=created, **kw)
    s.add(account)
    s.flush()
    return account


def _messages(
    s: Session, account: Account, when: float, count: int, *, parts: int = 1, **kw: object
) -> None:
    batch = Batch(account_id=account.id, channel="api", body="x", created_at=when)
    s.add(batch)
    s.flush()
    for i in range(count):
        values: dict[str, object] = {
            "destination": "22376600000",
            "status": "delivered",
            "scope": "national",
            **kw,
        }
        s.add(
            Message(
                public_id=f"{account.id}-{batch.id}-{i}",
                batch_id=batch.id,
                account_id=account.id,
                part_count=parts,
                created_at=when,
                updated_at=when,
                **values,
            )
        )


def _fill(s: Session) -> Month:
    client = Client(identifier="ACME-GROUP", name="Acme Group", created_at=at(2020, 1, 1))
    other_client = Client(identifier="OTHER", name="Other", created_at=at(2020, 1, 1))
    s.add_all([client, other_client])
    s.add(Account(name="operator", kind="operator", created_at=at(2020, 1, 1)))
    s.flush()
    alpha = _account(
        s,
        "alpha",
        at(2026, 11, 21, 9),
        plan="pro",
        company_name="Alpha SARL",
        address="1 rue de la Paix\n75001 Paris",
    )
    beta = _account(
        s, "beta", at(2020, 1, 1), plan="meter", timezone="America/New_York", client_id=client.id
    )
    gamma = _account(s, "gamma", at(2020, 1, 1), plan="pro", client_id=client.id)
    other = _account(s, "other", at(2020, 1, 1), client_id=other_client.id)
    _messages(s, alpha, at(2026, 11, 22, 10), 5)  # in bundle: in the fee
    _messages(s, alpha, at(2026, 11, 23, 10), 12, out_of_bundle=True)  # 10 at 0.05, 2 at 0.04
    _messages(
        s,
        alpha,
        at(2026, 11, 23, 11),
        2,
        parts=2,
        out_of_bundle=True,
        destination="33612345678",
        scope="international",
    )  # 4 parts at 0.08
    _messages(s, alpha, at(2026, 11, 24), 3, out_of_bundle=True, status="rejected")  # not billed
    _messages(s, alpha, at(2026, 12, 1, 0, 1), 7, out_of_bundle=True)  # December
    # Beta, in New York: 30 November 23:00 local is 1 December 04:00 UTC, still November.
    _messages(s, beta, at(2026, 12, 1, 4), 20, status="sent")
    _messages(s, beta, at(2026, 11, 1, 3), 1)  # 31 October 23:00 local: October
    return Month(alpha.id, beta.id, gamma.id, other.id, client.id, other_client.id)


@pytest.fixture
def month(database: Database) -> Month:
    return database.run_sync("fill", _fill)


@pytest.fixture
def sessions(database: Database) -> Iterator[Callable[[], Session]]:
    """Read sessions, closed before the database goes (PostgreSQL drops it)."""
    opened: list[Session] = []

    def open_one() -> Session:
        opened.append(database.session())
        return opened[-1]

    yield open_one
    for s in opened:
        s.close()
