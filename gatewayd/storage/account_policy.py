"""What routing and fair use need to know of each account, and the operator's changes to it
(each one leaves an audit entry).

The daemon keeps these in memory (:class:`gatewayd.pipeline.directory.AccountDirectory`) and
reloads them every few seconds, so a change made by the CLI, the console or another node
reaches every channel without a restart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gatewayd.errors import Conflict, NotFound, ValidationError
from gatewayd.routing.account import AccountPolicy
from gatewayd.routing.fairuse_rules import PlanSchedule, rules_from_mapping
from gatewayd.storage.audit import audit
from gatewayd.storage.models import Account, SenderId


def _policy(row: Account, senders: frozenset[str]) -> AccountPolicy:
    return AccountPolicy(
        id=row.id,
        name=row.name,
        kind=row.kind,
        country=row.default_country,
        timezone=row.timezone,
        groups=frozenset(g for g in row.groups.split(",") if g),
        share=row.share,
        senders=senders,
        plan=row.plan,
        pending_plan=row.pending_plan,
        plan_effective=row.plan_effective,
        overrides=json.loads(row.fair_use) if row.fair_use else {},
        alert_msisdn=row.alert_msisdn,
        suspended=row.suspended,
        tps=row.smpp_tps,
    )


def load_policies(s: Session) -> dict[int, AccountPolicy]:
    senders: dict[int, set[str]] = {}
    for account_id, sender in s.execute(select(SenderId.account_id, SenderId.sender)):
        senders.setdefault(account_id, set()).add(sender)
    return {
        row.id: _policy(row, frozenset(senders.get(row.id, ())))
        for row in s.scalars(select(Account))
    }


def _account(s: Session, name: str) -> Account:
    row = s.scalar(select(Account).where(Account.name == name))
    if row is None:
        raise NotFound(f"no account {name!r}")
    return row


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Africa/Bamako)") from None
    return value


def _check_country(value: str) -> str | None:
    if not value:
        return None
    if len(value) != 2 or not value.isalpha():
        raise ValidationError(f"{value!r} is not a two-letter country code (e.g. ML)")
    return value.upper()


#: Settings an operator may change, and how each is checked and stored.
SETTINGS = ("country", "timezone", "groups", "share", "plan", "alert_msisdn", "fair_use")


def update_settings(
    s: Session, name: str, changes: Mapping[str, str], actor: str, now: float
) -> AccountPolicy:
    """Apply ``changes`` (setting -> text, as typed); a plan change waits for the 1st of the
    next month in the account's time zone, as the operator's contracts say."""
    row = _account(s, name)
    for key, value in changes.items():
        if key == "country":
            row.default_country = _check_country(value)
        elif key == "timezone":
            row.timezone = _check_timezone(value)
        elif key == "groups":
            row.groups = ",".join(sorted({g.strip() for g in value.split(",") if g.strip()}))
        elif key == "share":
            if not value.isdigit() or not 1 <= int(value) <= 1000:
                raise ValidationError("the share is a whole number from 1 to 1000")
            row.share = int(value)
        elif key == "plan":
            # The first plan applies at once, a change on the 1st of next month.
            schedule = PlanSchedule(row.plan, row.pending_plan, row.plan_effective)
            schedule = schedule.request(value, now, ZoneInfo(row.timezone))
            row.plan, row.pending_plan = schedule.current, schedule.pending
            row.plan_effective = schedule.effective
        elif key == "alert_msisdn":
            row.alert_msisdn = value or None
        elif key == "fair_use":
            row.fair_use = _check_overrides(value)
        else:
            raise ValidationError(f"unknown setting {key!r} (one of {', '.join(SETTINGS)})")
        audit(s, actor, row.id, f"set {key}", value, now)
    s.flush()
    return _policy(
        row, frozenset(s.scalars(select(SenderId.sender).where(SenderId.account_id == row.id)))
    )


def _check_overrides(value: str) -> str:
    if not value:
        return ""
    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValidationError("fair_use overrides must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise ValidationError("fair_use overrides must be a JSON object")
    try:
        rules_from_mapping(parsed, "fair_use")
    except ValueError as error:
        raise ValidationError(str(error)) from None
    return json.dumps(parsed, sort_keys=True)


def add_sender(s: Session, name: str, sender: str, actor: str, now: float, ip: str = "") -> None:
    row = _account(s, name)
    exists = s.scalar(
        select(SenderId.id).where(SenderId.account_id == row.id, SenderId.sender == sender)
    )
    if exists is not None:
        raise Conflict(f"{name!r} already has the sender ID {sender!r}")
    s.add(SenderId(account_id=row.id, sender=sender, created_at=now))
    audit(s, actor, row.id, "grant sender", sender, now, ip)


def remove_sender(s: Session, name: str, sender: str, actor: str, now: float, ip: str = "") -> None:
    row = _account(s, name)
    gone = s.execute(
        delete(SenderId).where(SenderId.account_id == row.id, SenderId.sender == sender)
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"{name!r} has no sender ID {sender!r}")
    audit(s, actor, row.id, "revoke sender", sender, now, ip)
