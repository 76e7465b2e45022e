"""What the console's compose and confirmation pages read: the account's contacts, groups,
granted senders and time zone, and what fair use would say of a batch (a dry run)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gatewayd.routing.fairuse import Accept as FairAccept
from gatewayd.routing.fairuse import Reject, Usage, evaluate_many
from gatewayd.routing.fairuse_rules import ZERO
from gatewayd.storage.fair_use import FairUsePolicy, _scope
from gatewayd.storage.fair_use import _known as _fair_use_known
from gatewayd.storage.fair_use import _load as _fair_use_load
from gatewayd.storage.messages import NewBatch
from gatewayd.storage.models import (
    Account,
    Contact,
    ContactGroup,
    GroupMember,
    GroupNumber,
    SenderId,
)
from gatewayd.storage.raw import Raw


@dataclass(frozen=True)
class ContactChoice:
    id: int
    first_name: str
    last_name: str
    msisdn: str


@dataclass(frozen=True)
class ComposeChoices:
    """What the compose form offers: the account's contacts (the first ``limit``), groups
    with their sizes, granted senders (empty: any well-formed one) and time zone."""

    contacts: tuple[ContactChoice, ...]
    contact_total: int
    groups: tuple[tuple[str, int], ...]
    senders: tuple[str, ...]
    timezone: str


def compose_choices(s: Session, account_id: int, limit: int) -> ComposeChoices:
    contacts = s.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.msisdn)
        .where(Contact.account_id == account_id)
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
        .limit(limit)
    )
    total = s.scalar(select(func.count(Contact.id)).where(Contact.account_id == account_id))
    groups = s.execute(
        select(ContactGroup.id, ContactGroup.name)
        .where(ContactGroup.account_id == account_id)
        .order_by(ContactGroup.name)
    ).all()
    sizes: dict[int, int] = {}
    for table in (GroupMember, GroupNumber):
        ids = [group_id for group_id, _ in groups]
        for group_id, n in s.execute(
            select(table.group_id, func.count())
            .where(table.group_id.in_(ids))
            .group_by(table.group_id)
        ):
            sizes[group_id] = sizes.get(group_id, 0) + int(n)
    senders = s.scalars(
        select(SenderId.sender).where(SenderId.account_id == account_id).order_by(SenderId.sender)
    )
    zone = s.scalar(select(Account.timezone).where(Account.id == account_id)) or "UTC"
    return ComposeChoices(
        tuple(ContactChoice(*row) for row in contacts),
        int(total or 0),
        tuple((name, sizes.get(group_id, 0)) for group_id, name in groups),
        tuple(senders),
        zone,
    )


@dataclass(frozen=True)
class FairUsePreview:
    """What fair use would say of a batch now: its cost (None: the plan has no price), and
    the refusals by reason (the whole batch is refused if any recipient is)."""

    cost: Decimal | None
    refusals: tuple[tuple[str, int], ...]  # (reason, recipients)
    quota: int | None
    used: int


def preview_fair_use(
    s: Session, policy: FairUsePolicy, batch: NewBatch, now: float
) -> FairUsePreview:
    """The fair-use engine run on ``batch`` against the account's counters, as the
    acceptance commit would run it, without writing the counters."""
    account = _fair_use_load(Raw(s), policy, [batch.account_id], now)[batch.account_id]
    _fair_use_known(Raw(s), account, batch.recipients)
    scopes = [scope for scope, _ in batch.classes] or [""] * len(batch.recipients)
    usages = [
        Usage(batch.part_count, _scope(scope), to not in account.known, to)
        for to, scope in zip(batch.recipients, scopes, strict=True)
    ]
    outcomes, _state = evaluate_many(account.rules, account.state, usages, now, account.tz)
    cost = sum((o.decision.cost for o in outcomes if isinstance(o.decision, FairAccept)), ZERO)
    refusals: dict[str, int] = {}
    for outcome in outcomes:
        if isinstance(outcome.decision, Reject):
            refusals[outcome.decision.reason] = refusals.get(outcome.decision.reason, 0) + 1
    rules = account.rules
    priced = bool(rules.price_national or rules.price_international)
    return FairUsePreview(
        cost if priced else None,
        tuple(refusals.items()),
        rules.monthly_quota,
        account.state.parts,
    )
