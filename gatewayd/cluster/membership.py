"""What this node knows of the cluster, as of the lease service's last look.

The lease service (:mod:`gatewayd.cluster.leases`) is its only writer; the dispatcher, the
outbox and the rate limits read it. Pure state with listeners: no Twisted, no SQL, so the
readers' tests set it directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

#: Called after every change, with the connectors this node holds now.
Listener = Callable[[frozenset[str]], None]


@dataclass
class Membership:
    node: str
    #: Connectors whose lease this node holds (and so binds and sends through).
    held: frozenset[str] = frozenset()
    #: Every connector with an unexpired lease, and its holder (this node included).
    holders: Mapping[str, str] = field(default_factory=dict)
    #: Nodes whose heartbeat is fresh (this node included once it has beaten).
    live: tuple[str, ...] = ()
    _listeners: list[Listener] = field(default_factory=list, repr=False)

    def holds(self, connector: str) -> bool:
        return connector in self.held

    def holder(self, connector: str) -> str | None:
        """The node that sends through ``connector`` now, or None while nobody holds it."""
        return self.holders.get(connector)

    def live_count(self) -> int:
        """At least 1: before the first heartbeat this node counts itself."""
        return max(1, len(self.live))

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def update(
        self, held: frozenset[str], holders: Mapping[str, str], live: tuple[str, ...]
    ) -> None:
        changed = (held, dict(holders), live) != (self.held, dict(self.holders), self.live)
        self.held, self.holders, self.live = held, dict(holders), live
        if changed:
            for listener in list(self._listeners):
                listener(held)


__all__ = ["Listener", "Membership"]
