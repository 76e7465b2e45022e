"""Routing for the dispatcher: a queued message's route from the routing table, with the
account's settings from the directory and the connectors' bind states."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from twisted.internet.interfaces import IReactorTime

from gatewayd.pipeline.directory import AccountDirectory
from gatewayd.routing.acceptance import Acceptance, message_class
from gatewayd.routing.senders import InvalidSender, SenderAddress, sender_address
from gatewayd.routing.table import Routed, Unroutable
from gatewayd.storage.messages import Outbound

#: submit_sm statuses that mean "this SMSC will not take this destination": the route's next
#: connector is tried (failover), if it has one.
ROUTING_ERRORS = frozenset(
    {
        0x0000000B,  # ESME_RINVDSTADR
        0x00000045,  # ESME_RSUBMITFAIL
        0x00000050,  # ESME_RINVDSTTON
        0x00000051,  # ESME_RINVDSTNPI
        0x00000066,  # ESME_RX_R_APPN
    }
)


class MessageRouter:
    def __init__(
        self, acceptance: Acceptance, directory: AccountDirectory, clock: IReactorTime
    ) -> None:
        self.acceptance = acceptance  # replaced on reload
        self._directory = directory
        self._clock = clock
        #: Told each route found (the plugins' after_route), set by the composition root.
        self.on_routed: Callable[[Outbound, Routed], None] | None = None

    def route(self, msg: Outbound) -> Routed | Unroutable:
        account = self._directory.get(msg.account_id)
        decision = self.acceptance.route(
            account, msg.destination, msg.sender, message_class(msg.priority), self._clock.seconds()
        )
        if self.on_routed is not None and isinstance(decision, Routed):
            self.on_routed(msg, decision)
        return decision

    def next_after(self, route: Routed, failed: str) -> Routed | None:
        return self.acceptance.table.next_after(route, failed, self.acceptance.is_bound)


@lru_cache(maxsize=1024)
def source_address(sender: str) -> tuple[int, int]:
    """TON and NPI for a sender ID (alphanumeric 5/0, short code 3/0, international 1/1)."""
    if not sender:
        return 0, 0
    found: SenderAddress | InvalidSender = sender_address(sender)
    if isinstance(found, InvalidSender):  # accepted before sender rules existed: send as is
        return (1, 1) if sender.isdigit() else (5, 0)
    return found.ton, found.npi
