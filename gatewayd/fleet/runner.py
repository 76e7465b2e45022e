"""The order runner: a service on the injected reactor that carries out fleet orders.

Every ``interval`` seconds it applies the plan changes whose day has come, takes the requested
orders (marked in progress), hands each to the backend, records done or failed (applying a
done order to its lines) and sends the e-mails of finished orders.

Restarts: an order in progress when the daemon stopped had no answer recorded. At start, and
later for an order in progress for ``timeout`` seconds, it is requested again while it has
attempts left (``max_attempts``), then failed ("the operator did not answer"). A backend is
given the order number, so that a retry is recognised as the same order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.defer import (
    Deferred,
    DeferredLock,
    ensureDeferred,
    gatherResults,
    maybeDeferred,
)
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gatewayd.fleet import emails
from gatewayd.fleet.orders import FleetBackend, Order, OrderResult, failed
from gatewayd.services import TypedService
from gatewayd.storage import fleet_orders as ops
from gatewayd.storage.database import Database

log = Logger()
#: Sends one e-mail: (recipients, subject, body) -> a Deferred.
Send = Callable[[Sequence[str], str, str], Deferred[Any]]


class OrderRunner(TypedService):
    name = "fleet-orders"

    def __init__(
        self,
        reactor: IReactorTime,
        db: Database,
        backend: FleetBackend,
        send: Send | None = None,
        *,
        reseller_email: str = "",
        interval: float = 2.0,
        timeout: float = 600.0,
        max_attempts: int = 3,
    ) -> None:
        self._reactor = reactor
        self._db = db
        self.backend = backend
        self._send = send
        self._reseller = reseller_email
        self._interval = interval
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._loop: LoopingCall | None = None
        self._running: dict[int, Deferred[Any]] = {}
        self._busy = False
        self._waiters: list[Deferred[None]] = []
        # One sender at a time: two passes would both read the same unnotified orders.
        self._mailing = DeferredLock()
        self._first = True
        #: Orders carried out since the start, done and failed (for status and tests).
        self.done = 0
        self.failed = 0

    def startService(self) -> None:
        super().startService()
        loop = LoopingCall(self.tick)
        loop.clock = self._reactor
        self._loop = loop
        loop.start(self._interval, now=True).addErrback(
            lambda f: log.failure("fleet order runner stopped", f)
        )

    def stopService(self) -> Any:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return super().stopService()

    def tick(self) -> Deferred[None]:
        """One pass; called while a pass runs, it runs once more after it."""
        if self._busy:
            waiter: Deferred[None] = Deferred()
            self._waiters.append(waiter)
            return waiter.addCallback(lambda _: self.tick())
        self._busy = True
        d = ensureDeferred(self._tick())
        d.addErrback(lambda f: log.failure("fleet order runner tick failed", f))

        def free(_: object) -> None:
            self._busy = False
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.callback(None)

        return d.addBoth(free)

    async def _tick(self) -> None:
        now = self._reactor.seconds()
        timeout = 0.0 if self._first else self._timeout
        self._first = False
        retried, given_up = await self._db.run(
            "fleet_recover", ops.recover, now, timeout, self._max_attempts
        )
        if retried or given_up:
            log.info("fleet orders: {r} retried, {f} failed without answer", r=retried, f=given_up)
        await self._db.run("fleet_due_plans", ops.apply_due_plans, now)
        for order in await self._db.run("fleet_claim", ops.claim_requested, now):
            if order.id not in self._running:
                self._execute(order)
        await self._notify()

    def _execute(self, order: Order) -> Deferred[Any]:
        d = maybeDeferred(self.backend.execute, order)

        def unwrap(answer: object) -> object:
            return ensureDeferred(answer) if inspect.iscoroutine(answer) else answer

        d.addCallback(unwrap)
        d.addTimeout(self._timeout, self._reactor)

        def refused(failure: Any) -> OrderResult:
            log.failure("fleet backend failed on order {n}", failure, n=order.number)
            return failed(ops.BACKEND_ERROR)

        d.addErrback(refused)
        d.addCallback(lambda result: ensureDeferred(self._finish(order, result)))
        d.addErrback(lambda f: log.failure("fleet order {n} not recorded", f, n=order.number))
        self._running[order.id] = d
        d.addBoth(self._forget, order.id)
        return d

    def _forget(self, _: object, order_id: int) -> None:
        self._running.pop(order_id, None)

    def settled(self) -> Deferred[Any]:
        """Fires once the orders being carried out now are recorded."""
        return gatherResults(list(self._running.values()))

    async def _finish(self, order: Order, result: object) -> None:
        if not isinstance(result, OrderResult):
            log.error("fleet backend answered {r!r} to order {n}", r=result, n=order.number)
            result = failed(ops.BACKEND_ERROR)
        now = self._reactor.seconds()
        try:
            finished = await self._db.run("fleet_finish", ops.finish, order.id, result, now)
        except Exception:
            if not result.ok:
                raise
            log.failure("fleet order {n} could not be applied", n=order.number)
            finished = await self._db.run(
                "fleet_finish", ops.finish, order.id, failed(ops.BACKEND_ERROR), now
            )
        if finished is not None:
            if finished.state == "done":
                self.done += 1
            else:
                self.failed += 1
            await self._notify()

    async def _notify(self) -> None:
        await self._mailing.acquire()
        try:
            await self._notify_once()
        finally:
            self._mailing.release()

    async def _notify_once(self) -> None:
        notices = await self._db.run("fleet_unnotified", ops.unnotified)
        if not notices:
            return
        if self._send is not None:
            for notice in notices:
                await self._mail(notice)
        await self._db.run(
            "fleet_notified",
            ops.mark_notified,
            [n.order.id for n in notices],
            self._reactor.seconds(),
        )

    async def _mail(self, notice: ops.Notice) -> None:
        assert self._send is not None
        owed: list[tuple[Sequence[str], emails.Email]] = []
        if notice.customer_emails:
            owed.append(
                (notice.customer_emails, emails.customer_email(notice.order, notice.language))
            )
        if self._reseller and notice.order.state == "done":
            owed.append(([self._reseller], emails.reseller_email(notice.order, notice.company)))
        for to, mail in owed:
            try:
                await self._send(to, mail.subject, mail.body)
            except Exception:  # fail open: an order is not undone for an e-mail
                log.failure("fleet e-mail for order {n} not sent", n=notice.order.number)
