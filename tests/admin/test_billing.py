"""The customer's billing pages: the month's consumption, the invoices (the account's own and
its client group's), downloads, paying by card through the payment hook (a test card plugin
loaded from the config, as any plugin is) exactly once, transfer instructions, receipts, and
another account's invoice as 404. A real gateway on a real SQLite file (or PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest_twisted
from sqlalchemy import select, update

from gatewayd.billing.settings import billing_settings
from gatewayd.storage.billing import generate_invoices
from gatewayd.storage.billing_models import Invoice, Payment
from gatewayd.storage.models import Account, AuditEntry, Client
from tests.admin.conftest import Browser, ConsoleRig, start_rig
from tests.admin.payment_fake_card import FakeCard

PERIOD = "2026-10"
SECTIONS: dict[str, Any] = {
    "billing": {"currency": "EUR", "vat_rate": "0.2", "plans": {"pro": {"fee": "30"}}},
    "plugins": {
        "card": {"module": "tests.admin.payment_fake_card", "limit_minor": 5_000},
        "payment_manual": {
            "module": "gatewayd.plugins.payment_manual",
            "payee": "Opérateur SA",
            "bank_account": "MU17 BOMM 0101",
        },
    },
}
_ATTEMPT = re.compile(r'name="attempt" value="([^"]+)"')


async def billing_rig(url: str) -> ConsoleRig:
    return await start_rig(url, SECTIONS)


@pytest_twisted.async_yield_fixture
async def brig(tmp_path: Path) -> AsyncIterator[ConsoleRig]:
    found = await billing_rig(f"sqlite:///{tmp_path}/gatewayd.db")
    yield found
    await found.gateway.stopService()


@pytest_twisted.async_yield_fixture
async def any_brig(db_url: str) -> AsyncIterator[ConsoleRig]:
    found = await billing_rig(db_url)
    yield found
    await found.gateway.stopService()


def _on_plan(s: Any, names: list[str], client: str | None) -> None:
    """The accounts on plan "pro" since January (so October's fee is due in full: 30 EUR + 20 %
    VAT), in a client group when ``client`` is given."""
    since = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    client_id = None
    if client is not None:
        group = Client(identifier=client, name=f"{client} SA", created_at=since)
        s.add(group)
        s.flush()
        client_id = group.id
    s.execute(
        update(Account)
        .where(Account.name.in_(names))
        .values(plan="pro", created_at=since, client_id=client_id)
    )


def _generate(rig: ConsoleRig) -> None:
    settings = billing_settings(rig.gateway.config.billing, "test")
    now = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
    rig.gateway.db.run_sync("generate", generate_invoices, settings, PERIOD, now)


def invoice_id(rig: ConsoleRig, account: str | None = None, client: str | None = None) -> int:
    def find(s: Any) -> int:
        q = select(Invoice.id)
        if account is not None:
            q = q.where(Invoice.customer_ref == account, Invoice.kind == "account")
        if client is not None:
            q = q.where(Invoice.customer_ref == client, Invoice.kind == "group")
        found = s.scalar(q)
        assert found is not None
        return int(found)

    return rig.gateway.db.run_sync("invoice", find)


def _state(rig: ConsoleRig, number: int) -> str:
    return str(
        rig.gateway.db.run_sync(
            "state", lambda s: s.scalar(select(Invoice.state).where(Invoice.id == number))
        )
    )


def card(rig: ConsoleRig) -> FakeCard:
    found = [p.instance for p in rig.gateway.plugins.plugins if isinstance(p.instance, FakeCard)]
    assert len(found) == 1
    return found[0]


async def billed(rig: ConsoleRig, client: str | None = None, *names: str) -> Browser:
    """A manager of ``names[0]`` (accounts made and invoiced for October)."""
    browser = await rig.customer(names[0], f"{names[0]}-boss")
    for name in names[1:]:
        await rig.customer(name, f"{name}-boss")
    rig.gateway.db.run_sync("plan", _on_plan, list(names), client)
    _generate(rig)
    return browser


@pytest_twisted.ensureDeferred
async def test_consumption_and_invoices_for_managers_only(brig: ConsoleRig) -> None:
    boss = await billed(brig, None, "acme")
    page = await boss.get("/billing")
    assert page.code == 200
    assert "Consommation en cours" in page.shown and 'id="consumption"' in page.text
    assert "F202610-A" in page.text and "36,00 EUR" in page.text and "Impayée" in page.text
    number = invoice_id(brig, "acme")
    detail = await boss.get(f"/billing/invoices/{number}")
    assert detail.code == 200 and "Plan pro, monthly fee" in detail.text
    assert "30,00 EUR" in detail.text and "6,00 EUR" in detail.text
    # A user of the account sees the consumption, not the money nor the invoices.
    user = await brig.customer("acme", "clerk", role="user")
    mine = await user.get("/billing")
    assert mine.code == 200 and "F202610-A" not in mine.text and "EUR" not in mine.text
    assert (await user.get(f"/billing/invoices/{number}")).code == 404


@pytest_twisted.ensureDeferred
async def test_another_accounts_invoice_is_404(any_brig: ConsoleRig) -> None:
    await billed(any_brig, None, "acme")
    other = await billed(any_brig, None, "globex")
    theirs = invoice_id(any_brig, "acme")
    for path in ("", ".pdf", ".csv", "/receipt", "/receipt.pdf"):
        assert (await other.get(f"/billing/invoices/{theirs}{path}")).code == 404, path
    await other.get("/billing")
    attempt = "a" * 32
    paid = await other.post(
        f"/billing/invoices/{theirs}/pay", {"method": "card", "attempt": attempt}
    )
    assert paid.code == 404 and card(any_brig).charges == []


@pytest_twisted.ensureDeferred
async def test_pay_by_card_once_and_print_the_receipt(any_brig: ConsoleRig) -> None:
    boss = await billed(any_brig, None, "acme")
    number = invoice_id(any_brig, "acme")
    page = await boss.get(f"/billing/invoices/{number}")
    found = _ATTEMPT.search(page.text)
    assert found is not None and 'id="pay-card"' in page.text
    form = {"method": "card", "attempt": found.group(1)}
    forged = await boss.post(f"/billing/invoices/{number}/pay", form, csrf=False)
    assert forged.code == 403 and card(any_brig).charges == []
    paid = await boss.post(f"/billing/invoices/{number}/pay", form)
    assert paid.code == 303
    assert paid.location == f"/billing/invoices/{number}/receipt?flash=invoice_paid"
    again = await boss.post(f"/billing/invoices/{number}/pay", form)  # a double click
    assert again.location.endswith("flash=invoice_already_paid")
    assert card(any_brig).charges == [(f"{number}-{found.group(1)}", 3_600)]
    receipt = await boss.get(paid.location)
    assert receipt.code == 200 and "CARD-000001" in receipt.text
    assert "Reçu de paiement" in receipt.shown and "36,00 EUR" in receipt.text
    assert '<link rel="stylesheet" href="/static/billing.css">' in receipt.text
    css = await boss.get("/static/billing.css")
    assert "@media print" in css.text
    pdf = await boss.get(f"/billing/invoices/{number}/receipt.pdf")
    assert pdf.code == 200 and pdf.body.startswith(b"%PDF")
    state = any_brig.gateway.db.run_sync(
        "state", lambda s: s.scalar(select(Invoice.state).where(Invoice.id == number))
    )
    assert state == "paid"
    entries = any_brig.gateway.db.run_sync(
        "audit",
        lambda s: list(
            s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "invoice_paid"))
        ),
    )
    assert len(entries) == 1 and entries[0].startswith("invoice F202610-A")
    assert "card" in entries[0] and "CARD-000001" in entries[0]


@pytest_twisted.ensureDeferred
async def test_group_invoice_declined_by_the_card(brig: ConsoleRig) -> None:
    boss = await billed(brig, "ACME-GRP", "acme", "acme-sales")
    own = await boss.get("/billing")
    assert "F202610-A" in own.text and "?view=group" in own.text
    group = await boss.get("/billing?view=group")
    assert "F202610-C" in group.text and "72,00 EUR" in group.text
    number = invoice_id(brig, client="ACME-GRP")
    page = await boss.get(f"/billing/invoices/{number}")
    found = _ATTEMPT.search(page.text)
    assert found is not None
    declined = await boss.post(
        f"/billing/invoices/{number}/pay", {"method": "card", "attempt": found.group(1)}
    )
    assert declined.code == 402 and "Card declined" in declined.text
    assert card(brig).charges == []
    # The account invoice is billed in the group's: it is not paid on its own.
    mine = invoice_id(brig, "acme")
    page = await boss.get(f"/billing/invoices/{mine}")
    assert "F202610-C" in page.text and 'id="pay-card"' not in page.text
    refused = await boss.post(
        f"/billing/invoices/{mine}/pay", {"method": "card", "attempt": "b" * 32}
    )
    assert refused.code == 409 and card(brig).charges == []
    payments = brig.gateway.db.run_sync("payments", lambda s: s.scalar(select(Payment.id)))
    assert payments is None


@pytest_twisted.ensureDeferred
async def test_downloads_and_transfer_instructions(brig: ConsoleRig) -> None:
    boss = await billed(brig, None, "acme")
    number = invoice_id(brig, "acme")
    pdf = await boss.get(f"/billing/invoices/{number}.pdf")
    assert pdf.code == 200 and pdf.body.startswith(b"%PDF")
    assert re.fullmatch(
        r'attachment; filename="F202610-A\d+\.pdf"', pdf.headers["content-disposition"]
    )
    csv = await boss.get(f"/billing/invoices/{number}.csv")
    assert csv.code == 200 and "text/csv" in csv.headers["content-type"]
    assert "Total TTC (EUR);;;;36.00" in csv.body.decode("utf-8-sig")
    page = await boss.get(f"/billing/invoices/{number}")
    assert "MU17 BOMM 0101" in page.text and "Opérateur SA" in page.shown
    transfer = await boss.post(
        f"/billing/invoices/{number}/pay", {"method": "manual", "attempt": "c" * 32}
    )
    assert transfer.location == f"/billing/invoices/{number}?flash=pay_by_transfer"
    state = brig.gateway.db.run_sync(
        "state", lambda s: s.scalar(select(Invoice.state).where(Invoice.id == number))
    )
    assert state == "unpaid"


@pytest_twisted.ensureDeferred
async def test_a_forged_attempt_key_or_method_is_a_clear_400(brig: ConsoleRig) -> None:
    boss = await billed(brig, None, "acme")
    number = invoice_id(brig, "acme")
    await boss.get(f"/billing/invoices/{number}")
    bad_key = await boss.post(f"/billing/invoices/{number}/pay", {"method": "card", "attempt": "x"})
    assert bad_key.code == 400 and "formulaire de paiement" in bad_key.shown
    bad_method = await boss.post(
        f"/billing/invoices/{number}/pay", {"method": "bitcoin", "attempt": "d" * 32}
    )
    assert bad_method.code == 400 and card(brig).charges == []


@pytest_twisted.ensureDeferred
async def test_pending_goes_to_https_or_back_to_the_invoice_never_elsewhere(
    tmp_path: Path,
) -> None:
    for url, expected in (
        ("https://psp.example/3ds?id=1", "https://psp.example/3ds?id=1"),
        ("//evil.example/x", None),
        ("javascript:alert(1)", None),
    ):
        sections = {
            **SECTIONS,
            "plugins": {"card": {**SECTIONS["plugins"]["card"], "pending_url": url}},
        }
        rig = await start_rig(f"sqlite:///{tmp_path}/{len(url)}.db", sections)
        try:
            boss = await billed(rig, None, "acme")
            number = invoice_id(rig, "acme")
            page = await boss.get(f"/billing/invoices/{number}")
            found = _ATTEMPT.search(page.text)
            assert found is not None
            sent = await boss.post(
                f"/billing/invoices/{number}/pay", {"method": "card", "attempt": found.group(1)}
            )
            assert sent.code == 303
            assert sent.location == (expected or f"/billing/invoices/{number}"), url
            assert _state(rig, number) == "unpaid"
        finally:
            await rig.gateway.stopService()
