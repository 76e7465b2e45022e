"""The fleet's order runner as the daemon builds it from ``[fleet]``: the backend it names,
and e-mails through the plugins' ``notify`` hook (the built-in SMTP notifier included)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import Deferred

from gatewayd.config.model import FleetConfig
from gatewayd.fleet.orders import FleetBackend
from gatewayd.fleet.runner import OrderRunner
from gatewayd.plugins.fleet_http import http_backend
from gatewayd.plugins.fleet_local import LocalBackend
from gatewayd.plugins.host import PluginHost
from gatewayd.plugins.notify import notify
from gatewayd.storage.database import Database


def fleet_backend(reactor: Any, config: FleetConfig, source: str) -> FleetBackend:
    if config.backend == "http":
        return http_backend(reactor, config, source)
    return LocalBackend(reactor, config.delay)


def fleet_runner(
    reactor: Any, db: Database, config: FleetConfig, source: str, host: PluginHost
) -> OrderRunner:
    def send(to: Sequence[str], subject: str, body: str) -> Deferred[Any]:
        return notify(host, "email", to, subject, body)

    return OrderRunner(
        reactor,
        db,
        fleet_backend(reactor, config, source),
        send,
        reseller_email=config.reseller_email,
        interval=config.interval,
        timeout=config.timeout,
        max_attempts=config.max_attempts,
    )
