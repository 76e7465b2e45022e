"""The order runner on a task.Clock with the local backend and a real database: orders go
requested -> in progress -> done after the backend's delay, are applied to the lines, and
e-mail the customer and the reseller; a restart retries, then fails, what was in progress."""

from __future__ import annotations

from typing import Any

import pytest_twisted
from twisted.internet.defer import succeed
from twisted.internet.task import Clock

from gatewayd.fleet.orders import Order, OrderResult
from gatewayd.fleet.runner import OrderRunner
from gatewayd.plugins.fleet_local import LocalBackend
from gatewayd.storage import fleet as store
from gatewayd.storage import fleet_orders as ops
from tests.fleet.conftest import NOW, Fleet


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[list[str], str, str]] = []

    def send(self, to: Any, subject: str, body: str) -> Any:
        self.sent.append((list(to), subject, body))
        return succeed(None)


def _runner(fleet: Fleet, clock: Clock, backend: Any, outbox: Outbox, **kw: Any) -> OrderRunner:
    return OrderRunner(
        clock, fleet.db, backend, outbox.send, reseller_email="ops@reseller.example", **kw
    )


@pytest_twisted.ensureDeferred
async def test_an_order_is_done_after_the_delay_applied_and_mailed(fleet: Fleet) -> None:
    clock = Clock()
    clock.advance(NOW)
    backend, outbox = LocalBackend(clock, delay=5.0), Outbox()
    runner = _runner(fleet, clock, backend, outbox)
    order = fleet.run(store.order_action, fleet.acme, None, [fleet.lines["a1"]], "suspend", {}, NOW)
    await runner.tick()
    assert fleet.run(store.get_order, fleet.acme, order.id).state == "in_progress"
    clock.advance(4.9)
    assert backend.seen == []
    clock.advance(0.1)
    await runner.settled()
    assert backend.seen == [order.number] and runner.done == 1
    final = fleet.run(store.get_order, fleet.acme, order.id)
    assert final.state == "done" and final.finished_at == NOW + 5.0
    assert fleet.run(store.get_line, fleet.acme, fleet.lines["a1"], now=NOW).state == "suspended"
    (to_customer, customer_subject, customer_body), (to_reseller, _, reseller_body) = outbox.sent
    assert to_customer == ["fleet@acme.example"]
    assert customer_subject == f"Commande {order.number} exécutée"
    assert "Une ligne suspendue reste facturée." in customer_body
    assert to_reseller == ["ops@reseller.example"]
    assert (
        f"Votre client Company {fleet.acme} a suspendu la ligne de l'utilisateur Awa Diallo "
        f"(33600000001), contrat C-100, commande {order.number}." in reseller_body
    )
    assert (
        f"Your customer Company {fleet.acme} suspended the line of user Awa Diallo "
        f"(33600000001), contract C-100, order {order.number}." in reseller_body
    )
    await runner.tick()
    assert len(outbox.sent) == 2  # mailed once


@pytest_twisted.ensureDeferred
async def test_an_esim_swap_gets_the_backends_iccid(fleet: Fleet) -> None:
    clock = Clock()
    clock.advance(NOW)
    fleet.run(ops.set_esim, "Acme", True, NOW)
    runner = _runner(fleet, clock, LocalBackend(clock, delay=1.0), Outbox())
    order = fleet.run(
        store.order_action, fleet.acme, None, [fleet.lines["a2"]], "sim_swap", {"sim": "esim"}, NOW
    )
    await runner.tick()
    clock.advance(1.0)
    await runner.settled()
    line = fleet.run(store.get_line, fleet.acme, fleet.lines["a2"], now=NOW)
    assert line.sim_kind == "esim" and line.iccid == f"8933990{order.id:013d}"


class Broken:
    name = "broken"

    def execute(self, order: Order) -> OrderResult:
        raise RuntimeError("boom")


class Refusing:
    name = "refusing"

    async def execute(self, order: Order) -> OrderResult:
        return OrderResult(False, "Line unknown at the operator")


@pytest_twisted.ensureDeferred
async def test_a_failing_backend_fails_the_order_with_a_reason(fleet: Fleet) -> None:
    clock = Clock()
    clock.advance(NOW)
    outbox = Outbox()
    a1 = fleet.lines["a1"]
    first = fleet.run(store.order_action, fleet.acme, None, [a1], "rename", {"user_name": "X"}, NOW)
    broken = _runner(fleet, clock, Broken(), outbox)
    await broken.tick()
    await broken.settled()
    order = fleet.run(store.get_order, fleet.acme, first.id)
    assert order.state == "failed" and order.reason == ops.BACKEND_ERROR
    second = fleet.run(
        store.order_action, fleet.acme, None, [a1], "rename", {"user_name": "Y"}, NOW
    )
    runner = _runner(fleet, clock, Refusing(), outbox)
    await runner.tick()
    await runner.settled()
    assert (
        fleet.run(store.get_order, fleet.acme, second.id).reason == "Line unknown at the operator"
    )
    assert fleet.run(store.get_line, fleet.acme, a1, now=NOW).user_name == "Awa Diallo"
    # A failed order tells the customer, not the reseller.
    assert [to for to, _, _ in outbox.sent] == [["fleet@acme.example"]] * 2
    assert "Motif : Line unknown at the operator" in outbox.sent[1][2]


@pytest_twisted.ensureDeferred
async def test_a_restart_retries_what_was_in_progress_then_gives_up(fleet: Fleet) -> None:
    clock = Clock()
    clock.advance(NOW)
    order = fleet.run(store.order_action, fleet.acme, None, [fleet.lines["a1"]], "suspend", {}, NOW)
    fleet.run(ops.claim_requested, NOW)  # the daemon stopped here
    backend = LocalBackend(clock, delay=1.0)
    runner = _runner(fleet, clock, backend, Outbox(), max_attempts=2)
    await runner.tick()  # first tick after the start: retried at once
    clock.advance(1.0)
    await runner.settled()
    assert backend.seen == [order.number]
    assert fleet.run(store.get_order, fleet.acme, order.id).state == "done"
    other = fleet.run(store.order_action, fleet.acme, None, [fleet.lines["a2"]], "suspend", {}, NOW)
    fleet.run(ops.claim_requested, NOW)
    fleet.run(ops.recover, NOW, 0.0, 2)
    fleet.run(ops.claim_requested, NOW)  # second attempt, stopped again
    await _runner(fleet, clock, backend, Outbox(), max_attempts=2).tick()
    assert fleet.run(store.get_order, fleet.acme, other.id).reason == ops.NO_ANSWER


@pytest_twisted.ensureDeferred
async def test_two_passes_at_once_mail_an_order_once(fleet: Fleet) -> None:
    from twisted.internet.defer import ensureDeferred, gatherResults

    outbox = Outbox()
    runner = _runner(fleet, Clock(), LocalBackend(Clock()), outbox)
    order = fleet.run(store.order_action, fleet.acme, None, [fleet.lines["a1"]], "suspend", {}, NOW)
    fleet.run(ops.claim_requested, NOW)
    fleet.run(ops.finish, order.id, OrderResult(True), NOW)
    await gatherResults([ensureDeferred(runner._notify()), ensureDeferred(runner._notify())])
    assert len(outbox.sent) == 2  # the customer and the reseller, once each
