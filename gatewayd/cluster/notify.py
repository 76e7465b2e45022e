"""PostgreSQL LISTEN/NOTIFY for the nodes of a cluster.

:class:`PgNotifications` keeps one dedicated psycopg connection (not from the pool) in a
thread of its own that LISTENs to every subscribed channel and hands each payload to the
subscribers on the reactor. After every (re)connect each subscriber is called with the empty
payload "": notifications may have been missed meanwhile, so rescan.

:func:`notify` sends one in the caller's transaction; PostgreSQL delivers it on commit.

Channels: ``gatewayd_queue`` (payload: the target node's name) and ``gatewayd_outbox``
(payload: an account id).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from twisted.logger import Logger

from gatewayd.services import TypedService

log = Logger()

QUEUE = "gatewayd_queue"
OUTBOX = "gatewayd_outbox"

Callback = Callable[[str], None]


def notify(s: Session, channel: str, payload: str) -> None:
    """NOTIFY ``channel`` with ``payload``, delivered when the caller's transaction commits."""
    s.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
    )


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgNotifications(TypedService):
    name = "cluster-notifications"

    #: How long the listening thread waits for a notification before looking at its flags.
    POLL = 0.5
    #: Pause before reconnecting after the connection failed.
    RETRY = 2.0

    def __init__(self, url: str, reactor: Any) -> None:
        self._dsn = _dsn(url)
        self._reactor = reactor
        self._subscribers: dict[str, list[Callback]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set by the thread once it listens (for tests).
        self.listening = threading.Event()

    def subscribe(self, channel: str, callback: Callback) -> None:
        """``callback(payload)`` on the reactor for every NOTIFY on ``channel`` (and "" after a
        (re)connect). May be called before or after the service starts."""
        with self._lock:
            self._subscribers.setdefault(channel, []).append(callback)

    def startService(self) -> None:
        super().startService()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gatewayd-listen", daemon=True)
        self._thread.start()

    def stopService(self) -> None:
        super().stopService()
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(self.POLL * 4)

    # --- the listening thread ----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as e:  # a lost connection: reconnect, subscribers rescan
                self.listening.clear()
                if self._stop.is_set():
                    return
                log.warn("cluster notifications: {error}; reconnecting", error=str(e))
                self._stop.wait(self.RETRY)

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            listened: set[str] = set()
            while not self._stop.is_set():
                with self._lock:
                    fresh = [c for c in self._subscribers if c not in listened]
                for channel in fresh:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    listened.add(channel)
                    self._deliver(channel, "")
                self.listening.set()
                for n in conn.notifies(timeout=self.POLL):
                    self._deliver(n.channel, n.payload)

    def _deliver(self, channel: str, payload: str) -> None:
        with self._lock:
            callbacks = list(self._subscribers.get(channel, ()))
        for callback in callbacks:
            self._reactor.callFromThread(self._call, callback, payload)

    @staticmethod
    def _call(callback: Callback, payload: str) -> None:
        try:
            callback(payload)
        except Exception:
            log.failure("a notification subscriber failed")
