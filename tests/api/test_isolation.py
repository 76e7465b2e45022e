"""Every object is looked up within the key's account: another account's id is a 404."""

from __future__ import annotations

import pytest_twisted

from tests.admin.conftest import ConsoleRig
from tests.api.conftest import api_account


@pytest_twisted.ensureDeferred
async def test_another_accounts_objects_are_not_found(rig: ConsoleRig) -> None:
    _a, alice = await api_account(rig, "acme")
    _b, bob = await api_account(rig, "globex")
    message = (await alice.post("/messages", {"to": "+22376600000", "text": "x"})).json
    batch = (await alice.post("/batches", {"to": ["+22376600001"], "text": "x"})).json
    contact = (
        await alice.post(
            "/contacts", {"first_name": "A", "last_name": "B", "msisdn": "+22376600002"}
        )
    ).json
    group = (await alice.post("/groups", {"name": "G"})).json
    own = [
        ("GET", f"/messages/{message['id']}", None),
        ("GET", f"/batches/{batch['id']}", None),
        ("GET", f"/batches/{batch['id']}/messages", None),
        ("GET", f"/contacts/{contact['id']}", None),
        ("GET", f"/groups/{group['id']}", None),
        ("GET", f"/groups/{group['id']}/members", None),
    ]
    for method, path, body in own:
        assert (await alice.call(method, path, body)).code == 200, path
    others = [
        *own,
        ("PATCH", f"/contacts/{contact['id']}", {"last_name": "Z"}),
        ("DELETE", f"/contacts/{contact['id']}", None),
        ("PATCH", f"/groups/{group['id']}", {"name": "H"}),
        ("DELETE", f"/groups/{group['id']}", None),
        ("POST", f"/groups/{group['id']}/members", {"numbers": ["+22376600003"]}),
        ("DELETE", f"/groups/{group['id']}/members/{contact['id']}", None),
        ("DELETE", f"/groups/{group['id']}/numbers/22376600003", None),
        ("POST", "/batches", {"groups": [group["id"]], "text": "x"}),
    ]
    for method, path, body in others:
        reply = await bob.call(method, path, body)
        assert reply.code == 404 and reply.error["code"] == "not_found", (method, path)
    _g, bobs_group = 0, (await bob.post("/groups", {"name": "Mine"})).json
    stolen = await bob.post(f"/groups/{bobs_group['id']}/members", {"contact_ids": [contact["id"]]})
    assert stolen.code == 404
    assert (await bob.get("/contacts")).json["total"] == 0
    assert (await bob.get("/groups")).json["data"] == [bobs_group]
    assert (await alice.get(f"/contacts/{contact['id']}")).json["last_name"] == "B"
