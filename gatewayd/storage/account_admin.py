"""The operator's administration of accounts: the list, the settings form's values, create,
edit, suspend and reactivate, SMPP password resets. Every change writes its audit entry in
the same transaction (:func:`gatewayd.storage.audit.audit`).

Values arrive checked (``gatewayd.admin.operator_forms`` parses the form); this module checks
what needs the database (unique names and system_ids, the client group) and keeps the plan
change rule of :class:`~gatewayd.routing.fairuse_rules.PlanSchedule`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from gatewayd.errors import FieldError, NotFound
from gatewayd.routing.fairuse_rules import PlanSchedule
from gatewayd.routing.senders import sender_error
from gatewayd.storage.account_policy import add_sender, remove_sender
from gatewayd.storage.accounts import SmppLimits, create_account, set_credential
from gatewayd.storage.audit import Who, audit, changes
from gatewayd.storage.folding import fold, folded
from gatewayd.storage.models import Account, Client, Credential, SenderId, User, WebSession


@dataclass(frozen=True)
class AccountSettings:
    """What the operator sets on an account (None: the default of the config)."""

    plan: str | None = None
    fair_use: str = ""  # the overrides as a JSON object ("" none)
    smpp_system_id: str | None = None
    smpp_tps: float | None = None
    smpp_max_binds: int | None = None
    smpp_allowed_networks: tuple[str, ...] = ()
    timezone: str = "UTC"
    default_country: str | None = None
    alert_msisdn: str | None = None
    share: int = 1
    groups: tuple[str, ...] = ()
    client_id: int | None = None


@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    kind: str
    suspended: bool
    smpp_system_id: str | None
    plan: str | None
    client: str | None  # the client group's identifier


@dataclass(frozen=True)
class AccountDetail:
    id: int
    name: str
    kind: str
    suspended: bool
    created_at: float
    settings: AccountSettings
    pending_plan: str | None
    plan_effective: str | None
    senders: tuple[str, ...]
    client: tuple[int, str, str] | None  # id, identifier, name


def _settings(row: Account) -> AccountSettings:
    """The account's settings; ``plan`` is the plan asked for (a waiting change, if any)."""
    return AccountSettings(
        plan=row.pending_plan if row.pending_plan is not None else row.plan,
        fair_use=row.fair_use or "",
        smpp_system_id=row.smpp_system_id,
        smpp_tps=row.smpp_tps,
        smpp_max_binds=row.smpp_max_binds,
        smpp_allowed_networks=tuple(n for n in (row.smpp_allowed_networks or "").split(",") if n),
        timezone=row.timezone,
        default_country=row.default_country,
        alert_msisdn=row.alert_msisdn,
        share=row.share,
        groups=tuple(g for g in (row.groups or "").split(",") if g),
        client_id=row.client_id,
    )


def _row(s: Session, account_id: int) -> Account:
    row = s.get(Account, account_id)
    if row is None:
        raise NotFound("no such account")
    return row


def account_detail(s: Session, account_id: int) -> AccountDetail:
    row = _row(s, account_id)
    senders = tuple(
        s.scalars(
            select(SenderId.sender).where(SenderId.account_id == row.id).order_by(SenderId.sender)
        )
    )
    client = s.get(Client, row.client_id) if row.client_id is not None else None
    return AccountDetail(
        row.id,
        row.name,
        row.kind,
        row.suspended,
        row.created_at,
        _settings(row),
        row.pending_plan,
        row.plan_effective,
        senders,
        (client.id, client.identifier, client.name) if client else None,
    )


def find_accounts(
    s: Session,
    query: str,
    state: str,
    fair_use_suspended: frozenset[int],
    offset: int,
    limit: int,
) -> tuple[list[AccountRow], int]:
    """Accounts by name (or system_id, or client identifier) containing ``query``, in a
    ``state`` ("" any, "active", "suspended", "fair_use"), by name; and how many in all."""
    q = select(Account, Client.identifier).outerjoin(Client, Client.id == Account.client_id)
    if query:
        text = fold(query)
        q = q.where(
            or_(
                folded(Account.name).contains(text, autoescape=True),
                folded(Account.smpp_system_id).contains(text, autoescape=True),
                folded(Client.identifier).contains(text, autoescape=True),
            )
        )
    if state == "active":
        q = q.where(Account.suspended.is_(False), Account.id.not_in(fair_use_suspended))
    elif state == "suspended":
        q = q.where(Account.suspended.is_(True))
    elif state == "fair_use":
        q = q.where(Account.id.in_(fair_use_suspended))
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = s.execute(q.order_by(func.lower(Account.name), Account.name).offset(offset).limit(limit))
    return [
        AccountRow(a.id, a.name, a.kind, a.suspended, a.smpp_system_id, a.plan, identifier)
        for a, identifier in rows
    ], total


def _audited(settings: AccountSettings, client: str | None) -> dict[str, Any]:
    shown = asdict(settings)
    shown["client_id"] = client
    return shown


def _client_identifier(s: Session, client_id: int | None) -> str | None:
    if client_id is None:
        return None
    client = s.get(Client, client_id)
    if client is None:
        raise FieldError("This client group does not exist.")
    return client.identifier


def _check_system_id(s: Session, account_id: int | None, system_id: str | None) -> None:
    if system_id is None:
        return
    taken = s.scalar(
        select(Account.id).where(Account.smpp_system_id == system_id, Account.id != account_id)
        if account_id is not None
        else select(Account.id).where(Account.smpp_system_id == system_id)
    )
    if taken is not None:
        raise FieldError("The SMPP system_id %(system_id)s is taken.", 409, system_id=system_id)


