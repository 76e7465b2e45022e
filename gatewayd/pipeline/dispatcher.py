"""Send queued messages to their connectors, and apply the receipts that come back.

The first slice: one pass reads the oldest queued messages, routes each, and submits it on a
bound connector. Messages whose connector is not bound stay queued and are retried on the next
pass. Window, throttle, priorities and crash recovery come with the pipeline issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.routing.router import StaticRouter
from gatewayd.services import TypedService
from gatewayd.smpp.client import ConnectorBusy, SubmitRejected
from gatewayd.smpp.text import encode
from gatewayd.status import Status
from gatewayd.storage.messages import MessageStore, Outbound

log = Logger()
MESSAGE_PAYLOAD = 0x0424
MAX_SHORT_MESSAGE = 254


class SubmitTarget(Protocol):
    """What the dispatcher needs of an upstream connector."""

    @property
    def is_bound(self) -> bool: ...

    def submit(
        self, fields: dict[str, int | bytes], tlvs: tuple[tuple[int, bytes], ...] = ()
    ) -> Deferred[str]: ...


def submit_fields(msg: Outbound) -> tuple[dict[str, int | bytes], tuple[tuple[int, bytes], ...]]:
    """submit_sm parameters for a message; long texts go in message_payload for now."""
    data_coding, payload = encode(msg.body)
    sender = msg.sender.encode("ascii")
    fields: dict[str, int | bytes] = {
        "source_addr_ton": 1 if msg.sender.isdigit() else (5 if msg.sender else 0),
        "source_addr_npi": 1 if msg.sender.isdigit() else 0,
        "source_addr": sender,
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": msg.destination.encode("ascii"),
        "registered_delivery": 1 if msg.registered_delivery else 0,
        "data_coding": data_coding,
        "short_message": b"",
    }
    if len(payload) <= MAX_SHORT_MESSAGE:
        fields["short_message"] = payload
        return fields, ()
    return fields, ((MESSAGE_PAYLOAD, payload),)


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
            self._send(name, connector, msg)

    def _send(self, name: str, connector: SubmitTarget, msg: Outbound) -> None:
        fields, tlvs = submit_fields(msg)
        d = connector.submit(fields, tlvs)
        d.addCallbacks(
            self._sent, self._not_sent, callbackArgs=(name, msg), errbackArgs=(name, msg)
        )
        d.addErrback(
            lambda f: log.failure("recording {message_id} failed", f, message_id=msg.public_id)
        )
        d.addBoth(self._settled, msg.id)
        self._in_flight[msg.id] = d

    def _settled(self, result: object, message_id: int) -> object:
        self._in_flight.pop(message_id, None)
        return result

    def _sent(self, smsc_id: str, name: str, msg: Outbound) -> Deferred[None]:
        log.info(
            "sent {message_id} on {connector} as {smsc_message_id}",
            message_id=msg.public_id,
            connector=name,
            smsc_message_id=smsc_id,
        )
        return self._store.mark_sent(msg.id, name, smsc_id, self._clock.seconds())

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
