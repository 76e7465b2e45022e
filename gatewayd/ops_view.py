"""The console's :class:`~gatewayd.admin.operations.Operations` over the running ``Gateway``.

It is also a service: at start, and every ``[pipeline] sweep_interval`` after that, it applies
the connectors and plans kept in the database (added or edited from the console, by this node
or another), as the gateway does for the database's routing rules.

Console connectors add to the config file's: the console cannot take a config connector's name,
and a config connector is changed in the file. Enabling, disabling and reconnecting work on
every connector, live; for a config connector the change lasts until the next start (the file
says whether it starts), for a console connector it is kept in its spec.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gatewayd.admin.operations import BindView, ConnectorView, Origin
from gatewayd.config import ConnectorConfig
from gatewayd.config._schema import parse
from gatewayd.config.policy import fair_use_policy
from gatewayd.errors import ConfigError, NotFound
from gatewayd.routing.acceptance import Acceptance
from gatewayd.services import TypedService
from gatewayd.smpp.client import UpstreamConnector
from gatewayd.storage.fair_use import FairUsePolicy
from gatewayd.storage.operations import StoredSpec, console_connectors, console_plans
from gatewayd.storage.traffic import ensure_connectors

if TYPE_CHECKING:
    from gatewayd.app import Gateway

log = Logger()
#: Where a console connector's or plan's errors say they come from.
CONSOLE_SOURCE = "console"


def connector_from_spec(name: str, spec: Mapping[str, Any]) -> ConnectorConfig:
    """A console connector's spec checked exactly as the config file's ``[connectors.NAME]``
    table: the same parser, the same errors, naming the same key."""
    config = parse(ConnectorConfig, spec, CONSOLE_SOURCE, f"connectors.{name}")
    if config.password and config.password_file:
        key = f"connectors.{name}.password_file"
        raise ConfigError(CONSOLE_SOURCE, key, "set password or password_file, not both")
    return config


def checked_connector(name: str, spec: Mapping[str, Any], secrets_dir: str) -> ConnectorConfig:
    """:func:`connector_from_spec`, and its password file readable, as at start, and in
    ``secrets_dir`` (``[admin] connector_secrets_dir``). Blocking: run it off the reactor."""
    from gatewayd.app import connector_password

    config = connector_from_spec(name, spec)
    connector_password(name, config, CONSOLE_SOURCE, secrets_dir)
    return config


class GatewayOperations(TypedService):
    def __init__(self, gateway: Gateway) -> None:
        self.setName("console-operations")
        self._gateway = gateway
        self._console: dict[str, float] = {}  # console connector -> the spec's version applied
        self._plans: tuple[tuple[str, float], ...] = ()
        self._policy: FairUsePolicy | None = gateway.submissions.fair_use
        self._loop = LoopingCall(self._sync)
        self._loop.clock = gateway._reactor

    # -- the service ------------------------------------------------------------------------
    def startService(self) -> None:
        super().startService()
        self._loop.start(self._gateway.config.pipeline.sweep_interval, now=True)

    def stopService(self) -> None:
        super().stopService()
        if self._loop.running:
            self._loop.stop()

    def _sync(self) -> Deferred[None]:
        d = Deferred.fromCoroutine(self.sync())
        return d.addErrback(lambda f: log.failure("console connectors and plans not applied", f))

    async def sync(self) -> None:
        """Apply the database's console connectors and plans that changed."""
        db = self._gateway.db
        for stored in await db.run("console_connectors", console_connectors):
            if self._console.get(stored.name) != stored.updated_at:
                await self._apply_connector(stored)
        await self._apply_plans(await db.run("console_plans", console_plans))

    async def _apply_connector(self, stored: StoredSpec) -> None:
        name = stored.name
        if name in self._gateway.config.connectors:
            log.error("console connector {name} ignored: the config file has one", name=name)
            self._console[name] = stored.updated_at
            return
        try:
            config = connector_from_spec(name, stored.spec)
        except ConfigError as error:  # checked on the way in; a bad row must not stop the rest
            log.error("console connector ignored: {error}", error=str(error))
            self._console[name] = stored.updated_at
            return
        self._console[name] = stored.updated_at
        secrets_dir = self._gateway.config.admin.connector_secrets_dir
        try:
            await self.put_connector(name, config, secrets_dir)
        except ConfigError as error:  # its password file gone, or out of the secrets dir
            log.error("console connector not started: {error}", error=str(error))

    async def _apply_plans(self, stored: list[StoredSpec]) -> None:
        version = tuple((p.name, p.updated_at) for p in stored)
        submissions = self._gateway.submissions
        if version == self._plans and submissions.fair_use is self._policy:
            return  # nothing new, and no config reload replaced the policy
        config = self._gateway.config
        plans = {**config.plans, **{p.name: p.spec for p in stored}}
        try:
            policy = fair_use_policy(dataclasses.replace(config, plans=plans), CONSOLE_SOURCE)
        except ConfigError as error:
            log.error("plans edited from the console ignored: {error}", error=str(error))
            return
        self._plans = version
        if submissions.fair_use is None and not stored:
            return
        self._policy = submissions.fair_use = self._gateway.dispatcher.fair_use = policy

    # -- Operations: connectors -----------------------------------------------------------
    def _origin(self, name: str) -> Origin:
        return "config" if name in self._gateway.config.connectors else "console"

    def config_connectors(self) -> Mapping[str, ConnectorConfig]:
        return self._gateway.config.connectors

    def connectors(self) -> list[ConnectorView]:
        names = [*sorted(self._gateway.config.connectors), *sorted(self._console)]
        found = (self.connector(name) for name in dict.fromkeys(names))
        return [view for view in found if view is not None]

    def connector(self, name: str) -> ConnectorView | None:
        live = self._gateway.connectors.get(name)
        if live is None:
            config = self._gateway.config.connectors.get(name)
            if config is None:
                return None
            return ConnectorView(
                name, "config", config, False, "stopped", 0.0, config.tps, 0, 0, 0, None, ()
            )
        status = live.status()
        binds = tuple(
            BindView(b.index, b.state, b.since, b.window_used, b.window_size, b.tps, b.last_error)
            for b in status.binds
        )
        bound = live.running and live.is_bound
        state = "bound" if bound else (binds[0].state if binds and live.running else "stopped")
        errors = [b.last_error for b in binds if b.last_error]
        waiting = self._gateway.dispatcher.depth().get(name, 0) + status.queued + status.retrying
        return ConnectorView(
            name,
            self._origin(name),
            live.config,
            bool(live.running),
            state,
            sum(b.tps for b in binds),
            status.tps_limit,
            sum(b.window_used for b in binds),
            sum(b.window_size for b in binds),
            waiting,
            errors[0] if errors else None,
            binds,
        )

    def _live(self, name: str) -> UpstreamConnector:
        live = self._gateway.connectors.get(name)
        if live is None:
            raise NotFound("no such connector")
        return live

    async def set_enabled(self, name: str, enabled: bool) -> None:
        if name not in self._gateway.connectors and name in self._gateway.config.connectors:
            if enabled:  # enabled = false in the file: it was never built
                config = self._gateway.config.connectors[name]
                await self.put_connector(name, dataclasses.replace(config, enabled=True))
            return
        live = self._live(name)
        if enabled and live.parent is None:
            live.setServiceParent(self._gateway)  # starts it
            self._gateway.dispatcher.pump(name)
        elif enabled and not live.running:
            live.startService()
            self._gateway.dispatcher.pump(name)
        elif not enabled and live.running:
            await live.stopService()

    async def reconnect(self, name: str) -> None:
        live = self._live(name)
        if live.parent is None:
            return  # disabled: nothing to reconnect
        if live.running:
            await live.stopService()
        live.startService()
        self._gateway.dispatcher.pump(name)

    async def put_connector(
        self, name: str, config: ConnectorConfig, secrets_dir: str | None = None
    ) -> None:
        from gatewayd.app import connector_password

        gateway = self._gateway
        source = gateway._source if secrets_dir is None else CONSOLE_SOURCE
        # On a thread, and before the old one goes.
        password = await gateway.db.offload(connector_password, name, config, source, secrets_dir)
        old = gateway.connectors.pop(name, None)
        if old is not None and old.parent is not None:
            await old.disownServiceParent()  # type: ignore[no-untyped-call]
        connector = UpstreamConnector(
            name, config, gateway._reactor, password, gateway.receipts.on_deliver
        )
        ids = await gateway.db.run(
            "connectors", ensure_connectors, [name], gateway._reactor.seconds()
        )
        gateway._connector_ids.update(ids)
        gateway.connectors[name] = connector
        if config.enabled:  # else kept out of the service tree until it is enabled
            connector.setServiceParent(gateway)
        gateway.dispatcher.pump(name)

    def name_taken(self, name: str) -> bool:
        try:
            self._gateway.getServiceNamed(name)  # type: ignore[no-untyped-call]
        except KeyError:
            return name in self._gateway.config.connectors or name in self._gateway.connectors
        return True

    # -- Operations: routes, plans, figures -------------------------------------------------
    async def reload_routes(self) -> None:
        await self._gateway._reload_route_rules()

    def acceptance(self) -> Acceptance:
        return self._gateway.acceptance

    def config_rules(self) -> tuple[Mapping[str, Any], ...]:
        return self._gateway.config.routing.rules

    def default_connector(self) -> str | None:
        return self._gateway.config.routing.default_connector or None

    def config_plans(self) -> Mapping[str, Mapping[str, Any]]:
        return self._gateway.config.plans

    def fair_use(self) -> FairUsePolicy | None:
        return self._gateway.submissions.fair_use

    def config_source(self) -> str:
        return self._gateway._source

    def throughput(self) -> float:
        return sum(view.tps for view in self.connectors())

    def queue_depths(self) -> dict[str, int]:
        return {view.name: view.queue_depth for view in self.connectors()}
