"""The built-in "local" fleet backend: the reference implementation. It plays the operator:
every order is done ``delay`` seconds later on the injected clock; an eSIM swap gets a new
ICCID (``8933990`` and the order id) and a PUK derived from it. Nothing leaves the host."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater

from gatewayd.fleet.orders import Order, OrderResult, done


class LocalBackend:
    name = "local"

    def __init__(self, clock: IReactorTime, delay: float = 5.0) -> None:
        self._clock = clock
        self.delay = delay
        #: The numbers of the orders carried out, in order (what the "operator" saw).
        self.seen: list[str] = []

    def execute(self, order: Order) -> Deferred[OrderResult]:
        return deferLater(self._clock, self.delay, self._carry_out, order)

    def _carry_out(self, order: Order) -> OrderResult:
        self.seen.append(order.number)
        if order.action == "sim_swap" and order.params.get("sim") == "esim":
            iccid = f"8933990{order.id:013d}"
            return done(iccid=iccid, puk=f"{int(iccid[-8:]) * 7919 % 10**8:08d}")
        return done()
