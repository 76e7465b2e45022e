"""What every channel checks before a message is accepted, and where it will go: the sender ID
against the account's list, each recipient normalised and classified, and its route. Pure: the
account's settings, the time and the connectors' bind states come in as arguments.

An account with no granted sender IDs may use any well-formed sender ID; once the operator
grants one (`gatewayd account sender add`), only the granted ones pass, on every channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gatewayd.errors import ValidationError
from gatewayd.routing.account import AccountPolicy
from gatewayd.routing.numbers import Destination, InvalidNumber, NumberPlan
from gatewayd.routing.senders import InvalidSender, SenderAddress, check_sender
from gatewayd.routing.table import (
    IsBound,
    MessageClass,
    Routed,
    RouteQuery,
    RoutingTable,
    Unroutable,
)
from gatewayd.status import Status

ESME_RINVSRCADR = 0x0000000A


def message_class(priority: int) -> MessageClass:
    """Routing's class of a message from its queue priority (1 and above: transactional, as
    ``gatewayd.pipeline.queues.TRANSACTIONAL``; 0: bulk)."""
    return "transactional" if priority >= 1 else "bulk"


@dataclass(frozen=True, slots=True)
class Failed:
    """A message that just failed, as its route's resend rule needs to see it."""

    account_id: int
    destination: str
    sender: str
    priority: int
    connector_id: int  # where it failed
    status: Status


@dataclass(frozen=True, slots=True)
class Recipient:
    destination: Destination
    route: Routed


@dataclass(frozen=True, slots=True)
class Refused:
    """A recipient that cannot be accepted, with the reason and the SMPP status."""

    raw: str
    reason: str
    status: int


class Acceptance:
    def __init__(self, plan: NumberPlan, table: RoutingTable, is_bound: IsBound) -> None:
        self.plan = plan
        self.table = table
        self.is_bound = is_bound

    def sender(self, account: AccountPolicy, sender: str) -> SenderAddress | None:
        """The address to send from (None: no sender given); raises ValidationError."""
        allowed = account.senders or None
        found = check_sender(sender, allowed)
        if isinstance(found, InvalidSender):
            raise ValidationError(f"sender {sender!r}: {found.reason}", smpp_status=ESME_RINVSRCADR)
        return found

    def query(
        self,
        account: AccountPolicy,
        destination: Destination,
        sender: str,
        message_class: MessageClass,
        now: float,
    ) -> RouteQuery:
        return RouteQuery(
            destination=destination.e164,
            operator=destination.operator or None,
            account=account.name,
            groups=account.groups,
            sender=sender,
            message_class=message_class,
            now=now,
        )

    def route(
        self,
        account: AccountPolicy,
        e164: str,
        sender: str,
        message_class: MessageClass,
        now: float,
        *,
        commit: bool = True,
    ) -> Routed | Unroutable:
        """``commit=False``: without moving a balance's round robin (read-only, any thread)."""
        destination = self.plan.classify(e164, account.country)
        query = self.query(account, destination, sender, message_class, now)
        return self.table.route(query, self.is_bound, commit=commit)

    def resend_via(
        self,
        account: AccountPolicy,
        failed: Failed,
        failed_on: str | None,
        now: float,
    ) -> str | None:
        """The connector a failed message goes through once more, if its route says so for
        this final status (and it is not the connector it failed on)."""
        decision = self.route(
            account,
            failed.destination,
            failed.sender,
            message_class(failed.priority),
            now,
            commit=False,
        )
        if isinstance(decision, Unroutable) or decision.resend is None:
            return None
        resend = decision.resend
        if failed.status.value not in resend.states or resend.via == failed_on:
            return None
        return resend.via

    def recipients(
        self,
        account: AccountPolicy,
        raws: Sequence[str],
        sender: str,
        message_class: MessageClass,
        now: float,
    ) -> tuple[list[Recipient], list[Refused]]:
        """Each valid recipient once (first-seen order) with its route; the refused ones."""
        accepted: list[Recipient] = []
        refused: list[Refused] = []
        seen: set[str] = set()
        for raw in raws:
            e164 = self.plan.normalise(raw, account.country)
            if isinstance(e164, InvalidNumber):
                refused.append(Refused(raw, e164.reason, 0x0000000B))
                continue
            if e164 in seen:
                continue
            seen.add(e164)
            destination = self.plan.classify(e164, account.country)
            query = self.query(account, destination, sender, message_class, now)
            decision = self.table.route(query, self.is_bound, commit=False)
            if isinstance(decision, Unroutable):
                refused.append(Refused(raw, f"no route: {decision.reason}", decision.status))
            else:
                accepted.append(Recipient(destination, decision))
        return accepted, refused
