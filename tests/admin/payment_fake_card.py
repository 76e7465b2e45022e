"""A card payment plugin for tests only (not shipped): approves an amount up to its limit and
declines above it, as a card issuer would; it counts what it charged, per attempt key, so a test
can see that paying twice never charges twice. It answers through a Deferred, or a coroutine
with ``as_coroutine``, to exercise both ways a plugin may answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from twisted.internet.defer import succeed

from gatewayd.billing.payments import (
    Approved,
    Declined,
    PaymentAnswer,
    PaymentRequest,
    PaymentResult,
    Pending,
)

METHOD = "card"


@dataclass
class FakeCard:
    limit_minor: int = 100_000  # approves up to this many minor units
    pending_url: str = ""  # set: every payment is Pending to this URL (a 3-D Secure page)
    as_coroutine: bool = False
    method: str = METHOD
    charges: list[tuple[str, int]] = field(default_factory=list)  # (attempt key, minor units)

    def _decide(self, request: PaymentRequest) -> PaymentResult:
        if self.pending_url:
            return Pending(self.pending_url)
        if request.amount.minor > self.limit_minor:
            return Declined("Card declined: amount over the card's limit.")
        self.charges.append((request.attempt_key, request.amount.minor))
        return Approved(f"CARD-{len(self.charges):06d}")

    def payment(self, request: PaymentRequest) -> PaymentAnswer:
        if request.method != METHOD:
            return None
        if self.as_coroutine:
            return self._later(request)
        answered: PaymentResult | None = self._decide(request)
        return succeed(answered)

    async def _later(self, request: PaymentRequest) -> PaymentResult | None:
        return self._decide(request)


def plugin(config: Mapping[str, object], context: object) -> FakeCard:
    """The plugin host's factory: ``[plugins.card] module = "tests.admin.payment_fake_card"``,
    ``limit_minor`` optional."""
    limit = config.get("limit_minor", 100_000)
    pending = config.get("pending_url", "")
    if not isinstance(limit, int) or not isinstance(pending, str):
        raise ValueError("card: limit_minor is an integer, pending_url text")
    if set(config) - {"limit_minor", "pending_url"}:
        raise ValueError("card: only limit_minor and pending_url")
    return FakeCard(limit_minor=limit, pending_url=pending)
