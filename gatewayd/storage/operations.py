"""The operator's console's own storage: connectors and plans edited from the console, edits
and moves of the database's routing rules, and the figures of the dashboard and alerts log.

Console connectors and plans keep their spec as JSON in the config file's shape
(``[connectors.NAME]``, ``[plans.NAME]``); the caller checks a spec with the config's own
parser before it comes here. Every change is audited in its own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, String, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from gatewayd.errors import Conflict, NotFound, ValidationError
from gatewayd.routing.rules_parse import parse_rules
from gatewayd.status import FAILED, Status
from gatewayd.storage.audit import audit
from gatewayd.storage.contacts import page_within
from gatewayd.storage.models import (
    Account,
    AuditEntry,
    Batch,
    Connector,
    Message,
    Notification,
    PlanSpec,
    RouteRule,
)

Spec = dict[str, Any]


# --- console connectors -------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSpec:
    name: str
    spec: Spec
    updated_at: float


def console_connectors(s: Session) -> list[StoredSpec]:
    rows = s.scalars(select(Connector).where(Connector.spec.is_not(None)).order_by(Connector.name))
    return [StoredSpec(r.name, json.loads(r.spec or "{}"), r.updated_at or 0.0) for r in rows]


def save_connector(
    s: Session, name: str, spec: Spec, create: bool, actor: str, ip: str, now: float
) -> None:
    """Add (``create``) or replace a console connector's spec."""
    row = s.scalar(select(Connector).where(Connector.name == name))
    if create and row is not None and row.spec is not None:
        raise Conflict(f"a connector named {name!r} exists")
    if not create and (row is None or row.spec is None):
        raise NotFound("no such console connector")
    if row is None:
        row = Connector(name=name, created_at=now)
        s.add(row)
    row.spec, row.updated_at = json.dumps(spec, sort_keys=True), now
    shown = {k: v for k, v in spec.items() if k != "password"}  # never a secret in the log
    action = "add connector" if create else "edit connector"
    audit(s, actor, None, action, f"{name}: {json.dumps(shown, sort_keys=True)}", now, ip)


def set_connector_enabled(
    s: Session, name: str, enabled: bool, actor: str, ip: str, now: float
) -> None:
    row = s.scalar(select(Connector).where(Connector.name == name))
    if row is None or row.spec is None:
        raise NotFound("no such console connector")
    spec = json.loads(row.spec)
    spec["enabled"] = enabled
    row.spec, row.updated_at = json.dumps(spec, sort_keys=True), now
    audit(s, actor, None, "enable connector" if enabled else "disable connector", name, now, ip)


def record_action(s: Session, action: str, detail: str, actor: str, ip: str, now: float) -> None:
    """An audited action that changes nothing stored (a live reconnect, a config connector
    stopped until the next start)."""
    audit(s, actor, None, action, detail, now, ip)


# --- console plans --------------------------------------------------------------------------------


def console_plans(s: Session) -> list[StoredSpec]:
    rows = s.scalars(select(PlanSpec).order_by(PlanSpec.name))
    return [StoredSpec(r.name, json.loads(r.spec), r.updated_at) for r in rows]


def save_plan(s: Session, name: str, spec: Spec, actor: str, ip: str, now: float) -> None:
    row = s.get(PlanSpec, name)
    if row is None:
        row = PlanSpec(name=name, spec="", updated_at=now)
        s.add(row)
    row.spec, row.updated_at = json.dumps(spec, sort_keys=True), now
    audit(s, actor, None, "edit plan", f"{name}: {json.dumps(spec, sort_keys=True)}", now, ip)


def delete_plan(s: Session, name: str, actor: str, ip: str, now: float) -> None:
    row = s.get(PlanSpec, name)
    if row is None:
        raise NotFound("no such plan edited from the console")
    s.delete(row)
    audit(s, actor, None, "reset plan", name, now, ip)


def account_overrides(s: Session) -> list[tuple[str, str | None, Spec]]:
    """(account, plan, its fair-use overrides) for each account that has overrides or a plan."""
    rows = s.execute(
        select(Account.name, Account.plan, Account.fair_use)
        .where((Account.fair_use != "") | Account.plan.is_not(None))
        .order_by(Account.name)
    )
    return [(name, plan, json.loads(text or "{}")) for name, plan, text in rows]


# --- routing rules: edit and move (add and remove are gatewayd.storage.route_rules') -----------


def _rules(s: Session) -> list[RouteRule]:
    return list(s.scalars(select(RouteRule).order_by(RouteRule.position, RouteRule.id)))


def route_rule(s: Session, name: str) -> Spec:
    row = s.scalar(select(RouteRule).where(RouteRule.name == name))
    if row is None:
        raise NotFound("no such routing rule in the database")
    spec: Spec = json.loads(row.spec)
    return spec


def edit_route_rule(
    s: Session, name: str, spec: Mapping[str, Any], actor: str, ip: str, now: float
) -> None:
    """Replace rule ``name`` in place (the spec may rename it); checked by the same parser."""
    rows = _rules(s)
    row = next((r for r in rows if r.name == name), None)
    if row is None:
        raise NotFound("no such routing rule in the database")
    try:
        (rule,) = parse_rules([spec], "rule")
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if any(r.name == rule.name and r is not row for r in rows):
        raise Conflict(f"a routing rule named {rule.name!r} exists")
    row.name, row.spec, row.updated_at = rule.name, json.dumps(spec), now
    audit(s, actor, None, "edit route", json.dumps(spec, sort_keys=True), now, ip)


