"""Paying an invoice: the ``payment`` hook's types and the desk that calls it once per attempt.

A payment processor is a plugin that implements :class:`PaymentProcessor`: it gets a
:class:`PaymentRequest` (which invoice, whose, how much as
:class:`~gatewayd.billing.money.Money`, the method the customer chose, where to send them
back) and answers one :class:`PaymentResult`:

- :class:`Approved` with the processor's receipt number: the invoice is then marked paid;
- :class:`Declined` with a reason the customer is shown (nothing is charged);
- :class:`Pending` with a URL the customer is sent to (a card issuer's 3-D Secure page, a
  transfer's instructions); the invoice stays unpaid until the processor or an operator
  confirms it.

A processor implements the plugin host's ``payment`` hook (gatewayd/plugins/hooks.py): its
``payment`` method answers at once, returns a Deferred or is a coroutine, and answers None for a
method that is not its own. The host asks the configured processors in order and the first
answer that is not None wins; a failing or silent processor fails *closed*: the attempt is
:class:`Declined` and nothing is marked paid.

:class:`PaymentDesk` makes paying twice harmless: every attempt carries a key (the pay form's
own, so a double click or a replayed POST reuses it), the processor gets that key to pass on to
its payment service, the same key answers the first attempt's result without calling the
processor again, and one invoice has at most one attempt in flight.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, cast, runtime_checkable

from twisted.internet.defer import Deferred, ensureDeferred

from gatewayd.billing.money import Money
from gatewayd.errors import FieldError

#: Attempt keys the desk remembers (the oldest are forgotten first).
REMEMBERED_ATTEMPTS = 10_000
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class PaymentRequest:
    invoice_id: int
    account: str  # the account's name (the invoice's, or its client group's first)
    amount: Money  # integer minor units and the currency, never a float
    method: str  # the processor's method name, e.g. "card", "manual"
    return_url: str  # where the processor sends the customer back (a console path)
    attempt_key: str = ""  # the same for every retry of one attempt: pass it on as idempotency key


@dataclass(frozen=True)
class Approved:
    receipt_number: str


@dataclass(frozen=True)
class Declined:
    reason: str  # shown to the customer (an English msgid when it is the console's own)


@dataclass(frozen=True)
class Pending:
    redirect_url: str


PaymentResult = Approved | Declined | Pending

PaymentAnswer = (
    PaymentResult
    | None
    | Deferred[PaymentResult | None]
    | Coroutine[Any, Any, PaymentResult | None]
)


@runtime_checkable
class PaymentProcessor(Protocol):
    """A payment plugin: the method it offers customers ("card"...) and how it pays (None:
    the request's method is not its own)."""

    @property
    def method(self) -> str: ...

    def payment(self, request: PaymentRequest) -> PaymentAnswer: ...


def answer(processor: PaymentProcessor, request: PaymentRequest) -> Deferred[PaymentResult | None]:
    """``processor.payment(request)`` as a Deferred, whatever way it answers."""
    try:
        result = processor.payment(request)
    except Exception as error:
        failed: Deferred[PaymentResult | None] = Deferred()
        failed.errback(error)
        return failed
    if isinstance(result, Deferred):
        return result
    if isinstance(result, Coroutine):
        return ensureDeferred(result)
    done: Deferred[PaymentResult | None] = Deferred()
    done.callback(result)
    return done


def checked_key(key: str) -> str:
    """An attempt key from a form: 16 to 64 URL-safe characters."""
    if not _KEY.match(key):
        raise FieldError("The payment form has expired: reload the page and try again.")
    return key


#: What the desk calls to pay (the plugin host's ``payment`` hook, or :func:`first_processor`);
#: None: no processor took the request.
Pay = Callable[[PaymentRequest], Awaitable[PaymentResult | None]]


class PaymentDesk:
    """One attempt per key and at most one attempt in flight per invoice, in this process.

    The invoice's own state (unpaid, paid) is checked by the caller in the database before and
    after: the desk only keeps two concurrent or repeated POSTs from charging twice."""

    def __init__(self, pay: Pay, remembered: int = REMEMBERED_ATTEMPTS) -> None:
        self._pay = pay
        self._remembered = remembered
        self._results: OrderedDict[str, PaymentResult] = OrderedDict()
        self._in_flight: set[int] = set()

    def result_of(self, key: str) -> PaymentResult | None:
        """What the attempt ``key`` answered, if it was made here."""
        return self._results.get(key)

    async def attempt(self, request: PaymentRequest) -> PaymentResult:
        """The attempt's result: the first one's for a key already used; :class:`Declined`
        while another attempt for the same invoice is in flight, or when the processor
        fails (closed: nothing is charged)."""
        key = checked_key(request.attempt_key)
        known = self._results.get(key)
        if known is not None:
            return known
        if request.invoice_id in self._in_flight:
            return Declined("A payment of this invoice is already in progress.")
        self._in_flight.add(request.invoice_id)
        try:
            failed = Declined("The payment could not be processed: nothing was charged.")
            try:
                answered: object = await self._pay(request)
            except Exception:
                answered = failed
            result: PaymentResult
            if answered is None:
                result = Declined("This payment method is not available.")
            elif isinstance(answered, (Approved, Declined, Pending)):
                result = answered
            else:  # a plugin's answer of the wrong type: fail closed
                result = failed
            self._remember(key, result)
            return result
        finally:
            self._in_flight.discard(request.invoice_id)

    def _remember(self, key: str, result: PaymentResult) -> None:
        self._results[key] = result
        while len(self._results) > self._remembered:
            self._results.popitem(last=False)


def first_processor(processors: list[PaymentProcessor]) -> Pay:
    """A :data:`Pay` over processors without the plugin host (as the hook's "first" mode
    does, without its timeout): the first answer that is not None."""

    async def pay(request: PaymentRequest) -> PaymentResult | None:
        for processor in processors:
            result = await answer(processor, request)
            if result is not None:
                return result
        return None

    return pay


@dataclass(frozen=True)
class Payments:
    """What the console pays with: the payment plugins, in the config's order (the methods
    the invoice page offers, the manual payment's instructions), and the call that pays (the
    plugin host's ``payment`` hook; None: :func:`first_processor` over them)."""

    processors: tuple[PaymentProcessor, ...] = ()
    pay: Pay | None = None

    def call(self) -> Pay:
        return self.pay if self.pay is not None else first_processor(list(self.processors))

    def offered(self, method: str) -> PaymentProcessor | None:
        """The first plugin offering ``method``, if any."""
        return next((p for p in self.processors if p.method == method), None)


def hook_payments(
    plugins: Iterable[object], first: Callable[[PaymentRequest], Awaitable[object]]
) -> Payments:
    """The :class:`Payments` of the loaded plugins, paying through the hook's ``first`` call
    (the host checks the answers' types; the desk fails anything else closed)."""

    async def pay(request: PaymentRequest) -> PaymentResult | None:
        return cast(PaymentResult | None, await first(request))

    return Payments(tuple(p for p in plugins if isinstance(p, PaymentProcessor)), pay)
