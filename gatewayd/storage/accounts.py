"""Accounts, users and their hashed credentials."""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import ip_network
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred

from gatewayd.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from gatewayd.security import hash_secret, verify_secret
from gatewayd.storage.database import Database
from gatewayd.storage.models import Account, Credential, OutboxEntry, User

AccountKind = Literal["operator", "customer"]
#: admin: the operator's administrators; viewer: the operator's read-only staff; manager: a
#: customer's account manager; user: a customer's sender. A role belongs to one kind of account.
ROLES: dict[str, AccountKind] = {
    "admin": "operator",
    "viewer": "operator",
    "manager": "customer",
    "user": "customer",
}
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s]{2,63}")
# Compared against when a login is unknown, so that timing does not reveal valid logins.
_DUMMY_HASH = hash_secret("timing-equaliser-not-a-password")


@dataclass(frozen=True)
class AccountInfo:
    id: int
    name: str
    kind: str
    smpp_system_id: str | None
    suspended: bool
    smpp_max_binds: int | None = None
    smpp_tps: float | None = None
    smpp_allowed_networks: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserInfo:
    id: int
    login: str
    role: str
    language: str
    account: AccountInfo


@dataclass(frozen=True)
class SmppLimits:
    """Per-account SMPP bind limits; None means the [smpp_server] default."""

    max_binds: int | None = None
    tps: float | None = None
    allowed_networks: tuple[str, ...] = ()

    def check(self) -> None:
        if self.max_binds is not None and self.max_binds < 1:
            raise ValidationError("the maximum number of binds is at least 1")
        if self.tps is not None and self.tps < 0:
            raise ValidationError("the TPS is 0 (unlimited) or more")
        for network in self.allowed_networks:
            try:
                ip_network(network, strict=False)
            except ValueError:
                raise ValidationError(f"{network!r} is not an IP network (CIDR)") from None


def account_info(row: Account) -> AccountInfo:
    networks = tuple(n for n in (row.smpp_allowed_networks or "").split(",") if n)
    return AccountInfo(
        row.id,
        row.name,
        row.kind,
        row.smpp_system_id,
        row.suspended,
        row.smpp_max_binds,
        row.smpp_tps,
        networks,
    )


def _user_info(row: User) -> UserInfo:
    return UserInfo(row.id, row.login, row.role, row.language, account_info(row.account))


class AccountStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- accounts -------------------------------------------------------------------------
    def create_account(
        self,
        name: str,
        kind: AccountKind,
        now: float,
        smpp_system_id: str | None = None,
        smpp_password_hash: str | None = None,
    ) -> Deferred[AccountInfo]:
        return self._db.run(
            "create_account", create_account, name, kind, now, smpp_system_id, smpp_password_hash
        )

    def account_by_name(self, name: str) -> Deferred[AccountInfo]:
        return self._db.run("account_by_name", account_by_name, name)

    def accounts(self) -> Deferred[list[AccountInfo]]:
        return self._db.run("list_accounts", list_accounts)

    def authenticate_smpp(self, system_id: str, password: str) -> Deferred[AccountInfo]:
        found = self._db.run("smpp_credential", smpp_credential, system_id)
        return found.addCallback(lambda f: self._db.offload(check_smpp, f, password))

    # -- users ----------------------------------------------------------------------------
    def create_user(
        self, account_name: str, login: str, role: str, password_hash: str, now: float
    ) -> Deferred[UserInfo]:
        return self._db.run(
            "create_user", create_user, account_name, login, role, password_hash, now
        )

    def authenticate_user(self, login: str, password: str) -> Deferred[UserInfo]:
        found = self._db.run("user_credential", user_credential, login)
        return found.addCallback(lambda f: self._db.offload(check_user, f, password))

    def user_by_id(self, user_id: int) -> Deferred[UserInfo]:
        return self._db.run("user_by_id", user_by_id, user_id)


# Transaction functions: synchronous, run on the database thread pool (or by the CLI).


def create_account(
    s: Session,
    name: str,
    kind: AccountKind,
    now: float,
    smpp_system_id: str | None = None,
    smpp_password_hash: str | None = None,
    limits: SmppLimits = SmppLimits(),
) -> AccountInfo:
    limits.check()
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationError("an account name is 1 to 100 characters")
    if kind not in ("operator", "customer"):
        raise ValidationError(f"unknown account kind {kind!r}")
    if smpp_system_id is not None and not 1 <= len(smpp_system_id) <= 15:
        raise ValidationError("an SMPP system_id is 1 to 15 characters")
    if s.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise Conflict(f"an account named {name!r} exists already")
    if smpp_system_id and s.scalar(
        select(Account.id).where(Account.smpp_system_id == smpp_system_id)
    ):
        raise Conflict(f"the SMPP system_id {smpp_system_id!r} is taken")
    row = Account(
        name=name,
        kind=kind,
        smpp_system_id=smpp_system_id,
        created_at=now,
        suspended=False,
        smpp_max_binds=limits.max_binds,
        smpp_tps=limits.tps,
        smpp_allowed_networks=",".join(limits.allowed_networks),
    )
    s.add(row)
    s.flush()
    if smpp_password_hash:
        set_credential(s, "account", row.id, "smpp", smpp_password_hash, now)
    return account_info(row)