def move_route_rule(s: Session, name: str, step: int, actor: str, ip: str, now: float) -> None:
    """Move rule ``name`` up (``step`` -1) or down (+1) one place."""
    rows = _rules(s)
    index = next((i for i, r in enumerate(rows) if r.name == name), None)
    if index is None:
        raise NotFound("no such routing rule in the database")
    target = index + step
    if not 0 <= target < len(rows):
        return
    rows[index], rows[target] = rows[target], rows[index]
    for position, row in enumerate(rows):
        row.position = position
    rows[target].updated_at = now  # the version the gateways poll moves on
    audit(s, actor, None, "move route", f"{name}: {index + 1} -> {target + 1}", now, ip)


# --- the dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    accepted_last_minute: int
    last_hour: Mapping[str, int]  # status -> messages accepted in the last hour
    errors: Sequence[tuple[str, int]]  # (error code, failed messages in the last hour)

    @property
    def delivery_rate(self) -> float | None:
        """Delivered among the last hour's messages that reached a final state."""
        delivered = self.last_hour.get(Status.DELIVERED, 0)
        final = delivered + sum(self.last_hour.get(s, 0) for s in (*FAILED, Status.UNKNOWN))
        return delivered / final if final else None

    @property
    def accepted_last_hour(self) -> int:
        return sum(self.last_hour.values())


def _first_batch(s: Session, since: float) -> int | None:
    """Messages are found through their batch: batches are indexed by time, messages by batch."""
    return s.scalar(select(func.min(Batch.id)).where(Batch.created_at >= since))


def traffic(s: Session, now: float) -> Traffic:
    """The last minute's and the last hour's messages, counted in the database (every node)."""
    minute, hour = _first_batch(s, now - 60), _first_batch(s, now - 3600)
    accepted = 0
    if minute is not None:
        accepted = (
            s.scalar(
                select(func.count(Message.id)).where(
                    Message.batch_id >= minute, Message.created_at >= now - 60
                )
            )
            or 0
        )
    by_status: dict[str, int] = {}
    errors: list[tuple[str, int]] = []
    if hour is not None:
        recent = (Message.batch_id >= hour, Message.created_at >= now - 3600)
        # Grouped by expressions, so that no planner walks a status index over the whole
        # table for its order: the batch index finds the last hour's rows.
        status = func.coalesce(Message.status, "")
        for name, count in s.execute(
            select(status, func.count(Message.id)).where(*recent).group_by(status)
        ):
            by_status[name] = int(count)
        failed = [str(state) for state in (*FAILED, Status.UNKNOWN)]
        code = func.coalesce(Message.error_code, "")
        rows = s.execute(
            select(code, func.count(Message.id))
            .where(*recent, status.in_(failed))
            .group_by(code)
            .order_by(func.count(Message.id).desc())
            .limit(10)
        )
        errors = [(str(c), int(n)) for c, n in rows]
    return Traffic(int(accepted), by_status, errors)


# --- the alerts and suspensions log -------------------------------------------------------------

#: Notification kinds (the engine's notices) and audit actions (lifts) in the alerts log.
NOTICE_KINDS = ("alert", "suspended", "review")
LIFT_ACTIONS = ("lift", "clear-review")
ALERT_KINDS = (*NOTICE_KINDS, *LIFT_ACTIONS)


@dataclass(frozen=True)
class AlertRow:
    at: float
    account: str | None
    kind: str  # a notification kind or an audit action (ALERT_KINDS)
    detail: Mapping[str, Any]
    actor: str  # "system" for the engine's notices, else who lifted
    sent_at: float | None  # notices: when the SMS / e-mail went


def _notices(account: str, kinds: Sequence[str]) -> Any:
    q = select(
        Notification.created_at.label("at"),
        Account.name.label("account"),
        Notification.kind.label("kind"),
        Notification.payload.label("text"),
        literal("system", String).label("actor"),
        Notification.sent_at.label("sent_at"),
    ).outerjoin(Account, Account.id == Notification.account_id)
    q = q.where(Notification.kind.in_(kinds))
    return q.where(Account.name == account) if account else q


def _lifts(account: str, actions: Sequence[str]) -> Any:
    q = select(
        AuditEntry.at,
        Account.name,
        AuditEntry.action,
        AuditEntry.detail,
        AuditEntry.actor,
        null().cast(Float),
    ).outerjoin(Account, Account.id == AuditEntry.account_id)
    q = q.where(AuditEntry.action.in_(actions))
    return q.where(Account.name == account) if account else q


def alerts_page(
    s: Session, account: str, kind: str, number: int, per_page: int
) -> tuple[list[AlertRow], int, int]:
    """Quota and spending alerts, suspensions and review flags (the engine's notices, which
    the audit log also has for suspensions) and the operators' lifts, newest first: page
    ``number`` (kept between the first and the last), the page's number and the total.

    One UNION ALL, ordered and cut in SQL: the database reads a page, whatever page is asked.
    """
    kinds = [kind] if kind else list(ALERT_KINDS)
    notices = _notices(account, [k for k in kinds if k in NOTICE_KINDS])
    lifts = _lifts(account, [k for k in kinds if k in LIFT_ACTIONS])
    both = union_all(notices, lifts).subquery()
    total = s.scalar(select(func.count()).select_from(both)) or 0
    number = page_within(number, total, per_page)
    newest = select(both).order_by(both.c.at.desc(), both.c.kind, both.c.actor)
    found = s.execute(newest.offset((number - 1) * per_page).limit(per_page))
    rows = [
        AlertRow(at, name, k, _payload(text), actor, sent)
        if k in NOTICE_KINDS
        else AlertRow(at, name, k, {"detail": text} if text else {}, actor, None)
        for at, name, k, text, actor, sent in found
    ]
    return rows, number, int(total)


def _payload(text: str) -> Mapping[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
