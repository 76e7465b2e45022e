"""The outbox's HTTP side: a receipt for an API message is POSTed, signed, to the account's
callback (a real twisted.web server on 127.0.0.1); a failing callback is retried after its
back-off, and the entry is deleted only once answered 2xx."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from twisted.internet.defer import Deferred

from gatewayd.api.store import set_callback_settings
from gatewayd.pipeline.callbacks import CallbackClient
from gatewayd.pipeline.destinations import parse_networks
from gatewayd.pipeline.outbox import Outbox
from gatewayd.storage.database import Database
from gatewayd.storage.traffic import outbox_for
from tests.pipeline import test_callbacks as callbacks
from tests.pipeline.rig import Rig, ScriptedConnector, receipt_pdu
from tests.pipeline.test_callbacks import SECRET, Endpoint, ensure_deferred

# The customer's endpoint and the client, as the callback tests have them.
endpoint = callbacks.endpoint
client = callbacks.client


class NobodyBound:
    def principal_for(self, account_id: int) -> Any:
        return None

    def deliver(self, principal: Any, fields: Any, tlvs: Any) -> Deferred[bool]:
        raise AssertionError("no SMPP delivery expected")


async def with_callback(rig: Rig, url: str) -> int:
    account = await rig.account()

    def set_callback(s: Any) -> None:
        s.execute(
            text("UPDATE accounts SET callback_url = :u, callback_secret = :k WHERE id = :i"),
            {"u": url, "k": SECRET.decode(), "i": account.id},
        )

    await rig.database.run("callback", set_callback)
    await rig.send(account, channel="api", registered_delivery=True)
    await rig.deliver(receipt_pdu("1", "UNDELIV", "005"))
    [row] = rig.forwarded
    assert (row.channel, row.kind) == ("http", "receipt")
    return account.id


def outbox(rig: Rig, poster: CallbackClient) -> Outbox:
    return Outbox(rig.database, rig.committer, rig.clock, rig.pipeline, NobodyBound(), poster)


@ensure_deferred
async def test_a_receipt_is_posted_signed_then_deleted(
    database: Database, endpoint: Endpoint, client: CallbackClient
) -> None:
    rig = Rig(database, ScriptedConnector())
    await rig.start()
    account_id = await with_callback(rig, endpoint.url + "/ok")
    await outbox(rig, client).sweep()
    [got] = endpoint.hook.received
    assert got.signed
    body = json.loads(got.body)
    assert (body["type"], body["status"], body["error_code"]) == (
        "receipt",
        "undeliverable",
        "err:005",
    )
    assert got.headers["X-Gatewayd-Delivery"].startswith("receipt-")
    assert await database.run("left", outbox_for, account_id, "http", 0, 10) == []


@ensure_deferred
async def test_a_failing_callback_is_retried_after_its_back_off(
    database: Database, endpoint: Endpoint, client: CallbackClient
) -> None:
    rig = Rig(database, ScriptedConnector())
    await rig.start()
    account_id = await with_callback(rig, endpoint.url + "/fail")
    box = outbox(rig, client)
    await box.sweep()
    [kept] = await database.run("left", outbox_for, account_id, "http", 0, 10)
    assert kept.attempts == 1
    await box.sweep()  # not due yet: nothing is posted
    assert len(endpoint.hook.received) == 1
    rig.clock.advance(10)  # past the first back-off (5 s at most)
    await box.sweep()
    assert len(endpoint.hook.received) == 2
    [kept] = await database.run("left", outbox_for, account_id, "http", 0, 10)
    assert kept.attempts == 2


@ensure_deferred
async def test_a_refused_destination_is_recorded_and_not_retried(
    database: Database, endpoint: Endpoint
) -> None:
    rig = Rig(database, ScriptedConnector())
    await rig.start()
    # A name (accepted when set) that resolves to loopback, which is not allow-listed here.
    url = endpoint.url.replace("127.0.0.1", "localhost") + "/ok"
    account_id = await with_callback(rig, url)
    poster = CallbackClient(callbacks.ClockedReactor(rig.clock))  # resolves on the real one
    box = outbox(rig, poster)
    try:
        await box.sweep()
        rig.clock.advance(rig.pipeline.outbox_expiry - 1)  # every back-off long past
        await box.sweep()
    finally:
        await poster.close()
    assert endpoint.hook.received == []

    def entry(s: Any) -> tuple[Any, ...]:
        query = text("SELECT attempts, last_error FROM outbox WHERE account_id = :a")
        return tuple(s.execute(query, {"a": account_id}).one())

    attempts, last_error = await database.run("entry", entry)
    assert attempts == 1  # tried once, never again
    assert last_error.startswith("callback destination ") and "is a loopback address" in last_error
    rig.clock.advance(2)  # past its expiry: dropped as any other
    await box.sweep()
    assert await database.run("left", outbox_for, account_id, "http", 0, 10) == []


@ensure_deferred
async def test_setting_the_url_again_retries_what_was_given_up(
    database: Database, endpoint: Endpoint
) -> None:
    rig = Rig(database, ScriptedConnector())
    await rig.start()
    url = endpoint.url.replace("127.0.0.1", "localhost") + "/ok"
    account_id = await with_callback(rig, url)
    refusing = CallbackClient(callbacks.ClockedReactor(rig.clock))
    try:
        await outbox(rig, refusing).sweep()
    finally:
        await refusing.close()
    [parked] = await database.run("left", outbox_for, account_id, "http", 0, 10)
    assert parked.attempts == 1
    # The operator allow-listed the receiver (a restart), the customer PUTs its URL again.
    await database.run("put", set_callback_settings, account_id, url, None)
    allowed = parse_networks(["127.0.0.1/32", "::1"])
    poster = CallbackClient(callbacks.ClockedReactor(rig.clock), allowed=allowed)
    try:
        await outbox(rig, poster).sweep()
    finally:
        await poster.close()
    assert len(endpoint.hook.received) == 1
    assert await database.run("left", outbox_for, account_id, "http", 0, 10) == []
