"""The customer's profile: the account's contact fields, the user's language and password,
the account's API keys and SMPP password. Every change is one transaction with its audit entry.

Authorisation is by construction: each function takes the session's own user or account id,
never an id from the request, except :func:`revoke_key`, which checks the key's account.
Problems come back as :class:`FieldError` with an English msgid for the page to translate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gatewayd.errors import FieldError, NotFound
from gatewayd.routing.numbers import InvalidNumber, normalise_msisdn
from gatewayd.storage.accounts import set_credential
from gatewayd.storage.api_keys import ApiKeyInfo, create_api_key, list_api_keys, revoke_api_key
from gatewayd.storage.audit import Who, audit, changes
from gatewayd.storage.models import Account, Credential, User, WebSession

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)*\.[^@\s.]{2,63}")
FIELDS = ("company_name", "mobile", "address", "po_box", "email")
_LIMITS = {"company_name": 200, "mobile": 32, "address": 500, "po_box": 64, "email": 254}
#: The fields' labels (English msgids) for error messages.
LABELS = {
    "company_name": "Company name",
    "mobile": "Mobile",
    "address": "Address",
    "po_box": "PO box",
    "email": "E-mail",
}


@dataclass(frozen=True)
class Profile:
    login: str
    account_name: str
    subscribed_at: float  # the account's creation
    company_name: str
    mobile: str
    address: str
    po_box: str
    email: str
    language: str
    smpp_system_id: str | None
    api_keys: list[ApiKeyInfo]


def profile(s: Session, user_id: int) -> Profile:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    a = user.account
    return Profile(
        user.login,
        a.name,
        a.created_at,
        a.company_name,
        a.mobile,
        a.address,
        a.po_box,
        a.email,
        user.language,
        a.smpp_system_id,
        list_api_keys(s, a.id),
    )


def clean_fields(values: dict[str, str], default_country: str | None) -> dict[str, str]:
    """The profile fields trimmed and checked: the mobile as E.164 digits, the e-mail's shape.
    Empty is allowed for each of them (the operator may not have had them)."""
    cleaned = {name: values.get(name, "").strip() for name in FIELDS}
    for name, limit in _LIMITS.items():
        if len(cleaned[name]) > limit:
            raise FieldError("This field is too long: %(field)s.", field=LABELS[name])
    if cleaned["mobile"]:
        number = normalise_msisdn(cleaned["mobile"], default_country)
        if isinstance(number, InvalidNumber):
            raise FieldError("The mobile number is not valid: %(reason)s", reason=number.reason)
        cleaned["mobile"] = number
    if cleaned["email"] and not _EMAIL.fullmatch(cleaned["email"]):
        raise FieldError("The e-mail address is not valid.")
    return cleaned


def update_fields(
    s: Session, account_id: int, values: dict[str, str], who: Who, now: float
) -> bool:
    """Save the account's profile fields; False when nothing changed (no audit entry)."""
    row = s.get(Account, account_id)
    if row is None:
        raise NotFound("no such account")
    cleaned = clean_fields(values, row.default_country)
    before = {name: getattr(row, name) for name in FIELDS}
    detail = changes(before, cleaned)
    if not detail:
        return False
    for name, value in cleaned.items():
        setattr(row, name, value)
    audit(s, who.actor, account_id, "edit profile", detail, now, who.ip)
    return True


def set_language(s: Session, user_id: int, language: str) -> None:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    user.language = language


def password_hash(s: Session, user_id: int) -> str | None:
    return s.scalar(
        select(Credential.secret_hash).where(
            Credential.owner == "user",
            Credential.owner_id == user_id,
            Credential.kind == "password",
        )
    )


def change_password(
    s: Session, user_id: int, new_hash: str, keep_session: str, who: Who, now: float
) -> int:
    """Store the new hash and end the user's other sessions (all but the one whose token
    digest is ``keep_session``); returns how many were ended."""
    user = s.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    set_credential(s, "user", user_id, "password", new_hash, now)
    ended = s.execute(
        delete(WebSession).where(
            WebSession.user_id == user_id, WebSession.token_hash != keep_session
        )
    )
    count = int(getattr(ended, "rowcount", 0) or 0)
    audit(s, who.actor, user.account_id, "change password", f"login: {user.login}", now, who.ip)
    return count


def new_key(
    s: Session, account_id: int, user_id: int, name: str, who: Who, now: float
) -> tuple[ApiKeyInfo, str]:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise FieldError("Give the key a name (100 characters at most).")
    info, token = create_api_key(s, account_id, user_id, name, now)
    audit(s, who.actor, account_id, "create api key", f"{info.key_id}: {name}", now, who.ip)
    return info, token


def revoke_key(s: Session, account_id: int, key: int, who: Who, now: float) -> None:
    if not revoke_api_key(s, account_id, key, now):
        raise NotFound("no such API key")
    audit(s, who.actor, account_id, "revoke api key", f"id: {key}", now, who.ip)


def reset_smpp(s: Session, account_id: int, new_hash: str, who: Who, now: float) -> str:
    """Replace the account's SMPP password hash; returns the system_id."""
    row = s.get(Account, account_id)
    if row is None:
        raise NotFound("no such account")
    if not row.smpp_system_id:
        raise FieldError("Your account has no SMPP access: ask your operator.", 409)
    set_credential(s, "account", row.id, "smpp", new_hash, now)
    detail = f"system_id: {row.smpp_system_id}"
    audit(s, who.actor, row.id, "reset smpp password", detail, now, who.ip)
    return row.smpp_system_id
