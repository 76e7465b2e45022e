"""API keys: the token is shown once, only a digest is kept, revoked keys stop working."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatewayd.storage.api_keys import (
    authenticate,
    create_api_key,
    list_api_keys,
    parse_token,
    revoke_api_key,
)
from gatewayd.storage.database import Database
from gatewayd.storage.models import Account, ApiKey


def _accounts(database: Database) -> tuple[int, int]:
    def make(s: Session) -> tuple[int, int]:
        rows = [Account(name=n, kind="customer", created_at=1.0) for n in ("acme", "other")]
        s.add_all(rows)
        s.flush()
        return rows[0].id, rows[1].id

    return database.run_sync("accounts", make)


def test_key_round_trip_digest_revocation_and_touch(database: Database) -> None:
    acme, other = _accounts(database)
    info, token = database.run_sync("create", create_api_key, acme, None, "ci", 10.0)
    assert token.startswith(f"gw_{info.key_id}_") and parse_token(token) is not None
    stored = database.run_sync("row", lambda s: s.scalar(select(ApiKey.secret_hash)))
    assert token.split("_", 2)[2] not in stored and len(stored) == 64
    assert database.run_sync("auth", authenticate, token, 20.0) == (acme, None)
    assert database.run_sync("auth", authenticate, token + "x", 20.0) is None
    assert database.run_sync("auth", authenticate, "gw_nope", 20.0) is None
    assert database.run_sync("list", list_api_keys, acme)[0].last_used_at == 20.0
    database.run_sync("auth", authenticate, token, 50.0)  # within a minute: not rewritten
    assert database.run_sync("list", list_api_keys, acme)[0].last_used_at == 20.0
    database.run_sync("auth", authenticate, token, 90.0)
    assert database.run_sync("list", list_api_keys, acme)[0].last_used_at == 90.0
    assert database.run_sync("list", list_api_keys, other) == []
    assert not database.run_sync("revoke", revoke_api_key, other, info.id, 100.0)
    assert database.run_sync("auth", authenticate, token, 100.0) == (acme, None)
    assert database.run_sync("revoke", revoke_api_key, acme, info.id, 100.0)
    assert database.run_sync("auth", authenticate, token, 101.0) is None
    assert database.run_sync("list", list_api_keys, acme)[0].revoked_at == 100.0
