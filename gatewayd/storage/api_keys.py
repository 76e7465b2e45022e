"""API keys for the HTTP API: bearer tokens ``gw_<key_id>_<secret>``, stored hashed.

``key_id`` (16 hex digits) finds the row; only the SHA-256 of the secret is kept. The secret
has 256 random bits, so a slow hash (argon2, ~50 ms a call) would add nothing but latency
to every API request. The full token is returned once, at creation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gatewayd.security import token_digest, tokens_equal
from gatewayd.storage.models import Account, ApiKey, User

PREFIX = "gw"
#: last_used_at is written at most this often (seconds) per key, to spare writes.
TOUCH_INTERVAL = 60.0


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    name: str
    key_id: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        row.id, row.name, row.key_id, row.created_at, row.last_used_at, row.revoked_at
    )


def create_api_key(
    session: Session, account_id: int, user_id: int | None, name: str, now: float
) -> tuple[ApiKeyInfo, str]:
    """A new key for the account; returns it and the full token (shown once)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        account_id=account_id,
        user_id=user_id,
        name=name,
        key_id=key_id,
        secret_hash=token_digest(secret),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _info(row), f"{PREFIX}_{key_id}_{secret}"


def list_api_keys(session: Session, account_id: int) -> list[ApiKeyInfo]:
    rows = session.scalars(
        select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id.desc())
    )
    return [_info(row) for row in rows]


def revoke_api_key(session: Session, account_id: int, key: int, now: float) -> bool:
    """Revoke the account's key ``key`` (its id); False when it is not this account's."""
    row = session.get(ApiKey, key)
    if row is None or row.account_id != account_id:
        return False
    if row.revoked_at is None:
        row.revoked_at = now
    return True


def parse_token(token: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed token, else None (the secret may hold '_')."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 16 or not parts[2]:
        return None
    return parts[1], parts[2]


def authenticate(session: Session, token: str, now: float) -> tuple[int, int | None] | None:
    """``(account_id, user_id)`` for a valid, unrevoked key of an active account (and of an
    enabled user, when a user made it), else None."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    key_id, secret = parsed
    row = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if row is None or not tokens_equal(token_digest(secret), row.secret_hash):
        return None
    if row.revoked_at is not None:
        return None
    if session.scalar(select(Account.suspended).where(Account.id == row.account_id)):
        return None
    if row.user_id is not None and session.scalar(
        select(User.disabled).where(User.id == row.user_id)
    ):
        return None  # the key of someone who left stops with their login
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return row.account_id, row.user_id
