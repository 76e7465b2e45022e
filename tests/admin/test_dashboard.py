"""The operator's dashboard and its JSON: throughput, queue depth per connector, the delivery
rate of the last hour and the errors, from a real gateway sending to its simulator."""

from __future__ import annotations

import json

import pytest_twisted
from sqlalchemy import update

from gatewayd.pipeline.submission import SubmitRequest
from gatewayd.storage.models import Message
from tests.admin.conftest import Browser, ConsoleRig
from tests.admin.ops_support import until


async def _board(browser: Browser) -> dict[str, object]:
    answer = await browser.get("/admin/dashboard.json")
    assert answer.code == 200 and answer.headers["content-type"] == "application/json"
    found: dict[str, object] = json.loads(answer.body)
    return found


def _delivered(rig: ConsoleRig) -> int:
    return int(
        rig.gateway.db.run_sync(
            "count",
            lambda s: s.query(Message).filter(Message.status == "delivered").count(),
        )
    )


@pytest_twisted.ensureDeferred
async def test_the_dashboard_page_works_without_script_and_loads_its_own(rig: ConsoleRig) -> None:
    viewer = await rig.operator("vera", role="viewer")
    page = await viewer.get("/admin")
    assert page.code == 200 and "Tableau de bord" in page.text
    assert 'data-connector="sim"' in page.text and "Taux de remise" in page.text
    assert '<script src="/static/dashboard.js" defer></script>' in page.text
    assert page.text.count("<script") == 1  # nothing inline (CSP default-src 'self')
    assert (await viewer.get("/static/dashboard.js")).code == 200
    customer = await rig.customer("acme", "alice")
    assert (await customer.get("/admin")).code == 404
    assert (await customer.get("/admin/dashboard.json")).code == 404
    assert (await Browser(rig.base).get("/admin/dashboard.json")).code == 303


@pytest_twisted.ensureDeferred
async def test_figures_follow_the_traffic(any_rig: ConsoleRig) -> None:
    await any_rig.customer("acme", "alice")
    account = await any_rig.gateway.accounts.account_by_name("acme")
    admin = await any_rig.operator("olga")
    await until(lambda: any_rig.gateway.connectors["sim"].is_bound)
    empty = await _board(admin)
    assert empty["accepted_last_minute"] == 0 and empty["delivery_rate"] is None
    for n in range(4):
        await any_rig.gateway.submissions.submit(
            SubmitRequest(account, None, "cli", [f"2237660000{n}"], "hi")
        )
    await until(lambda: _delivered(any_rig) == 4)
    board = await _board(admin)
    assert board["accepted_last_minute"] == 4 and board["delivery_rate"] == 100.0
    assert isinstance(board["sending_per_second"], float) and board["sending_per_second"] > 0
    any_rig.gateway.db.run_sync(
        "fail",
        lambda s: s.execute(
            update(Message)
            .where(Message.destination == "22376600000")
            .values(status="undeliverable", error_code="0x0000000B")
        ),
    )
    failed = await _board(admin)
    assert failed["delivery_rate"] == 75.0
    assert failed["errors"] == [{"code": "0x0000000B", "messages": 1}]
    page = await admin.get("/admin")
    assert "0x0000000B" in page.text and "75.0" in page.text


@pytest_twisted.ensureDeferred
async def test_queue_depth_per_connector(rig: ConsoleRig) -> None:
    await rig.customer("acme", "alice")
    account = await rig.gateway.accounts.account_by_name("acme")
    admin = await rig.operator("olga")
    await admin.get("/admin/connectors/sim")
    assert (await admin.post("/admin/connectors/sim/disable")).code == 303
    for n in range(3):
        await rig.gateway.submissions.submit(
            SubmitRequest(account, None, "cli", [f"2237660000{n}"], "hi")
        )
    board = await _board(admin)
    connectors = board["connectors"]
    assert isinstance(connectors, list)
    assert connectors == [
        {"name": "sim", "state": "stopped", "queue": 3, "tps": 0.0, "last_error": None}
    ]
    await admin.get("/admin/connectors/sim")
    assert (await admin.post("/admin/connectors/sim/enable")).code == 303
    await until(lambda: _delivered(rig) == 3)
    drained = await _board(admin)
    assert isinstance(drained["connectors"], list) and drained["connectors"][0]["queue"] == 0
