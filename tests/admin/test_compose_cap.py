"""Web compose takes at most as many recipients as the API (MAX_RECIPIENTS): more is a clear
400 in the user's language, and nothing is sent."""

from __future__ import annotations

import pytest_twisted

from gatewayd.api.routes_messages import MAX_RECIPIENTS
from tests.admin.conftest import ConsoleRig
from tests.admin.test_messages import _batches


@pytest_twisted.ensureDeferred
async def test_compose_refuses_more_recipients_than_the_api(rig: ConsoleRig) -> None:
    assert MAX_RECIPIENTS == 100_000  # the message says so
    browser = await rig.customer("acme", "alice")
    await browser.get("/messages/new")
    numbers = "\n".join(str(22370000000 + n) for n in range(MAX_RECIPIENTS + 1))
    form = {"recipients": numbers, "text": "bonjour"}
    for path in ("/messages/confirm", "/messages"):
        refused = await browser.post(path, form)
        assert refused.code == 400, path
        assert "100 000 destinataires au plus" in refused.shown, path
    assert rig.gateway.db.run_sync("batches", _batches, "acme") == []
