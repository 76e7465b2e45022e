"""The audit log: who did what to which account, when and from where.

:func:`audit` is the one function that writes an entry; every administrative change (the
console, the CLI, the system's own suspensions) calls it inside the transaction of the change,
so an entry exists exactly when the change does. Details name the changed fields as
``field: old -> new`` (:func:`changes`) and never carry a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gatewayd.storage.folding import fold, folded
from gatewayd.storage.models import Account, AuditEntry

#: At most this many entries in one CSV export (newest first).
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class Who:
    """Who acts, as the audit log names them (``console:LOGIN``, ``cli:USER``, ``system``),
    and the peer address of their request ("" when there is none)."""

    actor: str
    ip: str = ""


def audit(
    s: Session,
    actor: str,
    account_id: int | None,
    action: str,
    detail: str,
    now: float,
    ip: str = "",
) -> None:
    """Record ``action`` by ``actor`` (a login as ``console:LOGIN``, ``cli:UNIXUSER`` or
    ``system``) on ``account_id`` (None: not about one account) from the peer address ``ip``."""
    s.add(
        AuditEntry(
            at=now, actor=actor, account_id=account_id, action=action, detail=detail, ip=ip[:45]
        )
    )


def _shown(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def changes(before: Mapping[str, object], after: Mapping[str, object]) -> str:
    """``field: old -> new`` for each key of ``after`` whose value, as shown, differs from
    its value in ``before`` (a missing key, None, "" and an empty list all show as "—")."""
    shown = ((key, _shown(before.get(key)), _shown(value)) for key, value in after.items())
    return "; ".join(f"{key}: {old} -> {new}" for key, old, new in shown if old != new)


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""  # a part of the actor, case-insensitive
    account: str = ""  # an account's name, exactly
    action: str = ""  # an action, exactly
    since: float | None = None
    until: float | None = None  # exclusive


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: float
    actor: str
    account: str | None
    action: str
    detail: str
    ip: str


def _query(f: AuditFilter) -> Select[AuditEntry, str]:
    q = select(AuditEntry, Account.name).outerjoin(Account, Account.id == AuditEntry.account_id)
    if f.actor:
        q = q.where(folded(AuditEntry.actor).contains(fold(f.actor), autoescape=True))
    if f.account:
        q = q.where(Account.name == f.account)
    if f.action:
        q = q.where(AuditEntry.action == f.action)
    if f.since is not None:
        q = q.where(AuditEntry.at >= f.since)
    if f.until is not None:
        q = q.where(AuditEntry.at < f.until)
    return q


def _row(entry: AuditEntry, account: str | None) -> AuditRow:
    return AuditRow(entry.id, entry.at, entry.actor, account, entry.action, entry.detail, entry.ip)


def audit_page(s: Session, f: AuditFilter, offset: int, limit: int) -> tuple[list[AuditRow], int]:
    """One page of entries, newest first, and how many match in all."""
    q = _query(f)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    newest = q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    found = s.execute(newest.offset(offset).limit(limit))
    return [_row(entry, name) for entry, name in found], total


def audit_export(s: Session, f: AuditFilter) -> list[AuditRow]:
    """Every matching entry (at most :data:`EXPORT_LIMIT`), newest first."""
    q = _query(f).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(EXPORT_LIMIT)
    return [_row(entry, name) for entry, name in s.execute(q)]


def audit_actions(s: Session) -> list[str]:
    """The actions recorded so far, for the filter's choices."""
    return list(s.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
