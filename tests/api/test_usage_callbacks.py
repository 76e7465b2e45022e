"""Usage (quota, used, left, fair use) and the account's callbacks (secret write-only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest_twisted
from sqlalchemy import select

from gatewayd.storage.models import Account
from tests.admin.conftest import ConsoleRig, start_rig
from tests.api.conftest import api_account


@pytest_twisted.ensureDeferred
async def test_usage_counts_what_was_sent(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    before = (await api.get("/usage")).json
    assert before["used"] == 0 and before["quota"] is None and before["left"] is None
    assert before["plan"] == "standard" and before["suspended_until"] is None
    await api.post("/messages", {"to": "+22376600000", "text": "x" * 200})  # 2 parts
    after = (await api.get("/usage")).json
    assert after["used"] == 2 and after["messages"] == 1 and after["distinct_recipients"] == 1


@pytest_twisted.ensureDeferred
async def test_usage_with_a_quota_shows_what_is_left(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme", fair_use=json.dumps({"monthly_quota": 10}))
    await api.post("/messages", {"to": "+22376600000", "text": "hi"})
    usage = (await api.get("/usage")).json
    assert usage["quota"] == 10 and usage["used"] == 1 and usage["left"] == 9


@pytest_twisted.ensureDeferred
async def test_callbacks_set_read_and_stop_and_the_secret_is_never_shown(
    rig: ConsoleRig,
) -> None:
    account_id, api = await api_account(rig, "acme")
    assert (await api.get("/callbacks")).json == {"url": None, "secret_set": False}
    no_secret = await api.call("PUT", "/callbacks", {"url": "https://acme.example/hook"})
    assert no_secret.code == 400 and no_secret.error["field"] == "secret"
    short = await api.call("PUT", "/callbacks", {"url": "https://a.example/", "secret": "x"})
    assert short.code == 400 and short.error["field"] == "secret"
    bad = await api.call("PUT", "/callbacks", {"url": "ftp://a.example/", "secret": "s" * 32})
    assert bad.code == 400 and bad.error["field"] == "url"
    secret = "a-long-signing-secret-0123456789"
    put = await api.call(
        "PUT", "/callbacks", {"url": "https://acme.example/hook", "secret": secret}
    )
    assert put.code == 200 and put.json == {"url": "https://acme.example/hook", "secret_set": True}
    assert secret.encode() not in put.body
    got = await api.get("/callbacks")
    assert secret.encode() not in got.body and got.json["secret_set"] is True
    stored = rig.gateway.db.run_sync(
        "secret",
        lambda s: s.scalar(select(Account.callback_secret).where(Account.id == account_id)),
    )
    assert stored == secret
    moved = await api.call("PUT", "/callbacks", {"url": "https://acme.example/other"})
    assert moved.code == 200 and moved.json["secret_set"] is True  # the secret is kept
    stopped = await api.call("PUT", "/callbacks", {"url": None})
    assert stopped.json == {"url": None, "secret_set": False}
    assert (await api.call("PUT", "/callbacks", {})).error["field"] == "url"


@pytest_twisted.ensureDeferred
async def test_a_callback_to_a_private_or_local_address_literal_is_refused(
    rig: ConsoleRig,
) -> None:
    _id, api = await api_account(rig, "acme")
    secret = "a-long-signing-secret-0123456789"
    for url, said in [
        ("http://10.0.0.5/hook", "callback destination 10.0.0.5 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "is a link-local address"),
        ("http://127.0.0.1:8080/", "is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "is a loopback address"),
        ("http://[fe80::1]/", "is a link-local address"),
        ("http://100.64.0.1/", "is a shared (CGNAT) address"),
        ("http://0x7f000001/", "127.0.0.1 is a loopback address"),
    ]:
        refused = await api.call("PUT", "/callbacks", {"url": url, "secret": secret})
        assert refused.code == 400, url
        assert refused.error["field"] == "url" and said in refused.error["message"], url
    assert (await api.get("/callbacks")).json == {"url": None, "secret_set": False}
    # A name is checked when the callback is sent (it can resolve differently later).
    named = await api.call("PUT", "/callbacks", {"url": "http://localhost:8080/", "secret": secret})
    assert named.code == 200


@pytest_twisted.ensureDeferred
async def test_the_allow_list_lets_a_private_address_literal_through(tmp_path: Path) -> None:
    allowed = {"callbacks": {"allowed_networks": ["10.20.0.0/16"]}}
    rig = await start_rig(f"sqlite:///{tmp_path}/gatewayd.db", allowed)
    try:
        _id, api = await api_account(rig, "acme")
        secret = "a-long-signing-secret-0123456789"
        ok = await api.call("PUT", "/callbacks", {"url": "http://10.20.0.5/hook", "secret": secret})
        assert ok.code == 200 and ok.json["url"] == "http://10.20.0.5/hook"
        other = await api.call("PUT", "/callbacks", {"url": "http://10.21.0.5/hook"})
        assert other.code == 400 and other.error["field"] == "url"
        assert "10.21.0.5 is a private address" in other.error["message"]
    finally:
        await rig.gateway.stopService()
