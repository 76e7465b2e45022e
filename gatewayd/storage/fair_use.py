"""Fair use in the acceptance commit: the accounts' counters are locked, the engine decides each
message, and counters, recipients, notifications and the messages are written in the same
transaction (:mod:`gatewayd.storage.traffic` ``ACCEPT``). So the counters survive restarts, are
right under concurrency, and stay right with several nodes on PostgreSQL: the counter row is
taken ``FOR UPDATE``, so two nodes' commits for one account queue behind each other. SQLite has
one writer, which gives the same.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatewayd.errors import Conflict, NotFound, ValidationError
from gatewayd.routing.fairuse import (
    Accept,
    Alert,
    Outcome,
    ReviewFlagged,
    State,
    Suspended,
    Usage,
    clear_review,
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
    local_period,
)
from gatewayd.routing.numbers import Scope
from gatewayd.storage.audit import audit
from gatewayd.storage.messages import NewBatch
from gatewayd.storage.models import Account
from gatewayd.storage.raw import Raw

CHUNK = 500  # numbers per IN (...) lookup


@dataclass(frozen=True)
class FairUsePolicy:
    """The plans of the config (with the built-in ones) and the plan of accounts without one."""

    plans: Mapping[str, Rules] = field(default_factory=lambda: dict(BUILTIN_PLANS))
    default_plan: str = "standard"


@dataclass
class _Account:
    id: int
    tz: ZoneInfo
    rules: Rules
    state: State
    period: str
    known: set[str] = field(default_factory=set)  # recorded this period, here or before
    recorded: list[str] = field(default_factory=list)  # to insert
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _marks(count: int) -> str:
    return ", ".join("?" for _ in range(count))


def _load(raw: Raw, policy: FairUsePolicy, ids: list[int], now: float) -> dict[int, _Account]:
    marks = _marks(len(ids))
    rows = raw.all(
        "SELECT id, plan, pending_plan, plan_effective, fair_use, timezone FROM accounts"
        f" WHERE id IN ({marks})",
        ids,
    )
    have = {
        r[0]
        for r in raw.all(
            f"SELECT account_id FROM fair_use_state WHERE account_id IN ({marks})", ids
        )
    }
    fresh = State().to_row()
    raw.many(
        "INSERT INTO fair_use_state (account_id, state, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (account_id) DO NOTHING",
        [(i, json.dumps(fresh), now) for i in ids if i not in have],
    )
    lock = " FOR UPDATE" if raw.postgres else ""
    states = dict(
        raw.all(
            f"SELECT account_id, state FROM fair_use_state WHERE account_id IN ({marks}){lock}", ids
        )
    )
    found: dict[int, _Account] = {}
    for account_id, plan, pending, effective, overrides, timezone in rows:
        tz = _zone(timezone)
        name = PlanSchedule(plan, pending, effective).plan_at(now, tz) or policy.default_plan
        try:
            rules = account_rules(policy.plans, name, json.loads(overrides or "{}"), "account")
        except ValueError:  # a plan removed from the config: the default plan applies
            rules = policy.plans.get(policy.default_plan, BUILTIN_PLANS["standard"])
        state = State.from_row(json.loads(states[account_id]))
        period = max(local_period(now, tz), state.period or "")
        found[account_id] = _Account(account_id, tz, rules, state, period)
    return found


def _known(raw: Raw, account: _Account, numbers: Sequence[str]) -> None:
    wanted = sorted(set(numbers) - account.known)
    if raw.postgres and wanted:  # one query with an array, however many numbers
        rows = raw.all(
            "SELECT msisdn FROM fair_use_recipients WHERE account_id = ? AND period = ?"
            " AND msisdn = ANY(?)",
            (account.id, account.period, wanted),
        )
        account.known.update(r[0] for r in rows)
        return
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows = raw.all(
            "SELECT msisdn FROM fair_use_recipients WHERE account_id = ? AND period = ?"
            f" AND msisdn IN ({_marks(len(chunk))})",
            (account.id, account.period, *chunk),
        )
        account.known.update(r[0] for r in rows)


def decide(
    raw: Raw, policy: FairUsePolicy, batches: Sequence[NewBatch], now: float
) -> list[list[Outcome]]:
    """The engine's outcome for each recipient of each batch, in order, with the counters,
    recipients and notifications written (the caller writes the messages)."""
    accounts = _load(raw, policy, sorted({b.account_id for b in batches}), now)
    wanted: dict[int, list[str]] = {}
    for batch in batches:  # one lookup per account for the whole flush, not one per batch
        wanted.setdefault(batch.account_id, []).extend(batch.recipients)
    for account_id, numbers in wanted.items():
        _known(raw, accounts[account_id], numbers)
    results: list[list[Outcome]] = []
    for batch in batches:
        account = accounts[batch.account_id]
        scopes = [scope for scope, _ in batch.classes] or [""] * len(batch.recipients)
        usages = [
            Usage(batch.part_count, _scope(scope), to not in account.known, to)
            for to, scope in zip(batch.recipients, scopes, strict=True)
        ]
        outcomes, account.state = evaluate_many(
            account.rules, account.state, usages, now, account.tz
        )
        for to, outcome in zip(batch.recipients, outcomes, strict=True):
            decision = outcome.decision
            if (
                isinstance(decision, Accept)
                and decision.record_recipient
                and to not in account.known
            ):
                account.known.add(to)
                account.recorded.append(to)
            account.events.extend(_notices(outcome))
        results.append(outcomes)
    _write(raw, accounts.values(), now)
    return results


def _scope(scope: str) -> Scope:
    return "national" if scope == "national" else "international"


def _notices(outcome: Outcome) -> list[tuple[str, dict[str, Any]]]:
    notices: list[tuple[str, dict[str, Any]]] = []
    for event in outcome.events:
        if isinstance(event, Alert):
            payload = {
                "kind": event.kind,
                "threshold": event.threshold,
                "used": str(event.used),
                "limit": str(event.limit),
            }
            notices.append(("alert", payload))
        elif isinstance(event, Suspended):
            notices.append(("suspended", {"until": event.until, "messages": event.messages}))
        elif isinstance(event, ReviewFlagged):
            notices.append(("review", {"distinct": event.distinct, "limit": event.limit}))
    return notices


def _write(raw: Raw, accounts: Collection[_Account], now: float) -> None:
    raw.many(
        "UPDATE fair_use_state SET state = ?, updated_at = ? WHERE account_id = ?",
        [(json.dumps(a.state.to_row()), now, a.id) for a in accounts],
    )
    # Only numbers not found under the account's lock: no other transaction can add them.
    raw.insert(
        "fair_use_recipients",
        ("account_id", "period", "msisdn"),
        [(a.id, a.period, to) for a in accounts for to in a.recorded],
    )
    raw.many(
        "INSERT INTO notifications (account_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
        [(a.id, kind, json.dumps(p), now) for a in accounts for kind, p in a.events],
    )
    raw.many(
        "INSERT INTO audit_entries (at, actor, account_id, action, detail) VALUES (?, ?, ?, ?, ?)",
        [
            (now, "system", a.id, "suspend", json.dumps(p))
            for a in accounts
            for kind, p in a.events
            if kind == "suspended"
        ],
    )


def cost_text(cost: Decimal) -> str:
    return format(cost, "f")


# --- the operator's actions and views ----------------------------------------------------------


def _locked_state(s: Session, account_id: int) -> State:
    raw = Raw(s)
    lock = " FOR UPDATE" if raw.postgres else ""
    row = raw.one(f"SELECT state FROM fair_use_state WHERE account_id = ?{lock}", (account_id,))
    return State() if row is None else State.from_row(json.loads(row[0]))


def _save_state(s: Session, account_id: int, state: State, now: float) -> None:
    raw = Raw(s)
    text = json.dumps(state.to_row())
    if not raw.execute(
        "UPDATE fair_use_state SET state = ?, updated_at = ? WHERE account_id = ?",
        (text, now, account_id),
    ):
        raw.execute(
            "INSERT INTO fair_use_state (account_id, state, updated_at) VALUES (?, ?, ?)",
            (account_id, text, now),
        )


def _account_id(s: Session, name: str) -> int:
    found = s.scalar(select(Account.id).where(Account.name == name))
    if found is None:
        raise NotFound(f"no account {name!r}")
    return found


def account_action(
    s: Session,
    name: str,
    action: str,
    amount: Decimal | None,
    actor: str,
    now: float,
    ip: str = "",
) -> State:
    """``lift`` a suspension, ``clear-review``, or ``top-up`` the prepaid credit; audited."""
    account_id = _account_id(s, name)
    state = _locked_state(s, account_id)
    if action == "lift":
        if suspension(state, now) is None:
            raise Conflict(f"{name!r} is not suspended")
        state = lift_suspension(state)
    elif action == "clear-review":
        state = clear_review(state)
    elif action == "top-up":
        if amount is None or amount <= 0:
            raise ValidationError("a top-up is a positive amount")
        state = top_up(state, amount)
    else:
        raise ValidationError(f"unknown action {action!r}")
    _save_state(s, account_id, state, now)
    detail = "" if amount is None else cost_text(amount)
    audit(s, actor, account_id, action, detail, now, ip)
    return state


def fair_use_view(
    s: Session, policy: FairUsePolicy, name: str, now: float
) -> tuple[str, Rules, State, ZoneInfo]:
    """The plan in force, its rules (with the account's overrides), the counters, the zone."""
    account_id = _account_id(s, name)
    accounts = _load(Raw(s), policy, [account_id], now)
    account = accounts[account_id]
    row = s.get_one(Account, account_id)
    plan = PlanSchedule(row.plan, row.pending_plan, row.plan_effective).plan_at(now, account.tz)
    return plan or policy.default_plan, account.rules, account.state, account.tz


def refund_rejected(s: Session, policy: FairUsePolicy, message_id: int, now: float) -> None:
    """The SMSC rejected a message: its cost goes back to the prepaid credit, if the rules
    say so (under the counter row's lock, like every change of the counters)."""
    row = Raw(s).one("SELECT account_id, cost FROM messages WHERE id = ?", (message_id,))
    if row is None or Decimal(row[1] or "0") <= 0:
        return
    account_id, cost = int(row[0]), Decimal(row[1])
    account = _load(Raw(s), policy, [account_id], now)[account_id]
    state = refund(account.rules, account.state, cost)
    if state is not account.state:
        _save_state(s, account_id, state, now)


def prune(s: Session, now: float, keep_notifications: float = 30 * 86400.0) -> int:
    """Distinct recipients of months before last month (every time zone's current month is
    this UTC month, the one before or the one after), and notifications sent long ago."""
    raw = Raw(s)
    current = local_period(now, ZoneInfo("UTC"))
    year, month = int(current[:4]), int(current[5:7])
    oldest = f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"
    gone = raw.execute("DELETE FROM fair_use_recipients WHERE period < ?", (oldest,))
    gone += raw.execute(
        "DELETE FROM notifications WHERE sent_at IS NOT NULL AND sent_at < ?",
        (now - keep_notifications,),
    )
    return gone


@dataclass(frozen=True)
class FairUseStatus:
    suspended_until: float | None
    review: bool
    messages: int
    parts: int
    distinct: int


def statuses(s: Session, now: float) -> dict[int, FairUseStatus]:
    """Every account's fair-use counters as the console shows them."""
    found = {}
    for account_id, text_state in Raw(s).all("SELECT account_id, state FROM fair_use_state"):
        state = State.from_row(json.loads(text_state))
        found[int(account_id)] = FairUseStatus(
            suspension(state, now), state.review, state.messages, state.parts, state.distinct
        )
    return found
