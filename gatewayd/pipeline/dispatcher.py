"""Send accepted messages to their connectors, and record what the SMSCs acknowledged.

Accepted messages arrive here right after their commit (:meth:`Dispatcher.enqueue`) and wait
in an in-memory :class:`SendQueue` per connector, so the steady state reads nothing from the
database. On start, and whenever the backlog outgrew ``[pipeline] memory_limit``, the queue is
(re)filled from the database, which stays the source of truth.

Each part's submit_sm_resp is recorded on its own (group-committed), so after a crash only the
parts the SMSC had not acknowledged are sent again. A duplicate toward the SMSC is possible only
for a part that was in the SMSC's hands (sent, its response not yet committed) at the crash; see
docs/pipeline.md for the window and its measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.config import ConnectorConfig, PipelineConfig
from gatewayd.logsetup import info_enabled
from gatewayd.pipeline.holding import Holding
from gatewayd.pipeline.pacing import RETRY, Pacing
from gatewayd.pipeline.queues import TRANSACTIONAL, SendQueue, WeightOf, equal_shares
from gatewayd.pipeline.routes import ROUTING_ERRORS, source_address
from gatewayd.pipeline.smsc_ids import normalise
from gatewayd.routing.table import Routed, Unroutable
from gatewayd.services import TypedService
from gatewayd.smpp.client import ConnectorBusy, SubmitRejected
from gatewayd.smpp.concat import split
from gatewayd.status import Status
from gatewayd.storage.committer import GroupCommitter
from gatewayd.storage.database import Database
from gatewayd.storage.fair_use import FairUsePolicy
from gatewayd.storage.messages import Outbound
from gatewayd.storage.traffic import (
    PART_SENT,
    TRANSITION,
    PartSent,
    Transition,
    ensure_connectors,
    load_queued,
    queued_accounts,
)

log = Logger()


class SubmitTarget(Protocol):
    """What the dispatcher needs of an upstream connector."""

    @property
    def is_bound(self) -> bool: ...

    @property
    def config(self) -> ConnectorConfig: ...

    def has_room(self, submits: int) -> bool: ...

    def submit(
        self, fields: Mapping[str, int | bytes], tlvs: Sequence[tuple[int, bytes]] = ()
    ) -> Deferred[str]: ...


Submission = tuple[dict[str, int | bytes], tuple[tuple[int, bytes], ...]]


def submissions_for(msg: Outbound, config: ConnectorConfig) -> list[Submission]:
    """The submit_sm parameters of each part of a message, split as the connector wants. The
    split is deterministic (the concatenation reference is the message id), so a part resent
    after a restart is the same part."""
    parts = split(msg.body, config.long_messages, msg.id, config.gsm_packed)
    ton, npi = source_address(msg.sender)
    base: dict[str, int | bytes] = {
        "source_addr_ton": ton,
        "source_addr_npi": npi,
        "source_addr": msg.sender.encode("ascii"),
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": msg.destination.encode("ascii"),
        "registered_delivery": 1 if msg.registered_delivery else 0,
    }
    out: list[Submission] = []
    for seq, part in enumerate(parts, start=1):
        tlvs = tuple(part.tlvs)
        if config.dedup_tlv:
            tlvs += ((config.dedup_tlv, f"{msg.public_id}:{seq}".encode("ascii")),)
        fields = {
            **base,
            "esm_class": part.esm_class,
            "data_coding": part.data_coding,
            "short_message": part.short_message,
        }
        out.append((fields, tlvs))
    return out


@dataclass
class _Flight:
    """One message on its way: the parts still awaiting their submit_sm_resp."""

    msg: Outbound
    connector: str
    total: int
    waiting: int
    acked: set[int] = field(default_factory=set)
    smsc_ids: dict[int, str] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)


#: Told of every part recorded as sent: (connector id, normalised SMSC id). Receipts that
#: overtook their submit_sm_resp wait for this.
PartRecorded = Callable[[int, str], None]


class Router(Protocol):
    def route(self, msg: Outbound) -> Routed | Unroutable: ...

    def next_after(self, route: Routed, failed: str) -> Routed | None: ...


class Dispatcher(TypedService):
    name = "dispatcher"

    def __init__(
        self,
        db: Database,
        committer: GroupCommitter,
        connectors: Mapping[str, SubmitTarget],
        router: Router,
        clock: IReactorTime,
        config: PipelineConfig,
        on_part_recorded: PartRecorded | None = None,
        weight_of: WeightOf = equal_shares,
        pacing: Pacing | None = None,
    ) -> None:
        self._db = db
        self._committer = committer
        self._connectors = connectors
        self.router = router
        self._clock = clock
        self._config = config
        self._on_part_recorded = on_part_recorded
        self.connector_ids: dict[str, int] = {}
        #: Prepaid costs of messages the SMSC rejects are refunded under these rules.
        self.fair_use: FairUsePolicy | None = None
        self._queues: dict[str, SendQueue] = {}
        self._weight_of = weight_of
        self._pacing = pacing
        self._wakes: dict[str, IDelayedCall] = {}  # connectors whose queue is all paced
        self._pumping: set[str] = set()
        self._unrecorded = 0  # parts the SMSC acknowledged whose record is not committed yet
        self._pump_again: set[str] = set()
        # Each queued message's route, for failover after a routing error.
        self._routes: dict[int, Routed] = {}
        self._holding = Holding(config.memory_limit)
        self._flights: dict[int, _Flight] = {}
        self._in_flight: dict[str, int] = {}  # parts awaiting a response, per connector
        self._refilling: Deferred[None] | None = None
        # Connectors that just failed a submit in a retryable way: left alone until the next
        # tick, so that a link that fails at once is not hammered in a loop.
        self._resting: set[str] = set()
        self._loop = LoopingCall(self._tick)
        self._loop.clock = clock
        self.ready: Deferred[None] = Deferred()

    # --- lifecycle ---------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        d = Deferred.fromCoroutine(self._start())
        d.addErrback(lambda f: log.failure("dispatcher could not start", f))

    async def _start(self) -> None:
        names = sorted(self._connectors)
        # Updated in place: the receipt handler shares this mapping.
        self.connector_ids.update(
            await self._db.run("connectors", ensure_connectors, names, self._clock.seconds())
        )
        self._holding.spill_from(await self._db.run("queued_accounts", queued_accounts))
        await self._refill()
        backlog = len(self._holding)
        if backlog:
            log.info("recovered {n} queued message(s) from the database", n=backlog)
        self._loop.start(1.0, now=False).addErrback(
            lambda f: log.failure("dispatcher loop stopped", f)
        )
        self.ready.callback(None)
        self.pump_all()

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        if self._loop.running:
            self._loop.stop()
        for wake in self._wakes.values():
            wake.cancel()
        self._wakes.clear()
        # Whatever is in flight settles (the connectors fail what they still hold when they
        # stop, after us) and is recorded before the database goes.
        return self._committer.drain()

    # --- intake ------------------------------------------------------------------------------

    def enqueue(self, messages: Sequence[Outbound]) -> None:
        """Newly committed messages: queue them in memory, or leave them to a refill when the
        backlog is over the memory limit (transactional ones always get in)."""
        touched: set[str] = set()
        for msg in messages:
            if msg.id in self._holding:
                continue
            if msg.priority < TRANSACTIONAL and self._holding.spills(msg.account_id):
                self._holding.spill(msg)
                continue
            name = self._queue(msg)
            if name is not None:
                touched.add(name)
        for name in touched:
            self.pump(name)

    def _queue(self, msg: Outbound, *, front: bool = False) -> str | None:
        route = self._routes.get(msg.id)
        if route is None:
            decision = self.router.route(msg)
            if isinstance(decision, Unroutable):
                self._unroutable(msg, decision)
                return None
            route = self._routes[msg.id] = decision
        self._holding.remember(msg)
        self._queue_of(route.connector).push(msg, front=front)
        return route.connector

    def _queue_of(self, name: str) -> SendQueue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = SendQueue(self._weight_of)
        return queue

    def _unroutable(self, msg: Outbound, decision: Unroutable) -> None:
        """A route that was there at acceptance is gone (the rules changed): rejected."""
        log.warn(
            "{message_id} has no route any more: {reason}",
            message_id=msg.public_id,
            reason=decision.reason,
        )
        self._end(msg, Status.REJECTED, f"route:{decision.status:#010x}", self._clock.seconds())

    def resend(self, msg: Outbound, via: str) -> None:
        """A failed message goes once more, through ``via`` (its route's resend rule)."""
        connector = self._connectors.get(via)
        bound = connector is not None and connector.is_bound
        self._routes[msg.id] = Routed(via, "resend", (), None, bound)
        log.info(
            "{message_id} failed: sending it once more through {via}",
            message_id=msg.public_id,
            via=via,
        )
        name = self._queue(msg, front=True)
        if name is not None:
            self.pump(name)

    def forget(self, message_ids: Sequence[int]) -> None:
        """Messages that left the queue in the database (cancelled): drop them here too."""
        ids = set(message_ids) - set(self._flights)
        for queue in self._queues.values():
            for msg in queue.remove(ids):
                self._holding.release(msg.id)
                self._routes.pop(msg.id, None)

    def rewrite(self, message_id: int, body: str, registered_delivery: bool) -> None:
        """replace_sm changed a queued message: send the new text."""

        def change(msg: Outbound) -> Outbound:
            return replace(msg, body=body, registered_delivery=registered_delivery)

        for queue in self._queues.values():
            if queue.rewrite(message_id, change):
                return

    def depth(self) -> dict[str, int]:
        return {name: len(q) for name, q in self._queues.items()}

    # --- sending -----------------------------------------------------------------------------

    def pump_all(self) -> None:
        for name in list(self._queues):
            self.pump(name)

    def pump(self, name: str) -> None:
        """Hand queued messages to the connector while it has room. An answer that comes back
        at once (inside ``submit``) asks for another pump: it runs after this one, not inside
        it, so a long run of such answers cannot exhaust the stack."""
        if name in self._pumping:
            self._pump_again.add(name)
            return
        self._pumping.add(name)
        try:
            while True:
                self._pump_once(name)
                if name not in self._pump_again:
                    return
                self._pump_again.discard(name)
        finally:
            self._pumping.discard(name)

    def _pump_once(self, name: str) -> None:
        queue = self._queues.get(name)
        connector = self._connectors.get(name)
        if not self.running or queue is None or connector is None or not connector.is_bound:
            return
        if name in self._resting:
            return
        config = connector.config
        # Keep the connector's own FIFO short, so a transactional message queued here now is
        # not stuck behind a long bulk run already handed over.
        cap = max(2 * config.window * config.binds, 20)
        now = self._clock.seconds()
        pacing = self._pacing
        while queue and self._in_flight.get(name, 0) < cap and name not in self._resting:
            if (
                self._unrecorded >= self._config.max_unrecorded
                or self._committer.waiting > self._config.commit_max
            ):
                # The database is behind: what the SMSC acknowledged must be recorded before
                # more goes out. A crash resends every acknowledged part not yet recorded, so
                # this bounds the duplicates (docs/pipeline.md), and keeps statuses current.
                self._wake_later(name)
                break
            if pacing is None:
                msg = queue.peek()
            else:
                msg = queue.peek_eligible(lambda m: pacing.ready(m, now))
                if msg is None:
                    self._wake_later(name)
                    break
            assert msg is not None
            if msg.expires_at is not None and now >= msg.expires_at:
                queue.take(msg)
                self._expire(msg, now)
                continue
            submissions = [
                (seq, sub)
                for seq, sub in enumerate(submissions_for(msg, config), start=1)
                if seq not in msg.sent_parts
            ]
            if not connector.has_room(len(submissions)):
                break
            queue.take(msg)
            if pacing is not None:
                pacing.sent(msg, now)
            self._send(name, connector, msg, submissions)

    def _wake_later(self, name: str) -> None:
        if name not in self._wakes:
            self._wakes[name] = self._clock.callLater(RETRY, self._wake, name)

    def _wake(self, name: str) -> None:
        del self._wakes[name]
        self.pump(name)

    def _send(
        self,
        name: str,
        connector: SubmitTarget,
        msg: Outbound,
        submissions: list[tuple[int, Submission]],
    ) -> None:
        total = len(submissions) + len(msg.sent_parts)
        flight = _Flight(msg, name, total, len(submissions), set(msg.sent_parts))
        self._flights[msg.id] = flight
        self._in_flight[name] = self._in_flight.get(name, 0) + len(submissions)
        for seq, (fields, tlvs) in submissions:
            d = connector.submit(fields, tlvs)
            d.addCallbacks(
                self._acked,
                self._not_acked,
                callbackArgs=(flight, seq),
                errbackArgs=(flight,),
            )

    def _acked(self, smsc_id: str, flight: _Flight, seq: int) -> None:
        flight.acked.add(seq)
        flight.smsc_ids[seq] = smsc_id
        key = normalise(smsc_id)
        conn_id = self.connector_ids[flight.connector]
        complete = len(flight.acked) == flight.total
        now = self._clock.seconds()
        msg = flight.msg
        d = self._committer.add(
            PART_SENT, PartSent(msg.id, seq, conn_id, smsc_id, key, complete, now)
        )
        self._unrecorded += 1
        d.addErrback(
            lambda f: log.failure(
                "recording {message_id} as sent failed", f, message_id=msg.public_id
            )
        )
        d.addBoth(self._recorded)
        if self._on_part_recorded is not None:
            self._on_part_recorded(conn_id, key)
        if complete and info_enabled():
            log.info(
                "sent {message_id} on {connector} as {smsc_message_id}",
                message_id=msg.public_id,
                connector=flight.connector,
                smsc_message_id=",".join(v for _, v in sorted(flight.smsc_ids.items())),
            )
        self._part_settled(flight)

    def _recorded(self, result: object) -> None:
        self._unrecorded -= 1

    def _not_acked(self, failure: Failure, flight: _Flight) -> None:
        flight.failures.append(failure)
        self._part_settled(flight)

    def _part_settled(self, flight: _Flight) -> None:
        name = flight.connector
        self._in_flight[name] -= 1
        flight.waiting -= 1
        if flight.waiting == 0:
            del self._flights[flight.msg.id]
            if flight.failures:
                self._failed(flight)
            else:
                self._holding.release(flight.msg.id)
                self._routes.pop(flight.msg.id, None)
        self.pump(name)

    def _failed(self, flight: _Flight) -> None:
        msg, name = flight.msg, flight.connector
        rejected = next((f for f in flight.failures if f.check(SubmitRejected)), None)
        now = self._clock.seconds()
        if rejected is not None:
            status = getattr(rejected.value, "smpp_status", 0)
            if not flight.acked and self._fail_over(msg, name, status):
                return
            self._holding.release(msg.id)
            self._routes.pop(msg.id, None)
            code = f"smpp:{status:#010x}"
            if flight.acked:
                # The SMSC took some parts: the recipient gets a broken text either way.
                code = f"partial:{len(flight.acked)}/{flight.total} {code}"
            log.warn(
                "{connector} rejected {message_id}: {code}",
                connector=name,
                message_id=msg.public_id,
                code=code,
            )
            self._end(msg, Status.REJECTED, code, now, self.fair_use)
            return
        failure = flight.failures[0]
        if not failure.check(ConnectorBusy):
            log.info(
                "{message_id} not sent on {connector}, will retry: {why}",
                message_id=msg.public_id,
                connector=name,
                why=failure.getErrorMessage(),
            )
        # Not bound any more, a timeout or a lost link: back to the front of its level, with
        # the parts the SMSC did acknowledge left out of the resend.
        retry = replace(msg, sent_parts=frozenset(flight.acked))
        self._queue_of(name).push(retry, front=True)
        self._resting.add(name)

    def _fail_over(self, msg: Outbound, failed: str, status: int) -> bool:
        """A routing error from ``failed``: the route's next connector gets the message."""
        route = self._routes.get(msg.id)
        if status not in ROUTING_ERRORS or route is None:
            return False
        following = self.router.next_after(route, failed)
        if following is None:
            return False
        log.info(
            "{connector} refused {message_id} ({status:#010x}): trying {next}",
            connector=failed,
            message_id=msg.public_id,
            status=status,
            next=following.connector,
        )
        self._routes[msg.id] = following
        self._queue_of(following.connector).push(msg, front=True)
        self.pump(following.connector)
        return True

    def _expire(self, msg: Outbound, now: float) -> None:
        self._holding.release(msg.id)
        self._routes.pop(msg.id, None)
        log.info("{message_id} expired before it could be sent", message_id=msg.public_id)
        self._end(msg, Status.EXPIRED, "expired", now)

    def _end(
        self,
        msg: Outbound,
        status: Status,
        code: str,
        now: float,
        refund: FairUsePolicy | None = None,
    ) -> None:
        d = self._committer.add(TRANSITION, Transition(msg.id, status, code, now, refund))
        d.addErrback(
            lambda f: log.failure("recording {message_id} failed", f, message_id=msg.public_id)
        )

    # --- housekeeping ------------------------------------------------------------------------

    def _tick(self) -> None:
        """Once a second: binds that came up get their queues, expired messages end, and a
        spilled backlog flows back into memory."""
        self._resting.clear()
        if self._refilling is None and self._holding.wants_refill():
            self._refilling = Deferred.fromCoroutine(self._refill())
            self._refilling.addErrback(lambda f: log.failure("refill failed", f))
            self._refilling.addBoth(self._refilled)
        now = self._clock.seconds()
        for name, queue in self._queues.items():
            connector = self._connectors.get(name)
            if connector is None or not connector.is_bound:
                self._expire_front(queue, now)
        self.pump_all()

    def _expire_front(self, queue: SendQueue, now: float) -> None:
        """Messages waiting for a connector that is down still end when they expire."""
        while (msg := queue.peek()) is not None and msg.expires_at is not None:
            if now < msg.expires_at:
                return
            queue.pop()
            self._expire(msg, now)

    def refilling(self) -> Deferred[None] | None:
        """The refill from the database under way, if any (for tests and shutdown)."""
        return self._refilling

    def _refilled(self, _: object) -> None:
        self._refilling = None
        self.pump_all()

    async def _refill(self) -> None:
        """Load queued messages from the database until memory is full or none is left,
        taking turns between the accounts whose backlog spilled, oldest first within each;
        only what is not already here."""
        while steps := self._holding.refill_steps(page=1000):
            for step in steps:
                rows = await self._db.run(
                    "load_queued", load_queued, step.after, step.limit, step.account
                )
                for msg in rows:
                    if msg.id not in self._holding:
                        self._queue(msg)
                self._holding.refilled(step, rows)
