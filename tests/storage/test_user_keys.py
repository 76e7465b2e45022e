"""API keys act for the account, made by a manager: demoting that manager to user, or
disabling them, revokes their keys (audited); re-enabling does not bring them back."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatewayd.storage.accounts import create_account, create_user
from gatewayd.storage.api_keys import authenticate, create_api_key
from gatewayd.storage.audit import Who
from gatewayd.storage.database import Database
from gatewayd.storage.models import AuditEntry
from gatewayd.storage.user_admin import edit_user, set_disabled

ADMIN = Who("console:root", "10.0.0.1")


def _setup(s: Session) -> tuple[int, int, str, str]:
    account = create_account(s, "acme", "customer", 0.0)
    alice = create_user(s, "acme", "alice", "manager", "x", 0.0)
    bob = create_user(s, "acme", "bob", "manager", "x", 0.0)
    _, alice_token = create_api_key(s, account.id, alice.id, "alice's", 0.0)
    _, bob_token = create_api_key(s, account.id, bob.id, "bob's", 0.0)
    return alice.id, bob.id, alice_token, bob_token


def _actions(s: Session) -> list[tuple[str, str]]:
    rows = s.execute(select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id))
    return [(a, d) for a, d in rows if "key" in a]


def test_demoting_or_disabling_a_manager_revokes_their_keys(database: Database) -> None:
    alice, bob, alice_token, bob_token = database.run_sync("setup", _setup)
    database.run_sync("edit", edit_user, alice, "manager", "en", None, ADMIN, 0, 1.0)
    assert database.run_sync("auth", authenticate, alice_token, 2.0) is not None  # no change
    database.run_sync("edit", edit_user, alice, "user", "fr", None, ADMIN, 0, 3.0)
    assert database.run_sync("auth", authenticate, alice_token, 4.0) is None
    assert database.run_sync("auth", authenticate, bob_token, 4.0) is not None
    database.run_sync("disable", set_disabled, bob, True, ADMIN, 0, 5.0)
    database.run_sync("enable", set_disabled, bob, False, ADMIN, 0, 6.0)
    assert database.run_sync("auth", authenticate, bob_token, 7.0) is None
    assert database.run_sync("audit", _actions) == [
        ("revoke api keys", "alice: 1 key(s)"),
        ("revoke api keys", "bob: 1 key(s)"),
    ]
