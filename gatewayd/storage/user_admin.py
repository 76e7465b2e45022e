"""The operator's administration of console users: the list, create (on an existing
account, with a role of that account's kind), edit, disable and enable, password resets.
Disabling a user or resetting its password ends its console sessions. An admin cannot
disable or demote themselves (the console would lose its last hands otherwise)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gatewayd.errors import FieldError, GatewayError, NotFound
from gatewayd.storage.accounts import _EMAIL, ROLES, create_user, set_credential
from gatewayd.storage.audit import Who, audit, changes
from gatewayd.storage.folding import fold, folded
from gatewayd.storage.models import Account, ApiKey, User, WebSession


@dataclass(frozen=True)
class UserRow:
    id: int
    login: str
    role: str
    language: str
    email: str | None
    disabled: bool
    account_id: int
    account: str
    account_kind: str
    created_at: float


def _row(user: User, account: Account) -> UserRow:
    return UserRow(
        user.id,
        user.login,
        user.role,
        user.language,
        user.email,
        user.disabled,
        account.id,
        account.name,
        account.kind,
        user.created_at,
    )


def find_users(
    s: Session, account: str, role: str, query: str, offset: int, limit: int
) -> tuple[list[UserRow], int]:
    """Users of the account named ``account`` ("" any) with ``role`` ("" any) whose login
    or e-mail contains ``query``, by login; and how many in all."""
    q = select(User, Account).join(Account, Account.id == User.account_id)
    if account:
        q = q.where(Account.name == account)
    if role:
        q = q.where(User.role == role)
    if query.strip():
        text = fold(query)
        q = q.where(
            folded(User.login).contains(text, autoescape=True)
            | folded(User.email).contains(text, autoescape=True)
        )
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = s.execute(q.order_by(User.login).offset(offset).limit(limit))
    return [_row(u, a) for u, a in rows], total


def user_detail(s: Session, user_id: int) -> UserRow:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return _row(user, user.account)


def _user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def end_sessions(s: Session, user_id: int) -> None:
    s.execute(delete(WebSession).where(WebSession.user_id == user_id))


def _check_role(role: str, kind: str) -> None:
    if ROLES.get(role) != kind:
        if kind == "operator":
            raise FieldError("On the operator's account a role is admin or viewer.")
        raise FieldError("On a customer account a role is manager or user.")


def _check_email(email: str | None) -> None:
    if email is not None and not _EMAIL.fullmatch(email):
        raise FieldError("%(email)s is not an e-mail address.", email=email)


def add_user(
    s: Session,
    account_name: str,
    login: str,
    role: str,
    email: str | None,
    password_hash: str,
    who: Who,
    now: float,
) -> int:
    account = s.scalar(select(Account).where(Account.name == account_name))
    if account is None:
        raise FieldError("No account is named %(name)s.", name=account_name)
    _check_role(role, account.kind)
    login = login.strip()
    if not 1 <= len(login) <= 64 or any(c.isspace() for c in login):
        raise FieldError("A login is 1 to 64 characters without spaces.")
    _check_email(email)
    if s.scalar(select(User.id).where(User.login == login)) is not None:
        raise FieldError("The login %(login)s is taken.", 409, login=login)
    try:
        info = create_user(s, account_name, login, role, password_hash, now, email)
    except GatewayError as error:  # checked above; kept for what only the database sees
        raise FieldError(error.message, error.http_status) from None
    detail = f"login: {login}; account: {account.name}; role: {role}"
    audit(s, who.actor, account.id, "create user", detail, now, who.ip)
    return info.id


def edit_user(
    s: Session,
    user_id: int,
    role: str,
    language: str,
    email: str | None,
    who: Who,
    self_id: int,
    now: float,
) -> None:
    user = _user(s, user_id)
    _check_role(role, user.account.kind)
    _check_email(email)
    if user.id == self_id and role != user.role:
        raise FieldError("You cannot change your own role.", 409)
    before = {"role": user.role, "language": user.language, "email": user.email}
    after = {"role": role, "language": language, "email": email}
    detail = changes(before, after)
    if not detail:
        return
    user.role, user.language, user.email = role, language, email
    if before["role"] != role:
        end_sessions(s, user.id)  # the new role applies from the next login
    audit(s, who.actor, user.account_id, "edit user", f"{user.login}: {detail}", now, who.ip)
    if before["role"] == "manager" and role != "manager":
        revoke_keys(s, user, who, now)


def revoke_keys(s: Session, user: User, who: Who, now: float) -> int:
    """Revoke the API keys ``user`` made (they act for the account, with a manager's say):
    when the user stops being a manager or is disabled. Audited when there were some."""
    live = (ApiKey.user_id == user.id) & ApiKey.revoked_at.is_(None)
    revoked = s.scalar(select(func.count(ApiKey.id)).where(live)) or 0
    s.execute(update(ApiKey).where(live).values(revoked_at=now))
    if revoked:
        detail = f"{user.login}: {revoked} key(s)"
        audit(s, who.actor, user.account_id, "revoke api keys", detail, now, who.ip)
    return revoked


def set_disabled(
    s: Session, user_id: int, disabled: bool, who: Who, self_id: int, now: float
) -> None:
    user = _user(s, user_id)
    if user.id == self_id:
        raise FieldError("You cannot disable yourself.", 409)
    if user.disabled == disabled:
        return
    user.disabled = disabled
    if disabled:
        end_sessions(s, user.id)
    action = "disable user" if disabled else "enable user"
    audit(s, who.actor, user.account_id, action, user.login, now, who.ip)
    if disabled:
        revoke_keys(s, user, who, now)


def reset_password(s: Session, user_id: int, password_hash: str, who: Who, now: float) -> str:
    """A new password (the caller shows it once); the user's sessions end. The login."""
    user = _user(s, user_id)
    set_credential(s, "user", user.id, "password", password_hash, now)
    end_sessions(s, user.id)
    audit(s, who.actor, user.account_id, "reset password", user.login, now, who.ip)
    return user.login


def account_names(s: Session) -> list[tuple[str, str]]:
    """Every account (name, kind), for the user form's choices."""
    return [(a.name, a.kind) for a in s.scalars(select(Account).order_by(Account.name))]
