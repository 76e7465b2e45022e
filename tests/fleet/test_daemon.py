"""The order runner inside a whole gatewayd (the console rig on SQLite): [fleet] builds the
local backend, and an order is carried out and applied."""

from __future__ import annotations

import pytest_twisted

from gatewayd.plugins.fleet_local import LocalBackend
from gatewayd.storage import fleet as store
from gatewayd.storage import fleet_orders as ops
from tests.admin.conftest import start_rig


@pytest_twisted.ensureDeferred
async def test_the_daemon_runs_fleet_orders_with_the_configured_backend(tmp_path: object) -> None:
    rig = await start_rig(
        f"sqlite:///{tmp_path}/gatewayd.db", {"fleet": {"delay": 0.0, "interval": 3600.0}}
    )
    try:
        runner = rig.gateway.fleet_runner
        assert isinstance(runner.backend, LocalBackend) and runner.backend.delay == 0.0
        db = rig.gateway.db
        now = rig.gateway._reactor.seconds()
        account = await rig.gateway.accounts.create_account("Fleet Co", "customer", now)
        db.run_sync("p", ops.add_plan, "u10", "Unlimited 10 GB", "unlimited", False, 10240, now)
        line = db.run_sync(
            "l", ops.add_line, "Fleet Co", "33600000009", "89330000000000000009", "u10", now
        )
        order = db.run_sync("o", store.order_action, account.id, None, [line], "suspend", {}, now)
        await runner.tick()
        await runner.settled()
        assert db.run_sync("g", store.get_order, account.id, order.id).state == "done"
        assert db.run_sync("g", store.get_line, account.id, line).state == "suspended"
    finally:
        await rig.gateway.stopService()
