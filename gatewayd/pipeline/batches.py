"""Batch control for every channel: pause, resume and cancel, and scheduled batches coming
due. The database changes first (one transaction), then the dispatcher's queues follow."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from gatewayd.storage.batches import BatchAction, BatchChange, control_batch, release_due
from gatewayd.storage.database import Database
from gatewayd.storage.messages import Outbound

log = Logger()


class BatchControl:
    def __init__(
        self,
        db: Database,
        clock: IReactorTime,
        enqueue: Callable[[Sequence[Outbound]], None],
        forget: Callable[[Sequence[int]], None],
    ) -> None:
        self._db = db
        self._clock = clock
        self._enqueue = enqueue
        self._forget = forget

    def control(
        self, batch_id: int, account_id: int | None, action: BatchAction
    ) -> Deferred[BatchChange]:
        """``account_id`` None: the operator, any account's batch."""
        now = self._clock.seconds()
        d = self._db.run("control_batch", control_batch, batch_id, account_id, action, now)
        return d.addCallback(self._apply, action)

    def _apply(self, change: BatchChange, action: BatchAction) -> BatchChange:
        if change.forget:
            self._forget(change.forget)
        if change.enqueue:
            self._enqueue(change.enqueue)
        log.info(
            "batch {batch_id}: {action} ({n} message(s))",
            batch_id=change.batch_id,
            action=action,
            n=change.affected,
        )
        return change

    async def release_due(self) -> int:
        """Scheduled batches whose time has come go to the send queues."""
        released = await self._db.run("release_due", release_due, self._clock.seconds())
        if released:
            self._enqueue(released)
        return len(released)