def account_by_name(s: Session, name: str) -> AccountInfo:
    row = s.scalar(select(Account).where(Account.name == name))
    if row is None:
        raise NotFound(f"no account named {name!r}")
    return account_info(row)


def set_credential(
    s: Session, owner: str, owner_id: int, kind: str, secret_hash: str, now: float
) -> None:
    row = s.scalar(
        select(Credential).where(
            Credential.owner == owner, Credential.owner_id == owner_id, Credential.kind == kind
        )
    )
    if row is None:
        s.add(
            Credential(
                owner=owner, owner_id=owner_id, kind=kind, secret_hash=secret_hash, created_at=now
            )
        )
    else:
        row.secret_hash, row.created_at = secret_hash, now


def _credential_hash(s: Session, owner: str, owner_id: int, kind: str) -> str | None:
    return s.scalar(
        select(Credential.secret_hash).where(
            Credential.owner == owner, Credential.owner_id == owner_id, Credential.kind == kind
        )
    )


def smpp_credential(s: Session, system_id: str) -> tuple[AccountInfo | None, str | None]:
    """The account of an SMPP system_id and its password hash (a read: no hashing here)."""
    row = s.scalar(select(Account).where(Account.smpp_system_id == system_id))
    if row is None:
        return None, None
    return account_info(row), _credential_hash(s, "account", row.id, "smpp")


def check_smpp(found: tuple[AccountInfo | None, str | None], password: str) -> AccountInfo:
    """Verify the password (always hashing, so that timing does not tell unknown ids)."""
    account, stored = found
    if not verify_secret(stored or _DUMMY_HASH, password) or account is None or stored is None:
        raise AuthenticationFailed("invalid system_id or password")
    if account.suspended:
        raise AuthenticationFailed("account suspended")
    return account


def authenticate_smpp(s: Session, system_id: str, password: str) -> AccountInfo:
    return check_smpp(smpp_credential(s, system_id), password)


def create_user(
    s: Session,
    account_name: str,
    login: str,
    role: str,
    password_hash: str,
    now: float,
    email: str | None = None,
) -> UserInfo:
    account = s.scalar(select(Account).where(Account.name == account_name))
    if account is None:
        raise NotFound(f"no account named {account_name!r}")
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if ROLES[role] != account.kind:
        raise ValidationError(
            f"role {role!r} belongs to {ROLES[role]} accounts, "
            f"{account.name!r} is a {account.kind} account"
        )
    login = login.strip()
    if not 1 <= len(login) <= 64 or any(c.isspace() for c in login):
        raise ValidationError("a login is 1 to 64 characters without spaces")
    if email is not None and not _EMAIL.fullmatch(email):
        raise ValidationError(f"{email!r} is not an e-mail address")
    user = User(
        account_id=account.id,
        login=login,
        role=role,
        language="fr",
        email=email,
        disabled=False,
        created_at=now,
    )
    s.add(user)
    try:
        s.flush()
    except IntegrityError:
        raise Conflict(f"the login {login!r} is taken") from None
    set_credential(s, "user", user.id, "password", password_hash, now)
    return _user_info(user)


def set_user_password(s: Session, login: str, password_hash: str, now: float) -> None:
    user = s.scalar(select(User).where(User.login == login))
    if user is None:
        raise NotFound(f"no user with login {login!r}")
    set_credential(s, "user", user.id, "password", password_hash, now)


def user_credential(s: Session, login: str) -> tuple[UserInfo | None, bool, str | None]:
    """A user, whether it may log in, and its password hash (a read: no hashing here)."""
    user = s.scalar(select(User).where(User.login == login))
    if user is None:
        return None, False, None
    enabled = not (user.disabled or user.account.suspended)
    return _user_info(user), enabled, _credential_hash(s, "user", user.id, "password")


def check_user(found: tuple[UserInfo | None, bool, str | None], password: str) -> UserInfo:
    user, enabled, stored = found
    if not verify_secret(stored or _DUMMY_HASH, password) or user is None or stored is None:
        raise AuthenticationFailed("invalid login or password")
    if not enabled:
        raise AuthenticationFailed("this login is disabled")
    return user


def authenticate_user(s: Session, login: str, password: str) -> UserInfo:
    return check_user(user_credential(s, login), password)


def user_by_id(s: Session, user_id: int) -> UserInfo:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return _user_info(user)


def list_accounts(s: Session) -> list[AccountInfo]:
    return [account_info(a) for a in s.scalars(select(Account).order_by(Account.name))]


def set_callback(s: Session, name: str, url: str | None, secret: str | None) -> None:
    """Point the account's receipts and MO at ``url``, signed with ``secret``; None drops it.
    The secret is stored as is: signing needs it, so it cannot be hashed."""
    account = s.scalar(select(Account).where(Account.name == name))
    if account is None:
        raise NotFound(f"no account named {name!r}")
    account.callback_url, account.callback_secret = url, secret
    if url is not None:
        callbacks_due_now(s, account.id)


def callbacks_due_now(s: Session, account_id: int) -> None:
    """A callback URL was set: what waits for it is tried again at the next outbox pass,
    back-off forgotten, including entries given up on (a refused destination, see
    gatewayd/pipeline/destinations.py), since the new URL may be one that works."""
    s.execute(
        update(OutboxEntry)
        .where(OutboxEntry.account_id == account_id, OutboxEntry.channel == "http")
        .values(next_at=OutboxEntry.created_at)
    )
