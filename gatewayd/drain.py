"""A graceful stop, bounded in time: wait for in-flight work to settle, but never for ever.

The service tree stops in order (listeners, customer sessions, dispatcher, SMSC connectors,
group commit, database); these helpers are the waits in that order and the overall bound the
daemon puts around it ([daemon] drain_seconds, docs/operations.md "Drain, reload and upgrade").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater

from gatewayd.smpp.server import SmppServerFactory

#: Seconds between two looks at a count that has not settled yet.
POLL = 0.05


class _Bind(Protocol):
    outstanding: int


class _Connector(Protocol):
    @property
    def binds(self) -> Iterable[_Bind]: ...


async def settled(count: Callable[[], int], clock: IReactorTime) -> None:
    """Returns once ``count()`` is 0, looking every POLL seconds on ``clock``."""
    while count() > 0:
        await deferLater(clock, POLL, lambda: None)


def responses_settled(connectors: Iterable[_Connector], clock: IReactorTime) -> Deferred[None]:
    """Fires once no SMSC bind waits for a submit_sm_resp (each wait is itself bounded by the
    connector's response_timeout), so that what was sent is recorded before the unbind."""
    every = list(connectors)
    return Deferred.fromCoroutine(
        settled(lambda: sum(b.outstanding for c in every for b in c.binds), clock)
    )


def unbind_when_answered(server: SmppServerFactory[Any], clock: IReactorTime) -> Deferred[None]:
    """Unbinds the customers once the operations they have in flight are answered: an unbind
    first would close a connection whose submit_sm_resp (its message committed) is still due."""

    async def run() -> None:
        await settled(
            lambda: sum(s.in_flight for who in server.principals() for s in server.sessions(who)),
            clock,
        )
        await server.unbind_all()

    return Deferred.fromCoroutine(run())


def within(work: Deferred[Any], seconds: float, clock: IReactorTime) -> Deferred[bool]:
    """Fires True when ``work`` ends (either way) within ``seconds``, else False at the bound.

    ``work`` is left to go on: the caller stops the reactor, which ends it."""
    outcome: Deferred[bool] = Deferred()

    def bound() -> None:
        if not outcome.called:
            outcome.callback(False)

    timer = clock.callLater(seconds, bound)

    def finished(_: object) -> None:
        if timer.active():
            timer.cancel()
        if not outcome.called:
            outcome.callback(True)

    work.addBoth(finished)
    return outcome
