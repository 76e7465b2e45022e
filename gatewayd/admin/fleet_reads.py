"""Reads of the fleet pages on top of ``gatewayd/storage/fleet.py``: a line page's extras in
one transaction, the PUK shown on request (audited in the same transaction), the account's
time zone and the operator's accounts with lines.

Every read is within one account, except :func:`fleet_accounts` (the operator's view).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gatewayd.fleet.model import Option, Plan
from gatewayd.fleet.orders import Order
from gatewayd.storage import fleet
from gatewayd.storage.audit import audit
from gatewayd.storage.models import (
    Account,
    FleetLine,
)


@dataclass(frozen=True)
class FleetAccountRow:
    id: int
    name: str
    lines: int


@dataclass(frozen=True)
class LineExtras:
    """What a line's page shows beside the line: each action and why it is greyed out
    (None: possible), the free SIMs of the pool, the eSIM permission and the catalogue."""

    available: dict[str, str | None]
    free_sims: tuple[str, ...]
    esim_allowed: bool
    plans: tuple[Plan, ...]
    options: tuple[Option, ...]


def line_extras(s: Session, account_id: int, line_ids: Sequence[int]) -> LineExtras:
    available = fleet.line_actions(s, account_id, line_ids)
    return LineExtras(
        {action.value: reason for action, reason in available.items()},
        tuple(fleet.free_sims(s, account_id)[:200]),
        fleet.customer_facts(s, account_id).esim_allowed,
        tuple(fleet.list_plans(s)),
        tuple(fleet.list_options(s)),
    )


#: Lines one selection may hold.
MAX_SELECTION = 200


def lines_by_id(
    s: Session, account_id: int, line_ids: Sequence[int], now: float
) -> list[fleet.LineView]:
    """The selected lines (another account's: NotFound), by id."""
    chosen = sorted(set(line_ids))[:MAX_SELECTION]
    return [fleet.get_line(s, account_id, line_id, now=now) for line_id in chosen]


def reveal_puk(s: Session, account_id: int, line_id: int, actor: str, ip: str, now: float) -> str:
    """The line's PUK, the reading recorded in the audit log (another account's: NotFound)."""
    line = fleet.get_line(s, account_id, line_id, now=now)
    audit(s, actor, account_id, "fleet_puk_shown", f"line {line.msisdn}", now, ip)
    return line.puk


def fleet_accounts(s: Session) -> list[FleetAccountRow]:
    """The accounts that have lines, by name, with their number of lines."""
    rows = s.execute(
        select(Account.id, Account.name, func.count(FleetLine.id))
        .join(FleetLine, FleetLine.account_id == Account.id)
        .group_by(Account.id, Account.name)
        .order_by(Account.name)
    )
    return [FleetAccountRow(i, n, c) for i, n, c in rows]


def account_id_of(s: Session, name: str) -> int | None:
    return s.scalar(select(Account.id).where(Account.name == name))


def account_zone(s: Session, account_id: int) -> str:
    """The account's time zone (IANA name): months and the 1st of next month are in it."""
    return s.scalar(select(Account.timezone).where(Account.id == account_id)) or "UTC"


def place_order(
    s: Session,
    account_id: int,
    user_id: int,
    line_ids: Sequence[int],
    action: str,
    params: Mapping[str, Any],
    actor: str,
    ip: str,
    now: float,
) -> Order:
    """Order ``action`` on the lines (the rules check it; a refusal writes nothing) and record
    who ordered it, from where, in the audit log, in the same transaction."""
    order = fleet.order_action(s, account_id, user_id, line_ids, action, params, now)
    numbers = ", ".join(line.msisdn for line in order.lines)
    audit(s, actor, account_id, "fleet_order", f"{order.number} {action} {numbers}", now, ip)
    return order
