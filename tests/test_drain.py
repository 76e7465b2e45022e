"""A graceful stop is bounded in time ([daemon] drain_seconds), on a task.Clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from gatewayd.drain import POLL, responses_settled, within


@dataclass
class Bind:
    outstanding: int = 0


@dataclass
class Connector:
    binds: list[Bind] = field(default_factory=list)


def test_the_bound_holds_when_an_smsc_never_answers() -> None:
    clock = Clock()
    silent = Connector([Bind(outstanding=3)])  # three submit_sm never answered
    outcome: list[bool] = []
    within(responses_settled([silent], clock), 10.0, clock).addCallback(outcome.append)
    clock.advance(9.99)
    assert outcome == []
    clock.advance(0.01)
    assert outcome == [False]
    assert clock.getDelayedCalls() != []  # the wait goes on; stopping the reactor ends it


def test_the_drain_ends_as_soon_as_the_last_response_arrives() -> None:
    clock = Clock()
    binds = [Bind(outstanding=1), Bind(outstanding=2)]
    outcome: list[bool] = []
    within(responses_settled([Connector(binds)], clock), 10.0, clock).addCallback(outcome.append)
    clock.advance(1.0)
    binds[0].outstanding = 0
    clock.advance(1.0)
    assert outcome == []
    binds[1].outstanding = 0
    clock.advance(POLL)
    assert outcome == [True]
    assert clock.getDelayedCalls() == []  # the bound's timer is cancelled


def test_a_failed_stop_still_ends_the_drain() -> None:
    clock = Clock()
    work: Deferred[None] = Deferred()
    outcome: list[bool] = []
    within(work, 10.0, clock).addCallback(outcome.append)
    work.errback(RuntimeError("a service failed to stop"))
    assert outcome == [True]
