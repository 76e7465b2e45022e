"""The retention job: every ``[retention] interval`` it purges what is older than configured,
in transactions of ``batch_size`` rows on the database thread, yielding to the reactor
between two, so traffic never waits behind one long delete (docs/operations.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.logger import Logger

from gatewayd.config.model import RetentionConfig
from gatewayd.services import TypedService
from gatewayd.storage import retention as store
from gatewayd.storage.database import Database

log = Logger()


@dataclass
class PurgeReport:
    """Rows deleted per table, and the transactions each table took."""

    deleted: dict[str, int] = field(default_factory=dict)
    transactions: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, done: dict[str, int]) -> None:
        self.transactions[table] = self.transactions.get(table, 0) + 1
        for name, n in done.items():
            self.deleted[name] = self.deleted.get(name, 0) + n


def retention_days(config: RetentionConfig) -> dict[str, int]:
    return {k: v for k, v in asdict(config).items() if k.endswith("_days")}


def purge_sync(db: Database, config: RetentionConfig, now: float) -> PurgeReport:
    """The job's purge on the calling thread (``gatewayd db purge``)."""
    report = PurgeReport()
    for cut in store.cutoffs(retention_days(config), now):
        while True:
            done = db.run_sync("retention", store.purge_batch, cut, config.batch_size)
            report.add(cut.table, done)
            if done[cut.table] < config.batch_size:
                break
    return report


def dry_run_sync(db: Database, config: RetentionConfig, now: float) -> dict[str, int]:
    """What :func:`purge_sync` would delete, per table."""
    out: dict[str, int] = {}
    for cut in store.cutoffs(retention_days(config), now):
        out.update(db.run_sync("retention count", store.count_purgeable, cut))
    return out


class RetentionJob(TypedService):
    """Runs :meth:`run_once` every ``config.interval`` seconds on the injected reactor."""

    name = "retention"

    def __init__(self, db: Database, reactor: Any, config: RetentionConfig) -> None:
        self._db, self._reactor, self._config = db, reactor, config
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = reactor
        self.last_report: PurgeReport | None = None  # of the latest run, for tests

    def _tick(self) -> Deferred[Any]:
        d = Deferred.fromCoroutine(self.run_once())
        return d.addErrback(lambda f: log.failure("retention failed", f))

    async def run_once(self) -> PurgeReport:
        now = self._reactor.seconds()
        report = PurgeReport()
        for cut in store.cutoffs(retention_days(self._config), now):
            while True:
                done = await self._db.run(
                    "retention", store.purge_batch, cut, self._config.batch_size
                )
                report.add(cut.table, done)
                if done[cut.table] < self._config.batch_size:
                    break
                # Let the reactor serve traffic (and other transactions) between two batches.
                await task.deferLater(self._reactor, 0, lambda: None)
        if any(report.deleted.values()):
            log.info("retention purged {deleted}", deleted=report.deleted)
        self.last_report = report
        return report

    def startService(self) -> None:
        super().startService()
        self._loop.start(self._config.interval, now=False)

    def stopService(self) -> Any:
        if self._loop.running:
            self._loop.stop()
        return super().stopService()
