"""Client groups: the operator's client identifier ("Identifiant Client") covering several
accounts of one company, as an account identifier covers one contract. Every change is
audited in its transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gatewayd.errors import FieldError, NotFound
from gatewayd.storage.audit import Who, audit
from gatewayd.storage.folding import fold, folded
from gatewayd.storage.models import Account, Client

#: Letters, digits, "-", "_" and "."; what the operator's billing prints on the invoice.
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


@dataclass(frozen=True)
class ClientRow:
    id: int
    identifier: str
    name: str
    accounts: int
    created_at: float


@dataclass(frozen=True)
class ClientDetail:
    id: int
    identifier: str
    name: str
    created_at: float
    accounts: tuple[tuple[int, str], ...]  # id, name


def check_identifier(identifier: str) -> str:
    identifier = identifier.strip()
    if not _IDENTIFIER.fullmatch(identifier):
        raise FieldError(
            "A client identifier is 1 to 32 letters, digits, '.', '-' or '_', starting with a"
            " letter or a digit."
        )
    return identifier


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 200:
        raise FieldError("A client group's name is 1 to 200 characters.")
    return name


def _client(s: Session, client_id: int) -> Client:
    row = s.get(Client, client_id)
    if row is None:
        raise NotFound("no such client group")
    return row


def find_clients(s: Session, query: str, offset: int, limit: int) -> tuple[list[ClientRow], int]:
    counts = (
        select(Account.client_id, func.count().label("n"))
        .where(Account.client_id.is_not(None))
        .group_by(Account.client_id)
        .subquery()
    )
    q = select(Client, func.coalesce(counts.c.n, 0)).outerjoin(
        counts, counts.c.client_id == Client.id
    )
    if query.strip():
        text = fold(query)
        q = q.where(
            folded(Client.identifier).contains(text, autoescape=True)
            | folded(Client.name).contains(text, autoescape=True)
        )
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = s.execute(q.order_by(Client.identifier).offset(offset).limit(limit))
    return [ClientRow(c.id, c.identifier, c.name, int(n), c.created_at) for c, n in rows], total


def all_clients(s: Session) -> list[tuple[int, str, str]]:
    """Every client group (id, identifier, name): the account form's choices."""
    return [
        (c.id, c.identifier, c.name) for c in s.scalars(select(Client).order_by(Client.identifier))
    ]


def client_detail(s: Session, client_id: int) -> ClientDetail:
    row = _client(s, client_id)
    accounts = s.execute(
        select(Account.id, Account.name).where(Account.client_id == row.id).order_by(Account.name)
    )
    return ClientDetail(
        row.id, row.identifier, row.name, row.created_at, tuple((i, n) for i, n in accounts)
    )


def create_client(s: Session, identifier: str, name: str, who: Who, now: float) -> int:
    identifier, name = check_identifier(identifier), check_name(name)
    if s.scalar(select(Client.id).where(Client.identifier == identifier)) is not None:
        raise FieldError(
            "The client identifier %(identifier)s is taken.", 409, identifier=identifier
        )
    row = Client(identifier=identifier, name=name, created_at=now)
    s.add(row)
    s.flush()
    audit(s, who.actor, None, "create client", f"{identifier}: {name}", now, who.ip)
    return row.id


def rename_client(s: Session, client_id: int, name: str, who: Who, now: float) -> None:
    row = _client(s, client_id)
    name = check_name(name)
    if name != row.name:
        detail = f"{row.identifier}: name: {row.name} -> {name}"
        row.name = name
        audit(s, who.actor, None, "rename client", detail, now, who.ip)


def attach_account(s: Session, client_id: int, account_name: str, who: Who, now: float) -> None:
    """Put the account named ``account_name`` in this client group (moving it from another)."""
    row = _client(s, client_id)
    account = s.scalar(select(Account).where(Account.name == account_name.strip()))
    if account is None or account.kind != "customer":
        raise FieldError("No customer account is named %(name)s.", name=account_name.strip())
    if account.client_id == row.id:
        raise FieldError("%(name)s is in this client group already.", 409, name=account.name)
    before = _client(s, account.client_id).identifier if account.client_id else "—"
    account.client_id = row.id
    detail = f"client: {before} -> {row.identifier}"
    audit(s, who.actor, account.id, "attach account", detail, now, who.ip)


def detach_account(s: Session, client_id: int, account_id: int, who: Who, now: float) -> None:
    row = _client(s, client_id)
    account = s.get(Account, account_id)
    if account is None or account.client_id != row.id:
        raise NotFound("no such account in this client group")
    account.client_id = None
    detail = f"client: {row.identifier} -> —"
    audit(s, who.actor, account.id, "detach account", detail, now, who.ip)
