"""The message hooks at their places in the pipeline: what Submissions, the router and the
receipt handler call (they know nothing of plugins; the composition root wires these in)."""

from __future__ import annotations

from dataclasses import replace

from twisted.internet.defer import Deferred

from gatewayd.errors import GatewayError
from gatewayd.pipeline.receipts import ReceiptHandler
from gatewayd.pipeline.routes import MessageRouter
from gatewayd.pipeline.submission import Submissions, SubmitRequest
from gatewayd.plugins.hooks import (
    AFTER_ROUTE,
    BEFORE_ACCEPT,
    ON_MO,
    ON_RECEIPT,
    MessageDraft,
    MoEvent,
    ReceiptEvent,
    Reject,
    Rewrite,
    RoutedMessage,
)
from gatewayd.plugins.host import PluginHost
from gatewayd.routing.table import Routed
from gatewayd.storage.messages import Outbound
from gatewayd.storage.receipt_writes import ReceiptIn
from gatewayd.storage.traffic import MoIn


class Rejected(GatewayError):
    """A before_accept plugin refused the submission, with its statuses."""

    def __init__(self, reject: Reject) -> None:
        super().__init__(reject.reason)
        self.smpp_status = reject.smpp_status
        self.http_status = reject.http_status


class MessageHooks:
    def __init__(self, host: PluginHost) -> None:
        self._host = host

    def screen(self, request: SubmitRequest) -> Deferred[SubmitRequest] | None:
        """before_accept: None when no plugin implements it (the submission goes on at once),
        else the request as the plugins let it through; fails with Rejected or PluginFailed."""
        if not self._host.has(BEFORE_ACCEPT):
            return None
        draft = MessageDraft(
            request.account.id,
            request.account.name,
            request.channel,
            tuple(request.recipients),
            request.text,
            request.sender,
            request.subject,
        )
        d = self._host.first(BEFORE_ACCEPT, draft)
        return d.addCallback(_apply, request)

    def routed(self, msg: Outbound, route: Routed) -> None:
        self._host.observe(
            AFTER_ROUTE,
            RoutedMessage(
                msg.public_id,
                msg.account_id,
                msg.destination,
                msg.sender,
                route.connector,
                route.rule_name,
            ),
        )

    def receipt(self, message_id: str, item: ReceiptIn, connector: str, status: str) -> None:
        self._host.observe(
            ON_RECEIPT, ReceiptEvent(message_id, connector, item.stat, status, item.error_code)
        )

    def mo(self, mo_id: str, item: MoIn, connector: str) -> None:
        self._host.observe(
            ON_MO, MoEvent(mo_id, connector, item.source, item.destination, item.text, item.account)
        )


def _apply(answer: object, request: SubmitRequest) -> SubmitRequest:
    if isinstance(answer, Reject):
        raise Rejected(answer)
    if isinstance(answer, Rewrite):
        return replace(
            request,
            text=request.text if answer.text is None else answer.text,
            sender=request.sender if answer.sender is None else answer.sender,
        )
    return request  # Accept, or no plugin answered


def wire(
    host: PluginHost, submissions: Submissions, router: MessageRouter, receipts: ReceiptHandler
) -> MessageHooks:
    """Hook the pipeline to the plugins, only where some plugin implements the hook: a message
    pays nothing for a hook nobody uses."""
    hooks = MessageHooks(host)
    if host.has(BEFORE_ACCEPT):
        submissions.screen = hooks.screen
    if host.has(AFTER_ROUTE):
        router.on_routed = hooks.routed
    if host.has(ON_RECEIPT):
        receipts.on_receipt = hooks.receipt
    if host.has(ON_MO):
        receipts.on_mo = hooks.mo
    return hooks
