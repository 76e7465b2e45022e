"""/healthz and /readyz: public, and ready only with the database, the schema and every
enabled connector bound."""

from __future__ import annotations

import json

import pytest_twisted
from sqlalchemy import text

from tests.admin.conftest import Browser, ConsoleRig
from tests.admin.ops_support import until


def _bound(rig: ConsoleRig) -> bool:
    connector = rig.gateway.connectors.get("sim")
    return connector is not None and connector.running and connector.is_bound


@pytest_twisted.ensureDeferred
async def test_healthz_answers_without_a_login(rig: ConsoleRig) -> None:
    page = await Browser(rig.base).get("/healthz")
    assert page.code == 200 and page.text == "ok\n"
    assert page.headers["cache-control"] == "no-store"


@pytest_twisted.ensureDeferred
async def test_ready_when_the_connector_is_bound(any_rig: ConsoleRig) -> None:
    await until(lambda: _bound(any_rig))
    page = await Browser(any_rig.base).get("/readyz")
    assert page.code == 200, page.text
    body = json.loads(page.text)
    assert body["status"] == "ready" and body["failed"] == []
    assert body["checks"] == {"database": "pass", "schema": "pass", "connector:sim": "pass"}


@pytest_twisted.ensureDeferred
async def test_not_ready_names_a_disabled_connector(rig: ConsoleRig) -> None:
    await until(lambda: _bound(rig))
    admin = await rig.operator("olga")
    await admin.get("/admin/connectors/sim")
    assert (await admin.post("/admin/connectors/sim/disable")).code == 303
    page = await Browser(rig.base).get("/readyz")
    assert page.code == 503
    body = json.loads(page.text)
    assert body["failed"] == ["connector:sim"]
    assert body["checks"]["database"] == "pass" and body["checks"]["schema"] == "pass"
    await admin.get("/admin/connectors/sim")
    assert (await admin.post("/admin/connectors/sim/enable")).code == 303
    await until(lambda: _bound(rig))
    assert (await Browser(rig.base).get("/readyz")).code == 200


@pytest_twisted.ensureDeferred
async def test_not_ready_names_the_schema_when_it_is_not_current(rig: ConsoleRig) -> None:
    await until(lambda: _bound(rig))
    rig.gateway.db.run_sync(
        "downgrade", lambda s: s.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    )
    page = await Browser(rig.base).get("/readyz")
    assert page.code == 503
    body = json.loads(page.text)
    assert body["failed"] == ["schema"] and body["checks"]["database"] == "pass"
