"""Send queued messages to their connectors, and apply the receipts that come back.

One pass reads the oldest queued messages, routes each, splits it as its connector wants and
offers every part to the connector, whose window, TPS and retry table pace them. Messages
whose connector is not bound, or full, stay queued for a later pass. Priorities and crash
recovery come with the pipeline issue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.config import ConnectorConfig
from gatewayd.routing.router import StaticRouter
from gatewayd.services import TypedService
from gatewayd.smpp.client import ConnectorBusy, SubmitRejected
from gatewayd.smpp.concat import split
from gatewayd.status import Status
from gatewayd.storage.messages import MessageStore, Outbound

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
    """The submit_sm parameters of each part of a message, split as the connector wants."""
    parts = split(msg.body, config.long_messages, msg.id, config.gsm_packed)
    numeric = msg.sender.isdigit()
    base: dict[str, int | bytes] = {
        "source_addr_ton": 1 if numeric else (5 if msg.sender else 0),
        "source_addr_npi": 1 if numeric else 0,
        "source_addr": msg.sender.encode("ascii"),
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": msg.destination.encode("ascii"),
        "registered_delivery": 1 if msg.registered_delivery else 0,
    }
    return [
        (
            {
                **base,
                "esm_class": part.esm_class,
                "data_coding": part.data_coding,
                "short_message": part.short_message,
            },
            tuple(part.tlvs),
        )
        for part in parts
    ]


class Dispatcher(TypedService):
    name = "dispatcher"

    def __init__(
        self,
        store: MessageStore,
        connectors: Mapping[str, SubmitTarget],
        router: StaticRouter,
        clock: IReactorTime,
        poll_interval: float = 1.0,
        batch_size: int = 200,
    ) -> None:
        self._store = store
        self._connectors = connectors
        self.router = router
        self._clock = clock
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._in_flight: dict[int, Deferred[Any]] = {}
        self._loop = LoopingCall(self.pump)
        self._loop.clock = clock
        self._pass: Deferred[None] | None = None
        self._again = False
        self._wake_call: IDelayedCall | None = None

    def startService(self) -> None:
        super().startService()
        self._loop.start(self._poll_interval, now=True).addErrback(
            lambda f: log.failure("dispatcher loop stopped", f)
        )

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        if self._loop.running:
            self._loop.stop()
        if self._wake_call is not None and self._wake_call.active():
            self._wake_call.cancel()
        pending = list(self._in_flight.values()) + ([self._pass] if self._pass else [])
        return DeferredList(pending, consumeErrors=True)

    def wake(self) -> None:
        """New messages were accepted: run a pass soon, without waiting for the poll."""
        if self.running and (self._wake_call is None or not self._wake_call.active()):
            self._wake_call = self._clock.callLater(0, self.pump)

    def pump(self) -> Deferred[None] | None:
        if self._pass is not None:
            self._again = True  # a pass is reading; run another when it ends
            return self._pass
        self._again = False
        self._pass = Deferred.fromCoroutine(self._one_pass())
        self._pass.addErrback(lambda f: log.failure("dispatcher pass failed", f))
        self._pass.addBoth(self._pass_done)
        return None

    def _pass_done(self, _: object) -> None:
        self._pass = None
        if self._again and self.running:
            self.wake()

    async def _one_pass(self) -> None:
        batch = await self._store.queued(self._batch_size, self._in_flight.keys())
        for msg in batch:
            name = self.router.route(msg.destination)
            connector = self._connectors.get(name)
            if connector is None or not connector.is_bound:
                continue
            if not self._send(name, connector, msg):
                break  # the connector is full: the rest waits for a later pass

    def _send(self, name: str, connector: SubmitTarget, msg: Outbound) -> bool:
        """Offer every part of ``msg``; False when the connector has no room for them."""
        submissions = submissions_for(msg, connector.config)
        if not connector.has_room(len(submissions)):
            return False
        d = DeferredList([connector.submit(f, t) for f, t in submissions], consumeErrors=True)
        d.addCallback(lambda results: Deferred.fromCoroutine(self._outcome(results, name, msg)))
        d.addErrback(
            lambda f: log.failure("recording {message_id} failed", f, message_id=msg.public_id)
        )
        d.addBoth(self._settled, msg.id)
        self._in_flight[msg.id] = d
        return True

    def _settled(self, result: object, message_id: int) -> object:
        self._in_flight.pop(message_id, None)
        return result

    async def _outcome(self, results: list[tuple[bool, Any]], name: str, msg: Outbound) -> None:
        smsc_ids = [value for ok, value in results if ok]
        failures = [value for ok, value in results if not ok]
        if smsc_ids:
            log.info(
                "sent {message_id} on {connector} as {smsc_message_id}",
                message_id=msg.public_id,
                connector=name,
                smsc_message_id=",".join(smsc_ids),
            )
            await self._store.mark_sent(msg.id, name, smsc_ids, self._clock.seconds())
        if not failures:
            return
        if smsc_ids:
            # Resending would duplicate the parts the SMSC took: the message is failed whole.
            code = f"partial:{len(smsc_ids)}/{len(results)}"
            log.warn(
                "{message_id} only partly sent on {connector}: {code}",
                message_id=msg.public_id,
                connector=name,
                code=code,
            )
            await self._store.mark_failed(msg.id, Status.REJECTED, code, self._clock.seconds())
            return
        recorded = self._not_sent(failures[0], name, msg)
        if recorded is not None:
            await recorded

    def _not_sent(self, failure: Failure, name: str, msg: Outbound) -> Deferred[None] | None:
        if failure.check(ConnectorBusy):
            return None  # the connector's queue is full: the message waits for the next pass
        if isinstance(failure.value, SubmitRejected):
            status = failure.value.smpp_status
            log.warn(
                "{connector} rejected {message_id} with status {status:#010x}",
                connector=name,
                message_id=msg.public_id,
                status=status,
            )
            return self._store.mark_failed(
                msg.id, Status.REJECTED, f"smpp:{status:#010x}", self._clock.seconds()
            )
        # Not bound any more, a timeout or a lost connection: it stays queued for a retry.
        log.warn(
            "{message_id} not sent on {connector}, will retry: {why}",
            message_id=msg.public_id,
            connector=name,
            why=failure.getErrorMessage(),
        )
        return None
