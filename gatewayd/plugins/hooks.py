"""The hook specifications: what each hook is called with, what it may answer, how the host
combines the plugins' answers, and what a failing plugin does to the operation.

A plugin implements a hook with a method of the hook's name taking one argument (the frozen
dataclass of the spec). It may return the value, a Deferred or a coroutine. Results are narrow
frozen dataclasses; anything else counts as a failure of the plugin. docs/plugins.md has the
reference table, and a test keeps it in step with :data:`HOOKS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, Literal, TypeVar

from gatewayd.billing.payments import Approved, Declined, PaymentRequest, Pending
from gatewayd.errors import Unavailable
from gatewayd.fleet.orders import Order, OrderResult

A = TypeVar("A")
R = TypeVar("R")
Mode = Literal["first", "all"]
FailurePolicy = Literal["open", "closed"]

ESME_RSYSERR = 0x00000008
ESME_RSUBMITFAIL = 0x00000045


@dataclass(frozen=True)
class HookSpec(Generic[A, R]):
    """One hook. ``mode``: "first" asks the plugins in order and the first answer that is not
    None wins; "all" calls every plugin and collects their answers (in plugin order).
    ``failure``: "open" skips a plugin that fails or times out; "closed" refuses the operation
    (:class:`PluginFailed`). ``timeout``: seconds on the gateway's clock, for answers that are
    Deferreds or coroutines (a synchronous plugin cannot be interrupted)."""

    name: str
    argument: type[A]
    results: tuple[type, ...]  # the types an answer may have (None is always allowed)
    mode: Mode
    failure: FailurePolicy
    timeout: float
    when: str


class PluginFailed(Unavailable):
    """A fail-closed hook could not get an answer: the operation is refused (SMPP ESME_RSYSERR,
    HTTP 503). The message names the plugin and the hook, never the data."""

    smpp_status = ESME_RSYSERR
    http_status = 503


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accept:
    """before_accept: accept the message as it is, and ask no further plugin."""


@dataclass(frozen=True)
class Reject:
    """before_accept: refuse the submission; the customer gets ``reason`` with ``smpp_status``
    (SMPP channel) or ``http_status`` (console, HTTP API)."""

    reason: str
    smpp_status: int = ESME_RSUBMITFAIL
    http_status: int = 403

    def __post_init__(self) -> None:
        if not self.reason:
            raise ValueError("Reject needs a reason")
        if not 0 < self.smpp_status <= 0xFFFFFFFF:
            raise ValueError("Reject.smpp_status must be an SMPP error status (not 0)")
        if not 400 <= self.http_status <= 599:
            raise ValueError("Reject.http_status must be an HTTP error status (400 to 599)")


@dataclass(frozen=True)
class Rewrite:
    """before_accept: accept the message with another text and/or sender (None: unchanged).
    The rewritten message goes through every check of acceptance, as the original would."""

    text: str | None = None
    sender: str | None = None


@dataclass(frozen=True)
class Sent:
    """notify: this notifier sent the notification to ``count`` recipients."""

    notifier: str
    count: int


# -- arguments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageDraft:
    """A submission about to be checked and accepted (contact groups already expanded)."""

    account_id: int
    account: str
    channel: str  # smpp, console, api, cli, system
    recipients: tuple[str, ...]  # as submitted, before their checks (not yet E.164)
    text: str
    sender: str
    subject: str


@dataclass(frozen=True)
class RoutedMessage:
    """A queued message and the connector its route gives (rule None: default connector)."""

    message_id: str
    account_id: int
    destination: str
    sender: str
    connector: str
    rule: str | None


@dataclass(frozen=True)
class ReceiptEvent:
    """A delivery receipt matched to its message and committed."""

    message_id: str
    connector: str
    stat: str  # DELIVRD, UNDELIV... as the SMSC wrote it
    status: str  # the gateway's status of the message after it
    error_code: str | None


@dataclass(frozen=True)
class MoEvent:
    """A mobile-originated message, committed (account None: no route takes it)."""

    mo_id: str
    connector: str
    source: str
    destination: str
    text: str
    account: str | None


NotificationKind = Literal["email", "sms"]


@dataclass(frozen=True)
class Notification:
    """Something to tell people: by e-mail (addresses) or by SMS (MSISDNs)."""

    kind: NotificationKind
    recipients: tuple[str, ...]
    subject: str
    body: str


# The fleet and billing hooks take the types of their areas (gatewayd/fleet/orders.py,
# gatewayd/billing/payments.py): an order and its outcome, a payment request and its result.
PaymentAnswer = Approved | Declined | Pending

BeforeAcceptResult = Accept | Reject | Rewrite

BEFORE_ACCEPT: HookSpec[MessageDraft, BeforeAcceptResult] = HookSpec(
    "before_accept",
    MessageDraft,
    (Accept, Reject, Rewrite),
    "first",
    "closed",
    2.0,
    "every submission, any channel, before its checks",
)
AFTER_ROUTE: HookSpec[RoutedMessage, None] = HookSpec(
    "after_route", RoutedMessage, (), "all", "open", 5.0, "a queued message got its route"
)
ON_RECEIPT: HookSpec[ReceiptEvent, None] = HookSpec(
    "on_receipt", ReceiptEvent, (), "all", "open", 5.0, "a receipt was matched and committed"
)
ON_MO: HookSpec[MoEvent, None] = HookSpec(
    "on_mo", MoEvent, (), "all", "open", 5.0, "an MO was committed"
)
NOTIFY: HookSpec[Notification, Sent] = HookSpec(
    "notify", Notification, (Sent,), "all", "open", 30.0, "gatewayd tells people something"
)
FLEET_BACKEND: HookSpec[Order, OrderResult] = HookSpec(
    "fleet_backend", Order, (OrderResult,), "first", "closed", 30.0, "a fleet order is executed"
)
PAYMENT: HookSpec[PaymentRequest, PaymentAnswer] = HookSpec(
    "payment",
    PaymentRequest,
    (Approved, Declined, Pending),
    "first",
    "closed",
    30.0,
    "a customer pays an invoice",
)

#: Every hook, by name.
HOOKS: Mapping[str, HookSpec[object, object]] = MappingProxyType(
    {
        spec.name: spec  # type: ignore[misc]
        for spec in (
            BEFORE_ACCEPT,
            AFTER_ROUTE,
            ON_RECEIPT,
            ON_MO,
            NOTIFY,
            FLEET_BACKEND,
            PAYMENT,
        )
    }
)