def _apply(row: Account, settings: AccountSettings, now: float) -> None:
    asked = row.pending_plan if row.pending_plan is not None else row.plan
    if settings.plan != asked:
        if settings.plan is None:  # back to the configured default plan, at once
            row.plan, row.pending_plan, row.plan_effective = None, None, None
        else:
            schedule = PlanSchedule(row.plan, row.pending_plan, row.plan_effective)
            schedule = schedule.request(settings.plan, now, ZoneInfo(row.timezone))
            row.plan, row.pending_plan = schedule.current, schedule.pending
            row.plan_effective = schedule.effective
    row.fair_use = settings.fair_use
    row.smpp_system_id = settings.smpp_system_id
    row.smpp_tps = settings.smpp_tps
    row.smpp_max_binds = settings.smpp_max_binds
    row.smpp_allowed_networks = ",".join(settings.smpp_allowed_networks)
    row.timezone = settings.timezone
    row.default_country = settings.default_country
    row.alert_msisdn = settings.alert_msisdn
    row.share = settings.share
    row.groups = ",".join(settings.groups)
    row.client_id = settings.client_id


def create_customer(
    s: Session,
    name: str,
    settings: AccountSettings,
    smpp_password_hash: str | None,
    who: Who,
    now: float,
) -> int:
    """A new customer account with ``settings``; its id."""
    if s.scalar(select(Account.id).where(Account.name == name.strip())) is not None:
        raise FieldError("An account named %(name)s exists already.", 409, name=name.strip())
    _check_system_id(s, None, settings.smpp_system_id)
    client = _client_identifier(s, settings.client_id)
    limits = SmppLimits(settings.smpp_max_binds, settings.smpp_tps, settings.smpp_allowed_networks)
    info = create_account(
        s, name, "customer", now, settings.smpp_system_id, smpp_password_hash, limits
    )
    row = _row(s, info.id)
    _apply(row, settings, now)
    detail = changes({}, _audited(settings, client))
    audit(s, who.actor, row.id, "create account", f"name: {row.name}; {detail}", now, who.ip)
    return row.id


def edit_account(
    s: Session, account_id: int, settings: AccountSettings, who: Who, now: float
) -> str:
    """Apply ``settings``; returns the audit detail ("" when nothing changed)."""
    row = _row(s, account_id)
    before = _audited(_settings(row), _client_identifier(s, row.client_id))
    _check_system_id(s, row.id, settings.smpp_system_id)
    after = _audited(settings, _client_identifier(s, settings.client_id))
    if settings.smpp_system_id != row.smpp_system_id and row.smpp_system_id is not None:
        # Another system_id (or none): the old password goes; a reset gives a new one.
        s.execute(
            delete(Credential).where(
                Credential.owner == "account",
                Credential.owner_id == row.id,
                Credential.kind == "smpp",
            )
        )
    _apply(row, settings, now)
    if row.pending_plan is not None and before["plan"] != settings.plan:
        after["plan"] = f"{row.pending_plan} from {row.plan_effective}"
    detail = changes(before, after)
    if detail:
        audit(s, who.actor, row.id, "edit account", detail, now, who.ip)
    return detail


def end_account_sessions(s: Session, account_id: int) -> None:
    users = select(User.id).where(User.account_id == account_id)
    s.execute(delete(WebSession).where(WebSession.user_id.in_(users)))


def set_suspended(s: Session, account_id: int, suspended: bool, who: Who, now: float) -> None:
    """Suspend (its binds and submissions are refused, its users' console sessions end, as
    its users cannot log in) or reactivate an account."""
    row = _row(s, account_id)
    if row.kind == "operator":
        raise FieldError("The operator's own account cannot be suspended.", 409)
    if row.suspended == suspended:
        already = "The account is suspended already." if suspended else "The account is active."
        raise FieldError(already, 409)
    row.suspended = suspended
    if suspended:
        end_account_sessions(s, row.id)
    action = "suspend account" if suspended else "reactivate account"
    audit(s, who.actor, row.id, action, "", now, who.ip)


def reset_smpp_password(
    s: Session, account_id: int, password_hash: str, who: Who, now: float
) -> str:
    """Replace the SMPP password (the caller shows the new one once); the system_id."""
    row = _row(s, account_id)
    if not row.smpp_system_id:
        raise FieldError("Give the account an SMPP system_id first.", 409)
    set_credential(s, "account", row.id, "smpp", password_hash, now)
    audit(
        s, who.actor, row.id, "reset smpp password", f"system_id: {row.smpp_system_id}", now, who.ip
    )
    return row.smpp_system_id


def grant_sender(s: Session, account_id: int, sender: str, who: Who, now: float) -> None:
    """Grant a sender ID ("signature"), checked by routing's rules for sender IDs."""
    row = _row(s, account_id)
    sender = sender.strip()
    reason = sender_error(sender)
    if reason is not None:
        raise FieldError(
            "%(sender)s cannot be a sender ID: %(reason)s", sender=sender, reason=reason
        )
    taken = select(SenderId.id).where(SenderId.account_id == row.id, SenderId.sender == sender)
    if s.scalar(taken) is not None:
        raise FieldError("The account has this sender ID already.", 409)
    add_sender(s, row.name, sender, who.actor, now, who.ip)


def revoke_sender(s: Session, account_id: int, sender: str, who: Who, now: float) -> None:
    remove_sender(s, _row(s, account_id).name, sender, who.actor, now, who.ip)


__all__ = [
    "AccountDetail",
    "AccountRow",
    "AccountSettings",
    "FieldError",
    "account_detail",
    "create_customer",
    "edit_account",
    "find_accounts",
    "reset_smpp_password",
    "set_suspended",
]
