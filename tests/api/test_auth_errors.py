"""Bearer keys, and every error as JSON with a stable code and the right status."""

from __future__ import annotations

import json

import pytest_twisted
from sqlalchemy import select, update

from gatewayd.storage.api_keys import create_api_key, revoke_api_key
from gatewayd.storage.models import ApiKey, User
from tests.admin.conftest import ConsoleRig
from tests.api.conftest import ApiClient, api_account


@pytest_twisted.ensureDeferred
async def test_missing_wrong_and_revoked_keys_get_401_json(rig: ConsoleRig) -> None:
    account_id, api = await api_account(rig, "acme")
    assert (await api.get("/usage")).code == 200
    for token in (None, "gw_0123456789abcdef_nope", "not-a-key", api.token + "x"):
        reply = await ApiClient(rig.base, token).get("/usage")
        assert reply.code == 401, token
        assert reply.error["code"] == "unauthorized"
        assert reply.headers["content-type"] == "application/json"
        assert reply.headers["www-authenticate"].startswith("Bearer")
    basic = await ApiClient(rig.base, None).call(
        "GET", "/usage", headers={"Authorization": "Basic eDp5"}
    )
    assert basic.code == 401
    key_id = rig.gateway.db.run_sync("key", lambda s: s.query(ApiKey).one().id)
    rig.gateway.db.run_sync("revoke", revoke_api_key, account_id, key_id, 1.0)
    revoked = await api.get("/usage")
    assert revoked.code == 401 and revoked.error["code"] == "unauthorized"


@pytest_twisted.ensureDeferred
async def test_a_suspended_accounts_key_stops_working(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme", suspended=True)
    assert (await api.get("/usage")).code == 401


@pytest_twisted.ensureDeferred
async def test_a_console_session_cookie_is_no_api_credential(rig: ConsoleRig) -> None:
    """No cookie authenticates the API, so a cross-site form cannot use it: no CSRF."""
    browser = await rig.customer("acme", "alice")
    cookie = next(c for c in browser.jar if c.name == "gw_session")
    reply = await ApiClient(rig.base, None).call(
        "GET", "/usage", headers={"Cookie": f"gw_session={cookie.value}"}
    )
    assert reply.code == 401


@pytest_twisted.ensureDeferred
async def test_no_cors_headers_and_preflight_is_refused(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    origin = {"Origin": "https://evil.example"}
    reply = await api.call("GET", "/usage", headers=origin)
    assert reply.code == 200 and "access-control-allow-origin" not in reply.headers
    preflight = await api.call("OPTIONS", "/messages", headers=origin)
    assert preflight.code == 405 and "access-control-allow-origin" not in preflight.headers


@pytest_twisted.ensureDeferred
async def test_unknown_route_404_and_wrong_method_405_in_json(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    missing = await api.get("/nosuch")
    assert missing.code == 404 and missing.error["code"] == "not_found"
    assert (await ApiClient(rig.base, None).get("/nosuch/deeper")).code == 404
    wrong = await api.call("DELETE", "/usage")
    assert wrong.code == 405 and wrong.error["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["allow"]


@pytest_twisted.ensureDeferred
async def test_bad_bodies_name_their_field(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    not_json = await api.call("POST", "/messages", raw=b"{nope")
    assert not_json.code == 400 and not_json.error["code"] == "invalid_json"
    a_list = await api.post("/messages", ["+22376600000"])
    assert a_list.code == 400 and a_list.error["code"] == "invalid_json"
    cases = [
        ({"to": "+22376600000"}, "text"),
        ({"text": "hi"}, "to"),
        ({"to": 22376600000, "text": "hi"}, "to"),
        ({"to": "+22376600000", "text": "hi", "colour": "red"}, "colour"),
        ({"to": "+22376600000", "text": "x" * 1601}, "text"),
        ({"to": "+22376600000", "text": "hi", "registered_delivery": "yes"}, "registered_delivery"),
    ]
    for body, field in cases:
        reply = await api.post("/messages", body)
        assert reply.code == 400, body
        assert reply.error == {
            "code": "invalid_field",
            "field": field,
            "message": reply.error["message"],
        }
        assert reply.error["message"].startswith(field)
    refused = await api.post("/messages", {"to": "12", "text": "hi"})
    assert refused.code == 400 and refused.error["code"] == "invalid_recipients"
    assert refused.error["field"] == "to" and refused.error["refused"][0]["number"] == "12"


@pytest_twisted.ensureDeferred
async def test_a_body_too_large_gets_413(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    huge = b'{"text": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    reply = await api.call("POST", "/batches", raw=huge)
    assert reply.code == 413 and reply.error["code"] == "payload_too_large"


@pytest_twisted.ensureDeferred
async def test_over_its_rate_an_account_gets_429_with_retry_after(rig: ConsoleRig) -> None:
    """The same per-account bucket as SMPP's ESME_RTHROTTLED (Submissions' limits)."""
    _id, api = await api_account(rig, "acme", smpp_tps=0.01)
    first = await api.post("/messages", {"to": "+22376600000", "text": "one"})
    assert first.code == 201
    second = await api.post("/messages", {"to": "+22376600000", "text": "two"})
    assert second.code == 429 and second.error["code"] == "rate_limited"
    assert 1 <= int(second.headers["retry-after"]) <= 100


@pytest_twisted.ensureDeferred
async def test_unknown_query_parameters_and_bad_pages_name_their_field(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    for path, field in [
        ("/usage?verbose=1", "verbose"),
        ("/contacts?limit=5", "limit"),
        ("/contacts?page=0", "page"),
        ("/groups?per_page=501", "per_page"),
        ("/groups?per_page=%C2%B2", "per_page"),
    ]:
        reply = await api.get(path)
        assert reply.code == 400 and reply.error["field"] == field, (path, reply.body)
    assert (await api.get("/contacts?q=x&page=2&per_page=10")).code == 200


@pytest_twisted.ensureDeferred
async def test_a_key_stops_with_the_login_of_the_user_who_made_it(rig: ConsoleRig) -> None:
    account_id, _api = await api_account(rig, "acme")
    await rig.user("acme", "leaver", "user")
    db = rig.gateway.db
    user_id = db.run_sync("id", lambda s: s.scalar(select(User.id).where(User.login == "leaver")))
    _key, token = db.run_sync("key", create_api_key, account_id, user_id, "ci", 1.0)
    api = ApiClient(rig.base, token)
    assert (await api.get("/usage")).code == 200
    db.run_sync("off", lambda s: s.execute(update(User).values(disabled=True)))
    assert (await api.get("/usage")).code == 401


@pytest_twisted.ensureDeferred
async def test_over_the_hourly_cap_fair_use_answers_429_with_its_rule(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme", fair_use=json.dumps({"hourly_messages": 1}))
    assert (await api.post("/messages", {"to": "+22376600000", "text": "one"})).code == 201
    refused = await api.post("/messages", {"to": "+22376600000", "text": "two"})
    assert refused.code == 429 and refused.error["code"] == "fair_use_refused"
    assert refused.error["rule"] == "hourly_messages" and int(refused.headers["retry-after"]) >= 1
    usage = (await api.get("/usage")).json
    assert usage["suspended_until"] is not None
