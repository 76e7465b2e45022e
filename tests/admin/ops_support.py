"""Waiting for the live gateway in the operator pages' tests: polls a condition while the
reactor runs (binds and receipts happen on real sockets), never asserting on elapsed time."""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import reactor
from twisted.internet.task import deferLater


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise AssertionError("the condition did not hold in time")
        await deferLater(reactor, 0.02, lambda: None)
        waited += 0.02
