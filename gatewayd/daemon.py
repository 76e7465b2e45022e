"""``gatewayd run``: start-up checks, the reactor loop, signals and systemd notifications."""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.defer import FirstError
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.app import Gateway
from gatewayd.config import Config, load_config
from gatewayd.demo import banner, prepare_demo
from gatewayd.drain import within
from gatewayd.errors import ConfigError, GatewayError
from gatewayd.logsetup import start_logging
from gatewayd.sdnotify import Notifier, Watchdog
from gatewayd.storage.database import create_db_engine, redact
from gatewayd.storage.migrate import require_current

log = Logger()


class DatabaseUnavailable(GatewayError):
    pass


def check_database(config: Config) -> None:
    """Fail fast: the database answers and its schema is the one this release needs."""
    engine = create_db_engine(config.database)
    try:
        require_current(engine)
    except SQLAlchemyError as e:
        reason = str(e.orig if hasattr(e, "orig") and e.orig else e).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"database {redact(config.database.url)} is unreachable: {reason}"
        ) from None
    finally:
        engine.dispose()


def require_single_node(config: Config, source: str) -> None:
    """Several nodes are not available yet: the connector leases, the queue hand-over and the
    outbox claims are not built, so two nodes on one database would both send the same queue.
    Refuse rather than duplicate (docs/deployment.md, "Status")."""
    if config.cluster.enabled:
        raise ConfigError(
            source,
            "cluster.enabled",
            "several nodes are not available in this release yet; run a single node",
        )


class Daemon:
    def __init__(
        self, path: str, reactor: Any, environ: Mapping[str, str], stdout: TextIO, stderr: TextIO
    ) -> None:
        self._path = path
        self._reactor = reactor
        self._environ = environ
        self._stderr = stderr
        self.config = load_config(path, environ)
        require_single_node(self.config, path)
        self._logging = start_logging(self.config.logging, stdout)
        check_database(self.config)
        self.gateway = Gateway(self.config, reactor, path)
        self._notifier = Notifier.from_environ(environ)
        # WatchdogSec= in the unit: WATCHDOG=1 from the reactor (docs/systemd.md, "Watchdog").
        self._watchdog = Watchdog.from_environ(self._notifier, environ, reactor)
        self._banner = ""
        self._stopping = False
        self.exit_code = 0

    def run(self) -> int:
        if self.config.demo.enabled:
            creds = self.gateway.db.run_sync(
                "prepare_demo", prepare_demo, self.config.demo, self._reactor.seconds()
            )
            self._banner = banner(
                creds, _console_url(self.config), _first(self.config.smpp_server.listen)
            )
        self._reactor.callWhenRunning(self._start)
        self._reactor.addSystemEventTrigger("before", "shutdown", self._stop)
        signal.signal(signal.SIGHUP, lambda *_: self._reactor.callFromThread(self.reload))
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self._reactor.callFromThread(self.shutdown))
        # Our own handlers: a second SIGTERM (or Ctrl-C after one) must not stop twice.
        self._reactor.run(installSignalHandlers=False)
        return self.exit_code

    def shutdown(self) -> None:
        if not self._stopping:
            self._stopping = True
            log.info("shutdown requested")
            self._reactor.stop()

    def _start(self) -> None:
        if self._watchdog is not None:
            self._watchdog.start()
        self.gateway.startService()
        self.gateway.when_ready().addCallbacks(self._ready, self._failed)

    def _ready(self, _: object) -> None:
        log.info("gatewayd ready")
        self._notifier.ready("ready")
        if self._banner:
            # Straight to the terminal, never through the logger: logs must not hold secrets.
            print(self._banner, file=self._stderr, flush=True)

    def _failed(self, failure: Failure) -> None:
        if isinstance(failure.value, FirstError):  # gatherResults wraps the first failure
            failure = failure.value.subFailure
        message = failure.getErrorMessage()
        log.critical("start-up failed: {reason}", reason=message)
        print(f"gatewayd: error: {message}", file=self._stderr, flush=True)
        self.exit_code = 1
        self.shutdown()

    def _stop(self) -> Any:
        self._notifier.stopping()
        if not self.gateway.running:
            return None
        bound = self.gateway.config.daemon.drain_seconds
        started = self._reactor.seconds()
        drained = within(self.gateway.stopService(), bound, self._reactor)
        return drained.addCallback(self._drained, started, bound)

    def _drained(self, in_time: bool, started: float, bound: float) -> None:
        took = self._reactor.seconds() - started
        if in_time:
            log.info("drained in {took:.2f}s", took=took)
        else:
            # What is committed is safe: the dispatcher recovers it from the database at start.
            log.warn(
                "drain not finished after {bound}s ([daemon] drain_seconds), stopping", bound=bound
            )

    def reload(self) -> None:
        """SIGHUP: re-read the config; apply what can change live, log what changed."""
        self._notifier.reloading()
        try:
            new = load_config(self._path, self._environ)
        except GatewayError as e:
            log.error("reload refused, keeping the running config: {reason}", reason=e.message)
        else:
            notes = self.gateway.reload(new)
            self._logging.set_level(new.logging.level)
            for note in notes or ["no change"]:
                log.info("reload: {change}", change=note)
        self._notifier.ready("ready")


def _first(items: tuple[str, ...]) -> str:
    return items[0] if items else "(disabled)"


def _console_url(config: Config) -> str:
    for description in config.admin.listen:
        parts = dict(p.partition("=")[::2] for p in description.split(":")[2:])
        kind, _, rest = description.partition(":")
        if kind in ("tcp", "ssl"):
            port = rest.split(":")[0]
            host = parts.get("interface", "127.0.0.1")
            if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a URL to print, not a bind
                host = "127.0.0.1"
            scheme = "https" if kind == "ssl" else "http"
            return f"{scheme}://{host}:{port}"
    return _first(config.admin.listen)


def main_run(path: str, reactor: Any, environ: Mapping[str, str]) -> int:
    return Daemon(path, reactor, environ, sys.stdout, sys.stderr).run()
