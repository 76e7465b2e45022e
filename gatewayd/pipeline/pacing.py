"""Pacing of queued messages: per account (its messages per second over every channel) and per
destination operator. A paced message is never refused: it waits in the queue while the other
accounts' messages go (:meth:`SendQueue.peek_eligible`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gatewayd.routing.throttle import RateLimits
from gatewayd.storage.messages import Outbound

#: How soon a connector whose queue is all paced looks again, in seconds.
RETRY = 0.05


class Pacing:
    def __init__(
        self,
        account_rate: Callable[[int], float],
        operator_rates: Mapping[str, float],
        operator_of: Callable[[str], str],
    ) -> None:
        self._accounts: RateLimits[int] = RateLimits(account_rate)
        self._operator_rates = dict(operator_rates)
        self._operators: RateLimits[str] = RateLimits(
            lambda name: self._operator_rates.get(name, 0.0)
        )
        self._operator_of = operator_of

    def ready(self, msg: Outbound, now: float) -> bool:
        if not self._accounts.would_allow(msg.account_id, now):
            return False
        if not self._operator_rates:
            return True
        return self._operators.would_allow(self._operator_of(msg.destination), now)

    def sent(self, msg: Outbound, now: float) -> None:
        self._accounts.take(msg.account_id, now)
        if self._operator_rates:
            self._operators.take(self._operator_of(msg.destination), now)
