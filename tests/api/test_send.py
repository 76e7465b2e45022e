"""Sending through the API and following the statuses: single, batch, groups, schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest_twisted
from sqlalchemy import select
from twisted.internet import reactor

from gatewayd.storage.models import Batch
from tests.admin.conftest import ConsoleRig
from tests.api.conftest import api_account, until


@pytest_twisted.ensureDeferred
async def test_send_one_and_follow_it_to_delivered(any_rig: ConsoleRig) -> None:
    """On SQLite and PostgreSQL: the id at once, then every transition from message_events."""
    _id, api = await api_account(any_rig, "acme")
    sent = await api.post("/messages", {"to": "+223 76 60 00 00", "text": "bonjour"})
    assert sent.code == 201, sent.body
    message = sent.json
    assert message["to"] == "22376600000" and message["status"] in ("accepted", "queued")
    assert message["events"][0]["status"] == "accepted"
    done = await until(api, f"/messages/{message['id']}", lambda m: m["status"] == "delivered")
    assert [e["status"] for e in done["events"]] == ["accepted", "queued", "sent", "delivered"]
    assert done["batch_id"] == message["batch_id"] and done["updated_at"].endswith("Z")
    channel = any_rig.gateway.db.run_sync("channel", lambda s: s.scalar(select(Batch.channel)))
    assert channel == "api"


@pytest_twisted.ensureDeferred
async def test_an_unknown_message_id_is_404(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    reply = await api.get("/messages/0123456789abcdef")
    assert reply.code == 404 and reply.error["code"] == "not_found"


@pytest_twisted.ensureDeferred
async def test_a_batch_to_numbers_and_a_group_counts_and_pages(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    group = (await api.post("/groups", {"name": "Clients"})).json
    contact = await api.post(
        "/contacts", {"first_name": "Awa", "last_name": "Traoré", "msisdn": "+22376600010"}
    )
    await api.post(f"/groups/{group['id']}/members", {"contact_ids": [contact.json["id"]]})
    await api.post(f"/groups/{group['id']}/members", {"numbers": ["+22376600011"]})
    numbers = [f"+2237660000{i}" for i in range(5)]
    reply = await api.post(
        "/batches",
        {"to": [*numbers, "+22376600010"], "groups": [group["id"]], "text": "promo",
         "subject": "Soldes"},
    )  # fmt: skip
    assert reply.code == 201, reply.body
    batch = reply.json
    assert batch["recipients"] == 7 and batch["subject"] == "Soldes"  # de-duplicated
    assert batch["channel"] == "api" and batch["state"] == "active"
    done = await until(api, f"/batches/{batch['id']}", lambda b: b["delivered"] == 7)
    assert done["counts"]["delivered"] == 7 and done["pending"] == 0 and done["failed"] == 0
    first = (await api.get(f"/batches/{batch['id']}/messages?per_page=3")).json
    assert first["total"] == 7 and first["pages"] == 3 and len(first["data"]) == 3
    last = (await api.get(f"/batches/{batch['id']}/messages?per_page=3&page=3")).json
    seen = [m["to"] for m in first["data"]] + [m["to"] for m in last["data"]]
    assert len(last["data"]) == 1 and len(set(seen)) == 4
    assert all(m["status"] == "delivered" for m in first["data"])
    only = (await api.get(f"/batches/{batch['id']}/messages?status=undeliverable")).json
    assert only["total"] == 0 and only["data"] == []
    bad = await api.get(f"/batches/{batch['id']}/messages?status=lost")
    assert bad.code == 400 and bad.error["field"] == "status"


@pytest_twisted.ensureDeferred
async def test_a_scheduled_batch_waits_as_accepted(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    body: dict[str, Any] = {
        "to": ["+22376600000", "+22376600001"],
        "text": "later",
        "scheduled_at": "2099-01-01T08:00:00+00:00",
    }
    far = await api.post("/batches", body)
    assert far.code == 400 and far.error["field"] == "scheduled_at"
    body["scheduled_at"] = _in_a_day(rig)
    reply = await api.post("/batches", body)
    assert reply.code == 201, reply.body
    assert reply.json["counts"]["accepted"] == 2 and reply.json["scheduled_at"] is not None
    naive = await api.post("/batches", {**body, "scheduled_at": "2030-01-01T08:00:00"})
    assert naive.code == 400 and naive.error["field"] == "scheduled_at"


def _in_a_day(rig: ConsoleRig) -> str:
    moment = float(reactor.seconds()) + 86400
    return datetime.fromtimestamp(moment, UTC).isoformat()


@pytest_twisted.ensureDeferred
async def test_batch_input_is_checked_field_by_field(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    cases = [
        ({"text": "x"}, "to"),
        ({"to": "22376600000", "text": "x"}, "to"),
        ({"to": ["22376600000"], "groups": ["VIP"], "text": "x"}, "groups"),
        ({"to": ["22376600000"], "text": "x", "priority": "urgent"}, "priority"),
    ]
    for body, field in cases:
        reply = await api.post("/batches", body)
        assert reply.code == 400 and reply.error["field"] == field, (body, reply.body)
    unknown_group = await api.post("/batches", {"groups": [999999], "text": "x"})
    assert unknown_group.code == 404


@pytest_twisted.ensureDeferred
async def test_a_refused_sender_is_a_400(rig: ConsoleRig) -> None:
    _id, api = await api_account(rig, "acme")
    reply = await api.post(
        "/messages", {"to": "+22376600000", "text": "x", "sender": "\u00e9\u00e9\u00e9"}
    )
    assert reply.code == 400, reply.body
