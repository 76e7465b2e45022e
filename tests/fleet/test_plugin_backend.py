"""``[fleet] backend = "plugin"``: orders go to the plugins' fleet_backend hook."""

from __future__ import annotations

import pytest_twisted
from twisted.internet.task import Clock

from gatewayd.config.model import FleetConfig
from gatewayd.fleet.orders import Order, OrderLine, OrderResult, OrderState, done
from gatewayd.fleet.wiring import NO_PLUGIN, HookBackend, fleet_backend
from gatewayd.plugins.host import Plugin, PluginHost


class Operator:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def fleet_backend(self, order: Order) -> OrderResult | None:
        self.seen.append(order.number)
        return done() if order.action == "suspend" else None


def _order(action: str) -> Order:
    line = OrderLine(1, "33600000001", "8933", "Awa", "C-1")
    return Order(1, "CMD-2026-000001", 1, None, action, {}, OrderState.IN_PROGRESS, (line,), 0.0)


@pytest_twisted.ensureDeferred
async def test_the_first_plugin_answer_is_the_result() -> None:
    operator = Operator()
    host = PluginHost([Plugin("op", operator, "tests")], Clock())
    backend = fleet_backend(Clock(), FleetConfig(backend="plugin"), "t.toml", host)
    assert isinstance(backend, HookBackend)
    assert (await backend.execute(_order("suspend"))).ok
    refused = await backend.execute(_order("rename"))
    assert not refused.ok and refused.reason == NO_PLUGIN
    assert operator.seen == ["CMD-2026-000001"] * 2
