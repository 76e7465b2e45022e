"""The payment hook's types, the desk that makes paying twice harmless, and the built-in
manual payment's config (pure: no reactor needed beyond already-fired Deferreds)."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred

from gatewayd.billing.money import Money
from gatewayd.billing.payments import (
    Approved,
    Declined,
    PaymentDesk,
    PaymentProcessor,
    PaymentRequest,
    PaymentResult,
    Pending,
    first_processor,
)
from gatewayd.errors import ConfigError, FieldError
from gatewayd.plugins.payment_manual import ManualPayment
from tests.admin.payment_fake_card import FakeCard

KEY = "k" * 20


def _request(
    minor: int = 1_500, method: str = "card", key: str = KEY, invoice: int = 7
) -> PaymentRequest:
    return PaymentRequest(invoice, "acme", Money(minor, "EUR"), method, "/billing/invoices/7", key)


@pytest.mark.parametrize("coroutine", [False, True])
@pytest_twisted.ensureDeferred
async def test_card_approves_under_its_limit_and_declines_above(coroutine: bool) -> None:
    card = FakeCard(limit_minor=2_000, as_coroutine=coroutine)
    assert isinstance(card, PaymentProcessor)
    desk = PaymentDesk(first_processor([ManualPayment(), card]))
    approved = await desk.attempt(_request(1_500))
    assert approved == Approved("CARD-000001")
    declined = await desk.attempt(_request(2_500, key="d" * 20, invoice=8))
    assert isinstance(declined, Declined) and "limit" in declined.reason
    assert card.charges == [(KEY, 1_500)]


@pytest_twisted.ensureDeferred
async def test_the_same_attempt_key_never_charges_twice() -> None:
    card = FakeCard()
    desk = PaymentDesk(first_processor([card]))
    first = await desk.attempt(_request())
    again = await desk.attempt(_request())
    assert first == again and len(card.charges) == 1
    assert desk.result_of(KEY) == first


@pytest_twisted.ensureDeferred
async def test_one_attempt_in_flight_per_invoice() -> None:
    waiting: Deferred[PaymentResult | None] = Deferred()
    calls: list[str] = []

    async def slow(request: PaymentRequest) -> PaymentResult | None:
        calls.append(request.attempt_key)
        return await waiting

    desk = PaymentDesk(slow)
    first = Deferred.fromCoroutine(desk.attempt(_request()))
    second = await desk.attempt(_request(key="s" * 20))
    assert isinstance(second, Declined) and "already in progress" in second.reason
    waiting.callback(Approved("R1"))
    assert await first == Approved("R1") and calls == [KEY]


@pytest_twisted.ensureDeferred
async def test_a_failing_or_wrong_plugin_fails_closed() -> None:
    class Broken:
        method = "card"

        def payment(self, request: PaymentRequest) -> PaymentResult:
            raise RuntimeError("card service down")

    class Wrong:
        method = "card"

        def payment(self, request: PaymentRequest) -> object:
            return "yes"

    broken = await PaymentDesk(first_processor([Broken()])).attempt(_request())
    assert isinstance(broken, Declined) and "nothing was charged" in broken.reason
    wrong = await PaymentDesk(first_processor([Wrong()])).attempt(_request())  # type: ignore[list-item]
    assert isinstance(wrong, Declined) and "nothing was charged" in wrong.reason
    nobody = await PaymentDesk(first_processor([])).attempt(_request())
    assert nobody == Declined("This payment method is not available.")


@pytest_twisted.ensureDeferred
async def test_a_forged_attempt_key_is_refused() -> None:
    desk = PaymentDesk(first_processor([FakeCard()]))
    with pytest.raises(FieldError):
        await desk.attempt(_request(key="short"))
    with pytest.raises(FieldError):
        await desk.attempt(_request(key="x" * 20 + "<script>"))


def test_manual_payment_sends_back_to_the_instructions() -> None:
    manual = ManualPayment.from_config({"payee": " Opérateur SA ", "bank_account": "MU17 BOMM"})
    assert manual.payee == "Opérateur SA" and manual.instructions == ""
    assert manual.payment(_request(method="manual")) == Pending("/billing/invoices/7")
    assert manual.payment(_request(method="card")) is None


def test_manual_payment_config_is_strict() -> None:
    with pytest.raises(ConfigError, match=r"plugins\.payment_manual\.iban: unknown key"):
        ManualPayment.from_config({"iban": "x"})
    with pytest.raises(ConfigError, match=r"payee: must be text"):
        ManualPayment.from_config({"payee": 3})
