"""The fleet's order runner as the daemon builds it from ``[fleet]``: the backend it names
(local, http, or the plugins' ``fleet_backend`` hook),
and e-mails through the plugins' ``notify`` hook (the built-in SMTP notifier included)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import Deferred

from gatewayd.config.model import FleetConfig
from gatewayd.fleet.orders import FleetBackend, Order, OrderResult, failed
from gatewayd.fleet.runner import OrderRunner
from gatewayd.plugins.fleet_http import http_backend
from gatewayd.plugins.fleet_local import LocalBackend
from gatewayd.plugins.hooks import FLEET_BACKEND
from gatewayd.plugins.host import PluginHost
from gatewayd.plugins.notify import notify
from gatewayd.storage.database import Database

#: Why an order fails when no plugin took it (English msgid).
NO_PLUGIN = "No fleet plugin carried out the order."


class HookBackend:
    """``backend = "plugin"``: the plugins' ``fleet_backend`` hook (first answer wins, fails
    closed, docs/plugins.md); a plugin receives the :class:`Order` and answers an
    :class:`OrderResult`, or None to leave it to the next plugin."""

    name = "plugin"

    def __init__(self, host: PluginHost) -> None:
        self._host = host

    async def execute(self, order: Order) -> OrderResult:
        answer = await self._host.first(FLEET_BACKEND, order)
        if answer is None:
            return failed(NO_PLUGIN)
        if not isinstance(answer, OrderResult):
            raise TypeError(f"a fleet_backend plugin answered {answer!r}")
        return answer


def fleet_backend(
    reactor: Any, config: FleetConfig, source: str, host: PluginHost | None = None
) -> FleetBackend:
    if config.backend == "http":
        return http_backend(reactor, config, source)
    if config.backend == "plugin" and host is not None:
        return HookBackend(host)
    return LocalBackend(reactor, config.delay)


def fleet_runner(
    reactor: Any, db: Database, config: FleetConfig, source: str, host: PluginHost
) -> OrderRunner:
    def send(to: Sequence[str], subject: str, body: str) -> Deferred[Any]:
        return notify(host, "email", to, subject, body)

    return OrderRunner(
        reactor,
        db,
        fleet_backend(reactor, config, source, host),
        send,
        reseller_email=config.reseller_email,
        interval=config.interval,
        timeout=config.timeout,
        max_attempts=config.max_attempts,
    )
