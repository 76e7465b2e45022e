"""The composition root: builds every component from the config and wires the service tree.

Nothing else builds the world. Leaf components take their dependencies (store, clock,
config section) as constructor arguments; the reactor comes in from ``__main__``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import Logger
from twisted.web.server import Site

from gatewayd.admin.console import Console
from gatewayd.admin.control import ControlApi
from gatewayd.admin.rendering import make_environment
from gatewayd.config import Config, ConnectorConfig, diff_config
from gatewayd.errors import ConfigError
from gatewayd.listeners import ListenerService
from gatewayd.pipeline.dispatcher import Dispatcher
from gatewayd.pipeline.receipts import ReceiptHandler
from gatewayd.pipeline.smpp_ingress import SmppMessages
from gatewayd.pipeline.submission import Submissions
from gatewayd.routing.router import StaticRouter
from gatewayd.services import TypedMultiService, TypedService
from gatewayd.smpp.client import UpstreamConnector
from gatewayd.smpp.server import SmppServerFactory
from gatewayd.smpp.simulator import SimulatorFactory
from gatewayd.storage.accounts import AccountStore
from gatewayd.storage.database import Database, create_db_engine, thread_count
from gatewayd.storage.messages import MessageStore
from gatewayd.storage.websessions import WebSessionStore

log = Logger()


def connector_password(name: str, conf: ConnectorConfig, source: str) -> str:
    """The bind password: inline, or read from a file (systemd LoadCredential=)."""
    if not conf.password_file:
        return conf.password
    key = f"connectors.{name}.password_file"
    try:
        return Path(conf.password_file).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigError(source, key, f"cannot read {conf.password_file}: {e.strerror}") from None


class _OnStop(TypedService):
    """Runs a callable at stop time; placed first so that it runs after the listeners stop."""

    def __init__(self, name: str, on_stop: Callable[[], Deferred[Any] | None]) -> None:
        self.setName(name)
        self._on_stop = on_stop

    def stopService(self) -> Deferred[Any] | None:
        super().stopService()
        return self._on_stop()


class Gateway(TypedMultiService):
    """The daemon's service tree. Children start in order and stop in reverse order."""

    def __init__(self, config: Config, reactor: Any, source: str) -> None:
        super().__init__()
        self.config = config
        self._reactor = reactor
        self._source = source
        self._listeners: list[ListenerService] = []
        self.db = Database(
            create_db_engine(config.database), reactor, thread_count(config.database)
        )
        self.db.setServiceParent(self)
        self.accounts = AccountStore(self.db)
        self.messages = MessageStore(self.db)
        self.sessions = WebSessionStore(self.db)
        self.router = StaticRouter(config.routing.default_connector)
        self._build_simulator()
        self.receipts = ReceiptHandler(self.messages, reactor)
        self.connectors = self._build_connectors()
        self.dispatcher = Dispatcher(self.messages, self.connectors, self.router, reactor)
        self.submissions = Submissions(self.messages, reactor, self.dispatcher.wake)
        self.dispatcher.setServiceParent(self)
        self._build_smpp_server()
        self._build_web()

    # -- builders ---------------------------------------------------------------------------
    def _listen(self, label: str, description: str, factory: Any) -> None:
        listener = ListenerService(label, description, factory, self._reactor)
        listener.setServiceParent(self)
        self._listeners.append(listener)

    def _build_simulator(self) -> None:
        sim = self.config.simulator
        if not sim.enabled:
            return
        factory = SimulatorFactory.from_config(self._reactor, sim)
        _OnStop("simulator-timers", lambda: factory.stop()).setServiceParent(self)
        self._listen("SMSC simulator", sim.listen, factory)

    def _build_connectors(self) -> dict[str, UpstreamConnector]:
        connectors = {}
        for name, conf in self.config.connectors.items():
            if not conf.enabled:
                continue
            password = connector_password(name, conf, self._source)
            connector = UpstreamConnector(
                name, conf, self._reactor, password, self.receipts.on_deliver
            )
            connector.setServiceParent(self)
            connectors[name] = connector
        return connectors

    def _build_smpp_server(self) -> None:
        messages = SmppMessages(self.accounts, self.messages, self.submissions, self._reactor)
        factory = SmppServerFactory(
            self.config.smpp_server,
            self._reactor,
            messages.authenticate,
            messages,
            policy=messages,
        )
        _OnStop("smpp-unbind", factory.unbind_all).setServiceParent(self)
        for description in self.config.smpp_server.listen:
            self._listen("SMPP server", description, factory)

    def _build_web(self) -> None:
        console = Console(
            self.accounts,
            self.sessions,
            self.messages,
            self.submissions,
            make_environment(),
            self._reactor,
            self.config.admin,
        )
        site = _site(console.resource())
        for description in self.config.admin.listen:
            self._listen("admin console", description, site)
        control = ControlApi(self.accounts, self.messages, self.submissions)
        path = self.config.control.socket
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            control_site = _site(control.resource())
            self._listen("control API", f"unix:{_escape(path)}:mode=600:lockfile=1", control_site)

    # -- lifecycle --------------------------------------------------------------------------
    def when_ready(self) -> Deferred[Any]:
        """Fires when every listener is up; fails with the first listener that could not."""
        d: Deferred[Any] = gatherResults(
            [ls.listening for ls in self._listeners], consumeErrors=True
        )
        return d

    def listening_addresses(self) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        for listener in self._listeners:
            port = listener.listening.result if listener.listening.called else None
            if port is not None and hasattr(port, "getHost"):
                found.setdefault(listener.label, []).append(port.getHost())
        return found

    def reload(self, new: Config) -> list[str]:
        """Apply what can change live; returns the changed keys and what each needs."""
        changes = diff_config(self.config, new)
        if not changes:
            return []
        notes = []
        for key in changes:
            if key == "routing.default_connector":
                self.router = StaticRouter(new.routing.default_connector)
                self.dispatcher.router = self.router
                notes.append(f"{key}: applied")
            elif key == "logging.level":
                notes.append(f"{key}: applied")
            else:
                notes.append(f"{key}: needs a restart")
        self.config = new
        return notes

    def stopService(self) -> Deferred[Any]:
        log.info("stopping: closing listeners, finishing in-flight work, unbinding sessions")
        d: Deferred[Any] = Deferred.fromCoroutine(_stopped(super().stopService()))
        return d


async def _stopped(d: Deferred[Any] | None) -> None:
    if d is not None:
        await d


def _site(resource: Any) -> Site:
    site = Site(resource)
    site.displayTracebacks = False
    site.noisy = False
    return site


def _escape(path: str) -> str:
    return path.replace("\\", "\\\\").replace(":", "\\:")
