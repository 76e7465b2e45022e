"""The ESME side: one :class:`UpstreamConnector` service per configured upstream SMSC.

It keeps ``binds`` binds up (see :mod:`gatewayd.smpp.bind`), forwards what the SMSC delivers to
``on_deliver``, and sends submit_sm through a send window per bind, a bounded FIFO and a TPS
limit shared by all its binds.

What :meth:`UpstreamConnector.submit` promises its caller:

- it fires with the SMSC's message_id;
- it fails with :class:`SubmitRejected` (``.status`` = the command_status) when the failure is
  permanent by the retry table: the message will never go through as it is;
- every other failure is retryable and carries no ``.status``: :class:`ConnectorUnavailable`
  (no transmitting bind, or stopping), :class:`ConnectorBusy` (queue full, try later) and
  :class:`RetryLater` (a temporary failure that used all its attempts).

Temporary failures are retried here, transparently, per the retry table: ESME_RTHROTTLED and
ESME_RMSGQFUL also halve the TPS, which climbs back gradually. When the link drops, the submits
awaiting a response fail at once and are resent once a bind is back. The SMSC may have accepted
a submit whose response was lost, so such a resend can duplicate a message: SMPP gives no
exactly-once delivery, and losing the message would be worse.
"""

from __future__ import annotations

import random as _random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from twisted.internet.defer import Deferred, DeferredList, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from gatewayd.config.model import ConnectorConfig
from gatewayd.errors import GatewayError
from gatewayd.routing.throttle import AdaptiveLimiter, Throttled
from gatewayd.services import TypedService
from gatewayd.smpp import pdu as p
from gatewayd.smpp.bind import BindStatus, UpstreamBind, upstream_endpoint
from gatewayd.smpp.pdu import Pdu, PduError
from gatewayd.smpp.retry import (
    DISCONNECT,
    SLOW_DOWN,
    TIMEOUT,
    Cause,
    GiveUp,
    Retry,
    RetryTable,
    jittered_backoff,
)
from gatewayd.smpp.session import (
    CommandFailed,
    DelayedCall,
    ResponseTimeout,
    SessionClosed,
    WrongState,
    call_later,
    seconds,
)

#: Called for every deliver_sm / data_sm. A failure makes us answer ESME_RX_T_APPN so the SMSC
#: retries later, unless it is a GatewayError carrying one of RECEIVER_STATUSES (a receipt we
#: can never parse is ESME_RX_P_APPN: retrying would not help).
DeliverHandler = Callable[["UpstreamConnector", Pdu], "Deferred[None] | None"]

log = Logger()

#: The statuses an ESME may answer deliver_sm with on failure (§5.1.3).
RECEIVER_STATUSES = frozenset({p.ESME_RX_T_APPN, p.ESME_RX_P_APPN, p.ESME_RX_R_APPN})


class ConnectorUnavailable(GatewayError):
    """The connector has no bound transmitting session right now; try again later."""

    retryable = True


class ConnectorBusy(GatewayError):
    """Every window is full and the queue is at queue_limit; try again later. Not a rejection."""

    retryable = True


class RetryLater(GatewayError):
    """A temporary failure that used all the attempts its retry rule allows."""

    retryable = True


class SubmitRejected(GatewayError):
    """The SMSC (or our encoder) refused the message for good: ``status`` says why."""

    retryable = False

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.smpp_status = status


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    name: str
    binds: tuple[BindStatus, ...]
    queued: int  # waiting for a window slot or a token
    retrying: int  # waiting out a retry delay
    tps_limit: float  # in force now, after any slow-down; 0 = unlimited
    throttled: bool  # the SMSC pushed back and the rate is still recovering


@dataclass(eq=False, slots=True)
class _Job:
    order: int  # acceptance order, kept across retries
    fields: Mapping[str, int | bytes]
    tlvs: Sequence[tuple[int, bytes]]
    deferred: Deferred[str]
    attempts: int = 0
    timer: DelayedCall | None = None


