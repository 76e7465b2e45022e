from __future__ import annotations

import pytest
import pytest_twisted

from gatewayd.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from gatewayd.security import hash_secret
from gatewayd.storage.accounts import AccountStore
from gatewayd.storage.database import Database
from gatewayd.storage.models import Credential
from gatewayd.storage.websessions import WebSessionStore

PASSWORD = "correct horse battery"


@pytest_twisted.ensureDeferred
async def test_users_authenticate_by_hashed_password(database: Database) -> None:
    store = AccountStore(database)
    await store.create_account("Acme", "customer", 1.0)
    user = await store.create_user("Acme", "alice", "manager", hash_secret(PASSWORD), 2.0)
    assert user.account.name == "Acme" and user.role == "manager"
    found = await store.authenticate_user("alice", PASSWORD)
    assert found.id == user.id
    with pytest.raises(AuthenticationFailed):
        await store.authenticate_user("alice", "wrong password!")
    with pytest.raises(AuthenticationFailed):
        await store.authenticate_user("nobody", PASSWORD)
    hashes = database.run_sync("hashes", lambda s: [c.secret_hash for c in s.query(Credential)])
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


@pytest_twisted.ensureDeferred
async def test_smpp_credentials(database: Database) -> None:
    store = AccountStore(database)
    account = await store.create_account("Acme", "customer", 1.0, "acme", hash_secret("pw12"))
    assert (await store.authenticate_smpp("acme", "pw12")).id == account.id
    with pytest.raises(AuthenticationFailed):
        await store.authenticate_smpp("acme", "nope")
    with pytest.raises(AuthenticationFailed):
        await store.authenticate_smpp("other", "pw12")


@pytest_twisted.ensureDeferred
async def test_bad_input_is_refused_and_nothing_is_written(database: Database) -> None:
    store = AccountStore(database)
    await store.create_account("Acme", "customer", 1.0, "acme")
    with pytest.raises(Conflict):
        await store.create_account("Acme", "customer", 1.0)
    with pytest.raises(Conflict):
        await store.create_account("Other", "customer", 1.0, "acme")
    with pytest.raises(ValidationError, match="operator accounts"):
        await store.create_user("Acme", "bob", "admin", hash_secret(PASSWORD), 1.0)
    with pytest.raises(NotFound):
        await store.create_user("Nope", "bob", "user", hash_secret(PASSWORD), 1.0)
    await store.create_user("Acme", "bob", "user", hash_secret(PASSWORD), 1.0)
    with pytest.raises(Conflict):
        await store.create_user("Acme", "bob", "user", hash_secret(PASSWORD), 1.0)
    assert [a.name for a in await store.accounts()] == ["Acme"]


@pytest_twisted.ensureDeferred
async def test_web_sessions_expire_and_close(database: Database) -> None:
    accounts = AccountStore(database)
    sessions = WebSessionStore(database)
    await accounts.create_account("Acme", "customer", 1.0)
    user = await accounts.create_user("Acme", "alice", "user", hash_secret(PASSWORD), 1.0)
    token, opened = await sessions.open(user.id, now=100.0, ttl=60.0)
    found = await sessions.lookup(token, now=159.0)
    assert found is not None and found.user.login == "alice"
    assert found.csrf_token == opened.csrf_token
    assert await sessions.lookup(token, now=160.0) is None
    assert await sessions.lookup("forged", now=100.0) is None
    await sessions.close(token)
    assert await sessions.lookup(token, now=101.0) is None
