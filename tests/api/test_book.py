"""Contacts and groups through the API: the address book's store and its checks."""

from __future__ import annotations

import pytest_twisted

from tests.admin.conftest import ConsoleRig
from tests.api.conftest import api_account


@pytest_twisted.ensureDeferred
async def test_contacts_create_read_search_change_delete(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    made = await api.post(
        "/contacts", {"first_name": " Awa ", "last_name": "Traoré", "msisdn": "+223 76 60 00 01"}
    )
    assert made.code == 201, made.body
    contact = made.json
    assert contact["first_name"] == "Awa" and contact["msisdn"] == "22376600001"
    await api.post(
        "/contacts", {"first_name": "Binta", "last_name": "Diallo", "msisdn": "22376600002"}
    )
    assert (await api.get(f"/contacts/{contact['id']}")).json == contact
    found = (await api.get("/contacts?q=traor")).json
    assert [c["id"] for c in found["data"]] == [contact["id"]] and found["total"] == 1
    listed = (await api.get("/contacts?per_page=1")).json
    assert listed["total"] == 2 and listed["pages"] == 2 and len(listed["data"]) == 1
    changed = await api.call("PATCH", f"/contacts/{contact['id']}", {"last_name": "Keita"})
    assert changed.code == 200 and changed.json["last_name"] == "Keita"
    assert changed.json["first_name"] == "Awa" and changed.json["msisdn"] == "22376600001"
    duplicate = await api.post(
        "/contacts", {"first_name": "X", "last_name": "Y", "msisdn": "+22376600001"}
    )
    assert duplicate.code == 409 and duplicate.error["code"] == "duplicate_number"
    assert duplicate.error["contact_id"] == contact["id"]
    gone = await api.call("DELETE", f"/contacts/{contact['id']}")
    assert gone.code == 204 and gone.body == b""
    assert (await api.get(f"/contacts/{contact['id']}")).code == 404
    assert (await api.call("DELETE", f"/contacts/{contact['id']}")).code == 404


@pytest_twisted.ensureDeferred
async def test_contact_fields_are_checked_and_named(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    cases = [
        ({"last_name": "Y", "msisdn": "+22376600001"}, "first_name"),
        ({"first_name": " ", "last_name": "Y", "msisdn": "+22376600001"}, "first_name"),
        ({"first_name": "X", "last_name": "Y", "msisdn": "76600001"}, "msisdn"),
        ({"first_name": "X", "last_name": "Y"}, "msisdn"),
        ({"first_name": "X", "last_name": "Y", "msisdn": "+22376600001", "age": 3}, "age"),
    ]
    for body, field in cases:
        reply = await api.post("/contacts", body)
        assert reply.code == 400 and reply.error["field"] == field, (body, reply.body)
    made = await api.post(
        "/contacts", {"first_name": "X", "last_name": "Y", "msisdn": "+22376600001"}
    )
    emptied = await api.call("PATCH", f"/contacts/{made.json['id']}", {"last_name": ""})
    assert emptied.code == 400 and emptied.error["field"] == "last_name"


@pytest_twisted.ensureDeferred
async def test_groups_and_their_members(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    group = await api.post("/groups", {"name": "Clients"})
    assert group.code == 201 and group.json["contacts"] == 0
    group_id = group.json["id"]
    taken = await api.post("/groups", {"name": "Clients"})
    assert taken.code == 409 and taken.error["code"] == "duplicate_group"
    contact = await api.post(
        "/contacts", {"first_name": "Awa", "last_name": "Traoré", "msisdn": "+22376600001"}
    )
    added = await api.post(
        f"/groups/{group_id}/members",
        {"contact_ids": [contact.json["id"]], "numbers": ["+22376600099"]},
    )
    assert added.code == 200 and added.json["contacts"] == 1 and added.json["numbers"] == 1
    members = (await api.get(f"/groups/{group_id}/members")).json
    assert [m["contact_id"] for m in members["data"]] == [contact.json["id"], None]
    assert members["data"][1]["msisdn"] == "22376600099"
    assert (await api.post(f"/groups/{group_id}/members", {"contact_ids": [999999]})).code == 404
    assert (await api.post(f"/groups/{group_id}/members", {})).code == 400
    renamed = await api.call("PATCH", f"/groups/{group_id}", {"name": "VIP"})
    assert renamed.code == 200 and renamed.json["name"] == "VIP" and renamed.json["contacts"] == 1
    listed = (await api.get("/groups")).json
    assert [g["name"] for g in listed["data"]] == ["VIP"]
    out = await api.call("DELETE", f"/groups/{group_id}/members/{contact.json['id']}")
    assert out.code == 204
    assert (
        await api.call("DELETE", f"/groups/{group_id}/members/{contact.json['id']}")
    ).code == 404
    assert (await api.call("DELETE", f"/groups/{group_id}/numbers/+22376600099")).code == 204
    assert (await api.get(f"/groups/{group_id}")).json["numbers"] == 0
    await api.post(f"/groups/{group_id}/members", {"contact_ids": [contact.json["id"]]})
    assert (await api.call("DELETE", f"/groups/{group_id}")).code == 204
    assert (await api.get(f"/groups/{group_id}")).code == 404
    assert (await api.get(f"/contacts/{contact.json['id']}")).code == 200  # the contact stays
