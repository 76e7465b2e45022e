"""The database: engine set-up, schema checks, and transactions on a dedicated thread pool.

Store methods return Deferreds; each runs one short synchronous SQLAlchemy transaction on
this pool, so database work never blocks the reactor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from gatewayd.config import DatabaseConfig
from gatewayd.services import TypedService
from gatewayd.storage.folding import register_sqlite_functions

P = ParamSpec("P")
T = TypeVar("T")
log = Logger()


def create_db_engine(config: DatabaseConfig) -> Engine:
    """An engine for ``config.url``; SQLite gets WAL, foreign keys and a busy timeout."""
    url = make_url(config.url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": config.busy_timeout})
        _sqlite_pragmas(engine)
        return engine
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True, pool_size=max(thread_count(config), 1))


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: every commit reaches the disk before a submit is answered, so an answered
        # message survives a power cut too, not only a crash of the process (NORMAL in WAL
        # mode may lose the last commits then). The group commit pays one fsync per flush.
        cur.execute("PRAGMA synchronous=FULL")
        # 32 MiB of page cache (the default is 2 MiB): the indexes of a table of millions of
        # messages do not fit in 2 MiB, and every insert would read pages back from the OS.
        cur.execute("PRAGMA cache_size=-32768")
        cur.close()
        register_sqlite_functions(dbapi_conn)  # unicode_lower(): Unicode-aware search


def thread_count(config: DatabaseConfig) -> int:
    """0 means automatic: SQLite has one writer at a time, so one thread; others get four."""
    if config.threads:
        return config.threads
    return 1 if config.url.startswith("sqlite") else 4


def redact(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


class Database(TypedService):
    """Owns the engine and the thread pool; ``run`` executes one transaction on the pool."""

    name = "database"

    def __init__(self, engine: Engine, reactor: IReactorFromThreads, threads: int) -> None:
        self.engine = engine
        self._reactor = reactor
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._pool = ThreadPool(minthreads=1, maxthreads=threads, name="gatewayd-db")
        # Password hashing (argon2id, tens of ms each) runs here, never on the database
        # threads: a burst of binds must not hold up the group commits behind it.
        self._cpu = ThreadPool(minthreads=0, maxthreads=2, name="gatewayd-cpu")

    def startService(self) -> None:
        super().startService()
        self._pool.start()
        self._cpu.start()

    def stopService(self) -> None:
        super().stopService()
        self._cpu.stop()
        # Joins the threads: queued transactions finish before the engine is disposed.
        self._pool.stop()
        self.engine.dispose()

    def run(self, label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Deferred[T]:
        """Run ``fn(session, *args, **kwargs)`` in one transaction on the pool."""
        return deferToThreadPool(
            self._reactor, self._pool, self.run_sync, label, fn, *args, **kwargs
        )

    def offload(self, fn: Callable[..., T], *args: Any) -> Deferred[T]:
        """Run CPU-bound ``fn(*args)`` (no database) off the reactor and the database threads."""
        return deferToThreadPool(self._reactor, self._cpu, fn, *args)

    def run_sync(self, label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """The same transaction on the calling thread: for the CLI and the pool itself."""
        started = time.perf_counter()
        with self._sessions() as session, session.begin():
            result = fn(session, *args, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        if elapsed > 250:
            log.warn("slow transaction {label} took {ms:.0f} ms", label=label, ms=elapsed)
        return result

    def session(self) -> Session:
        return self._sessions()
