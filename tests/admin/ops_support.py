"""Waiting for the live gateway in the operator pages' tests: polls a condition while the
reactor runs (binds and receipts happen on real sockets), never asserting on elapsed time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import reactor
from twisted.internet.task import deferLater

from tests.admin.conftest import ConsoleRig


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise AssertionError("the condition did not hold in time")
        await deferLater(reactor, 0.02, lambda: None)
        waited += 0.02


async def custom_rig(url: str, extra: dict[str, Any], sim_port: int = 0) -> ConsoleRig:
    """The console's rig with more config (``extra`` merged into its tables), its simulator on
    ``sim_port`` (0: a free port)."""
    from gatewayd.app import Gateway
    from gatewayd.config import parse_config
    from gatewayd.storage.database import create_db_engine
    from gatewayd.storage.migrate import upgrade
    from tests.admin.conftest import console_config
    from tests.e2e.conftest import free_port

    upgrade(create_db_engine(parse_config({"database": {"url": url}}, "test").database))
    data = console_config(url, sim_port or free_port())
    for section, table in extra.items():
        data[section] = {**data.get(section, {}), **table}
    gateway = Gateway(parse_config(data, "test"), reactor, "test")
    gateway.startService()
    await gateway.when_ready()
    port = gateway.listening_addresses()["admin console"][0].port
    return ConsoleRig(gateway, f"http://127.0.0.1:{port}")
