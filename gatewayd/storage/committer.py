"""Group commit: many small writes, one transaction, then every caller's answer.

A submit is answered only once it is committed, yet a transaction per message would cap us at
the disk's fsync rate. Writes are queued here as (kind, item); a flush takes everything queued,
applies each run of the same kind together (one ``executemany`` per table rather than a
statement per row) in one transaction on the database thread, commits, and only then fires each
caller's Deferred. A flush starts ``max_delay`` after the first write arrives, or at once when
``max_items`` are waiting; while one flush runs the next batch accumulates, so the batch size
follows the load by itself.

If the transaction fails, each write is retried in a transaction of its own, so one bad item
fails alone and the others still commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.services import TypedService
from gatewayd.storage.database import Database

T = TypeVar("T")
R = TypeVar("R")
log = Logger()


@dataclass(frozen=True)
class WriteKind(Generic[T, R]):
    """A kind of write: ``apply(session, items)`` returns one result per item, in order.

    ``lane``: writes of different lanes may commit in separate, concurrent transactions (when
    the committer has lanes), so a kind gets a lane of its own only when no write of another
    lane can depend on it before its caller has its answer. New messages qualify: nothing
    refers to them until they are acknowledged.
    """

    name: str
    apply: Callable[[Session, Sequence[T]], Sequence[R]]
    lane: str = "main"


@dataclass
class _Pending:
    kind: WriteKind[Any, Any]
    item: Any
    deferred: Deferred[Any]


@dataclass
class CommitStats:
    flushes: int = 0
    items: int = 0
    largest: int = 0
    last_ms: float = 0.0
    total_ms: float = 0.0


class _Lane:
    """One stream of flushes: at most one in flight, the next batch accumulating."""

    def __init__(self, owner: GroupCommitter, name: str) -> None:
        self.owner = owner
        self.name = name
        self.queue: list[_Pending] = []
        self.timer: IDelayedCall | None = None
        self.flushing: Deferred[None] | None = None

    def add(self, pending: _Pending) -> None:
        self.queue.append(pending)
        owner = self.owner
        if self.flushing is None:
            if len(self.queue) >= owner.max_items or owner.max_delay <= 0:
                self.flush()
            elif self.timer is None:
                self.timer = owner.clock.callLater(owner.max_delay, self.flush)

    def drain(self) -> Deferred[None]:
        if not self.queue and self.flushing is None:
            return succeed(None)
        marker: Deferred[None] = Deferred()
        self.queue.append(_Pending(_NOTHING, None, marker))
        if self.flushing is None:
            self.flush()
        return marker

    def flush(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        size = self.owner.max_items
        batch, self.queue = self.queue[:size], self.queue[size:]
        started = time.perf_counter()
        d = self.owner.db.run(f"group_commit_{self.name}", _apply_batch, batch)
        self.flushing = d.addBoth(self._flushed, batch, started)

    def _flushed(
        self, outcome: list[tuple[bool, Any]] | Failure, batch: list[_Pending], t0: float
    ) -> None:
        self.owner.record(len(batch), (time.perf_counter() - t0) * 1000)
        self.flushing = None
        if isinstance(outcome, Failure):  # the database is unreachable: every write fails
            log.failure("group commit of {n} writes failed", outcome, n=len(batch))
            results: list[tuple[bool, Any]] = [(False, outcome)] * len(batch)
        else:
            results = outcome
        if self.queue:
            self.flush()  # what arrived meanwhile goes at once: it has waited long enough
        for pending, (ok, value) in zip(batch, results, strict=True):
            if ok:
                pending.deferred.callback(value)
            else:
                pending.deferred.errback(value)


class GroupCommitter(TypedService):
    """``lanes``: let each lane's flushes run beside the others' (PostgreSQL, with several
    connections); without, every write shares one lane (SQLite has a single writer)."""

    name = "group-commit"

    def __init__(
        self,
        db: Database,
        clock: IReactorTime,
        max_delay: float = 0.002,
        max_items: int = 2000,
        observe: Callable[[int, float], None] | None = None,
        lanes: bool = False,
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_delay = max_delay
        self.max_items = max_items
        self._observe = observe
        self._lanes_enabled = lanes
        self._lanes: dict[str, _Lane] = {}
        self.stats = CommitStats()

    def _lane(self, name: str) -> _Lane:
        key = name if self._lanes_enabled else "main"
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(self, key)
        return lane

    def add(self, kind: WriteKind[T, R], item: T) -> Deferred[R]:
        """Queue one write; fires with its result once it is committed."""
        d: Deferred[R] = Deferred()
        self._lane(kind.lane).add(_Pending(kind, item, d))
        return d

    @property
    def waiting(self) -> int:
        return sum(len(lane.queue) for lane in self._lanes.values())

    def drain(self) -> Deferred[None]:
        """Fires once everything queued so far is committed (for shutdown and tests)."""
        lanes = [lane.drain() for lane in list(self._lanes.values())]
        if not lanes:
            return succeed(None)
        d: Deferred[Any] = gatherResults(lanes, consumeErrors=True)
        return d.addCallback(lambda _: None)

    def stopService(self) -> Deferred[None]:
        super().stopService()
        return self.drain()

    def record(self, items: int, elapsed_ms: float) -> None:
        stats = self.stats
        stats.flushes += 1
        stats.items += items
        stats.largest = max(stats.largest, items)
        stats.last_ms = elapsed_ms
        stats.total_ms += elapsed_ms
        if self._observe is not None:
            self._observe(items, elapsed_ms)


_NOTHING: WriteKind[None, None] = WriteKind("nothing", lambda _s, items: [None] * len(items))


def _runs(batch: Sequence[_Pending]) -> list[tuple[WriteKind[Any, Any], list[_Pending]]]:
    """Consecutive writes of the same kind, in order: each run is applied as one."""
    runs: list[tuple[WriteKind[Any, Any], list[_Pending]]] = []
    for pending in batch:
        if runs and runs[-1][0] is pending.kind:
            runs[-1][1].append(pending)
        else:
            runs.append((pending.kind, [pending]))
    return runs


def _apply_batch(session: Session, batch: Sequence[_Pending]) -> list[tuple[bool, Any]]:
    """Runs inside the Database's transaction; a failure makes it roll back, and
    :func:`_apply_batch` is not retried here: the caller's fallback is :func:`_one_by_one`."""
    try:
        with session.begin_nested():
            results: list[tuple[bool, Any]] = []
            for kind, run in _runs(batch):
                values = kind.apply(session, [p.item for p in run])
                results.extend((True, v) for v in values)
            return results
    except Exception:
        log.failure("a group of {n} writes failed; retrying one by one", n=len(batch))
    return _one_by_one(session, batch)


def _one_by_one(session: Session, batch: Sequence[_Pending]) -> list[tuple[bool, Any]]:
    results: list[tuple[bool, Any]] = []
    for pending in batch:
        try:
            with session.begin_nested():
                results.append((True, pending.kind.apply(session, [pending.item])[0]))
        except Exception:
            results.append((False, Failure()))
    return results
