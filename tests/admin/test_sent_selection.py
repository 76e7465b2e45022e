"""The sent messages' and archives' selection forms (security review): the ids posted are
bounded, a delete refused for the right reason says which."""

from __future__ import annotations

import pytest_twisted

from tests.admin.conftest import ConsoleRig
from tests.admin.test_messages import _batches, _hidden, _scheduled_batch


@pytest_twisted.ensureDeferred
async def test_deleting_a_batch_that_is_not_archived_says_so(any_rig: ConsoleRig) -> None:
    rig = any_rig
    browser = await rig.customer("acme", "alice")
    await _scheduled_batch(browser, "22376600001", "vieux")
    [(batch_id, _, _)] = rig.gateway.db.run_sync("batches", _batches, "acme")
    await browser.get("/messages")
    await browser.post("/messages/archive", [("ids", str(batch_id))])
    await browser.get("/archives")
    asked = await browser.post("/archives/delete", [("ids", str(batch_id))])
    fields = _hidden(asked, "/archives/delete")
    await browser.post("/archives/unarchive", [("ids", str(batch_id))])  # from another tab
    refused = await browser.post("/archives/delete", fields)
    assert refused.code == 409
    assert "encore en cours" not in refused.text
    assert "ne sont plus dans les archives" in refused.shown
    assert rig.gateway.db.run_sync("batches", _batches, "acme") != []


@pytest_twisted.ensureDeferred
async def test_selected_ids_are_bounded(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "alice")
    await _scheduled_batch(browser, "22376600001", "vieux")
    [(batch_id, _, _)] = rig.gateway.db.run_sync("batches", _batches, "acme")
    await browser.get("/messages")
    # Digits int() would refuse, overflow SQLite, or that are no ASCII digits: ignored.
    noise = [("ids", "9" * 5000), ("ids", "9" * 30), ("ids", "²"), ("ids", str(batch_id))]
    archived = await browser.post("/messages/archive", noise)
    assert archived.location == "/messages?flash=archived"
    await browser.get("/archives")
    asked = await browser.post("/archives/delete", noise)
    assert asked.code == 200 and "vieux" in asked.text
    too_many = [("ids", str(n)) for n in range(1, 1002)]
    refused = await browser.post("/archives/unarchive", too_many)
    assert refused.code == 400 and "1000 éléments au plus" in refused.shown
    # The address book's selection forms share the bound.
    await browser.get("/contacts")
    many_contacts = await browser.post("/contacts/delete", [("contact", "1")] * 1001)
    assert many_contacts.code == 400 and "1000 éléments au plus" in many_contacts.shown


@pytest_twisted.ensureDeferred
async def test_a_groups_numbers_to_remove_are_bounded(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "alice")
    await browser.get("/contacts")
    numbers = [("number", str(22370000000 + n)) for n in range(1001)]
    refused = await browser.post("/contacts/groups/1/remove", numbers)
    assert refused.code == 400 and "1000 éléments au plus" in refused.shown