class UpstreamConnector(TypedService):
    """``reactor`` must provide IReactorTime, IReactorTCP and IReactorPluggableNameResolver;
    ``random`` (floats in [0, 1)) jitters the reconnection delays."""

    def __init__(
        self,
        name: str,
        config: ConnectorConfig,
        reactor: IReactorTime,
        password: str,
        on_deliver: DeliverHandler,
        *,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.name: str = name
        self.config = config
        self.reactor = reactor
        self._password = password
        self._on_deliver = on_deliver
        self._table = RetryTable.from_config(config.retry)
        self._limiter = AdaptiveLimiter(config.tps, seconds(reactor))
        self._queue: deque[_Job] = deque()
        self._retrying: set[_Job] = set()
        self._wake: DelayedCall | None = None
        self._pumping = False
        self._accepted_count = 0
        endpoint = upstream_endpoint(reactor, config)
        policy = jittered_backoff(
            config.reconnect_initial_delay, config.reconnect_max_delay, random
        )
        self.binds = tuple(UpstreamBind(self, i, endpoint, policy) for i in range(config.binds))

    @property
    def password(self) -> str:
        return self._password

    @property
    def is_bound(self) -> bool:
        return any(bind.is_bound for bind in self.binds)

    def submit(
        self, fields: Mapping[str, int | bytes], tlvs: Sequence[tuple[int, bytes]] = ()
    ) -> Deferred[str]:
        """submit_sm upstream; see the module docstring for what the result means."""
        if not self.running or not any(bind.can_transmit for bind in self.binds):
            return fail(ConnectorUnavailable(f"connector {self.name} is not bound to transmit"))
        self._accepted_count += 1
        job = _Job(self._accepted_count, fields, tuple(tlvs), Deferred())
        self._queue.append(job)
        self._pump()
        if job.attempts == 0 and self._waiting > self.config.queue_limit:
            self._queue.remove(job)  # the newest, so the FIFO order of the rest stands
            limit = self.config.queue_limit
            return fail(ConnectorBusy(f"connector {self.name}: {limit} submits already wait"))
        return job.deferred

    def has_room(self, submits: int) -> bool:
        """Whether ``submits`` more can wait without ConnectorBusy: a long message's parts
        are offered together or not at all."""
        return self._waiting + submits <= self.config.queue_limit

    def status(self) -> ConnectorStatus:
        now = seconds(self.reactor)
        return ConnectorStatus(
            self.name,
            tuple(bind.status() for bind in self.binds),
            len(self._queue),
            len(self._retrying),
            self._limiter.rate(now),
            self._limiter.adaptive.reduced,
        )

    @property
    def _waiting(self) -> int:
        return len(self._queue) + len(self._retrying)

    # --- lifecycle ---------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        config = self.config
        log.info(
            "connector {name}: connecting {binds} bind(s) to {host}:{port}{tls}",
            name=self.name,
            binds=config.binds,
            host=config.host,
            port=config.port,
            tls=" over TLS" if config.tls else "",
        )
        for bind in self.binds:
            bind.start()

    def stopService(self) -> Deferred[None]:
        super().stopService()
        if self._wake is not None and self._wake.active():
            self._wake.cancel()
        waiting = list(self._queue) + list(self._retrying)
        self._queue.clear()
        self._retrying.clear()
        for job in waiting:
            if job.timer is not None and job.timer.active():
                job.timer.cancel()
            job.deferred.errback(ConnectorUnavailable(f"connector {self.name} is stopping"))
        if any(bind.session is not None for bind in self.binds):
            log.info("connector {name}: unbinding", name=self.name)
        stopping = DeferredList([bind.stop() for bind in self.binds], consumeErrors=True)
        return stopping.addCallback(lambda _: None)

    # --- sending -----------------------------------------------------------------------------

    def _pump(self) -> None:
        """Send queued submits while a bind has window room and the TPS allows."""
        if self._pumping:
            return  # the running loop below picks up whatever changed
        self._pumping = True
        try:
            while self._queue:
                bind = self._roomiest_bind()
                if bind is None:
                    return  # an answer, a retry timer or a new bind pumps again
                decision = self._limiter.take(seconds(self.reactor))
                if isinstance(decision, Throttled):
                    self._wake_in(decision.retry_after)
                    return
                self._send(self._queue.popleft(), bind)
        finally:
            self._pumping = False

    def _roomiest_bind(self) -> UpstreamBind | None:
        ready = [bind for bind in self.binds if bind.has_room]
        return min(ready, key=lambda bind: bind.outstanding, default=None)

    def _wake_in(self, delay: float) -> None:
        if self._wake is None or not self._wake.active():
            self._wake = call_later(self.reactor, delay, self._pump)

    def _send(self, job: _Job, bind: UpstreamBind) -> None:
        job.attempts += 1
        sent = bind.submit(job.fields, job.tlvs)
        sent.addCallbacks(self._accepted, self._failed, callbackArgs=(job,), errbackArgs=(job,))

    def _accepted(self, response: Pdu, job: _Job) -> None:
        job.deferred.callback(response.bytes_field("message_id").decode("latin-1"))
        self._pump()

    def _failed(self, failure: Failure, job: _Job) -> None:
        cause = _cause_of(failure.value)
        if cause is None:
            self._unretryable(failure, job)
        else:
            self._retry_or_give_up(cause, failure, job)
        self._pump()

    def _unretryable(self, failure: Failure, job: _Job) -> None:
        error = failure.value
        if isinstance(error, PduError):  # we could not encode it: it never left
            job.deferred.errback(SubmitRejected(error.smpp_status, str(error)))
            return
        log.failure("connector {name}: submit failed", failure, name=self.name)
        job.deferred.errback(RetryLater(f"connector {self.name}: {failure.getErrorMessage()}"))

    def _retry_or_give_up(self, cause: Cause, failure: Failure, job: _Job) -> None:
        now = seconds(self.reactor)
        if cause in SLOW_DOWN:
            rate = self._limiter.slow_down(now)
            log.info("connector {name}: SMSC pushed back, {rate:.1f}/s", name=self.name, rate=rate)
        verdict = self._table.decide(cause, job.attempts)
        what = failure.getErrorMessage()
        if isinstance(verdict, Retry) and self.running:
            self._retry(job, verdict.delay)
        elif isinstance(verdict, GiveUp | Retry):
            message = f"connector {self.name}: {what} (after {job.attempts} attempt(s))"
            job.deferred.errback(RetryLater(message))
        else:
            status = cause if isinstance(cause, int) else p.ESME_RSYSERR
            job.deferred.errback(SubmitRejected(status, f"connector {self.name}: {what}"))

    def _retry(self, job: _Job, delay: float) -> None:
        if delay <= 0:
            self._requeue(job)
            return
        self._retrying.add(job)
        job.timer = call_later(self.reactor, delay, self._retry_due, job)

    def _retry_due(self, job: _Job) -> None:
        self._retrying.discard(job)
        job.timer = None
        self._requeue(job)
        self._pump()

    def _requeue(self, job: _Job) -> None:
        # Back in acceptance order: a retry was accepted before anything queued after it, and a
        # window that failed at once keeps its order. Retries sit at the front, so this is short.
        index = 0
        while index < len(self._queue) and self._queue[index].order < job.order:
            index += 1
        self._queue.insert(index, job)

    # --- called by the binds -----------------------------------------------------------------

    def bind_ready(self, bind: UpstreamBind) -> None:
        self._pump()

    def bind_lost(self, bind: UpstreamBind) -> None:
        """Its outstanding submits have already failed (and been re-queued) by now."""

    def delivered(self, pdu: Pdu) -> Deferred[Pdu]:
        try:
            result = self._on_deliver(self, pdu)
        except Exception:
            handled: Deferred[None] = fail()
        else:
            handled = result if isinstance(result, Deferred) else succeed(None)
        answer = handled.addCallback(lambda _: p.response_to(pdu))
        return answer.addErrback(self._deliver_failed, pdu)

    def _deliver_failed(self, failure: Failure, pdu: Pdu) -> Pdu:
        error = failure.value
        if isinstance(error, GatewayError) and error.smpp_status in RECEIVER_STATUSES:
            log.warn(
                "connector {name}: {pdu} refused: {error}",
                name=self.name,
                pdu=pdu.name,
                error=error,
            )
            return p.response_to(pdu, error.smpp_status)
        log.failure(
            "connector {name}: on_deliver failed for {pdu}", failure, name=self.name, pdu=pdu.name
        )
        return p.response_to(pdu, p.ESME_RX_T_APPN)


def _cause_of(error: object) -> Cause | None:
    """The retry-table cause of a failed submit, or None for our own bugs and encode errors."""
    if isinstance(error, CommandFailed):
        # A generic_nack with status 0 says nothing useful; treat it as a system error.
        return error.smpp_status or p.ESME_RSYSERR
    if isinstance(error, ResponseTimeout):
        return TIMEOUT
    if isinstance(error, SessionClosed | WrongState):
        return DISCONNECT
    return None
