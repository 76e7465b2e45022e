"""The operator's billing pages: every invoice with filters, issuing a month (idempotent, from
the console), the manual payment with a receipt number (admin only, audited), the viewer's
read-only look, CSRF on every POST, and clear refusals. A real gateway on SQLite/PostgreSQL."""

from __future__ import annotations

import html
from typing import Any

import pytest_twisted
from sqlalchemy import func, select

from gatewayd.storage.billing_models import Invoice, Payment
from gatewayd.storage.models import AuditEntry
from tests.admin.conftest import Browser, ConsoleRig
from tests.admin.test_billing import PERIOD, _on_plan, any_brig, brig, invoice_id

__all__ = ["any_brig", "brig"]


def _count(rig: ConsoleRig, model: Any) -> int:
    return int(rig.gateway.db.run_sync("count", lambda s: s.scalar(select(func.count(model.id)))))


def _audit(rig: ConsoleRig, action: str) -> list[str]:
    return rig.gateway.db.run_sync(
        "audit",
        lambda s: list(s.scalars(select(AuditEntry.detail).where(AuditEntry.action == action))),
    )


async def _customers(rig: ConsoleRig) -> None:
    for name in ("acme", "acme-sales", "globex"):
        await rig.customer(name, f"{name}-boss")
    rig.gateway.db.run_sync("plan", _on_plan, ["acme", "acme-sales"], "ACME-GRP")
    rig.gateway.db.run_sync("plan", _on_plan, ["globex"], None)


@pytest_twisted.ensureDeferred
async def test_issue_a_month_twice_creates_nothing_more(any_brig: ConsoleRig) -> None:
    await _customers(any_brig)
    admin = await any_brig.operator("olga")
    page = await admin.get("/admin/billing")
    assert page.code == 200 and "Aucune facture ne correspond" in page.shown
    forged = await admin.post("/admin/billing/generate", {"period": PERIOD}, csrf=False)
    assert forged.code == 403 and _count(any_brig, Invoice) == 0
    done = await admin.post("/admin/billing/generate", {"period": PERIOD})
    assert done.code == 303 and "flash=invoices_generated" in done.location
    assert _count(any_brig, Invoice) == 4  # three accounts and the group
    again = await admin.post("/admin/billing/generate", {"period": PERIOD})
    assert again.code == 303 and _count(any_brig, Invoice) == 4
    details = _audit(any_brig, "invoices_generated")
    assert details[0].startswith(f"period {PERIOD}: 3 account invoices, 1 group invoices")
    assert details[1].startswith(f"period {PERIOD}: 0 account invoices, 0 group invoices")
    listed = await admin.get("/admin/billing")
    assert listed.text.count('href="/admin/billing/invoices/') >= 4
    bad = await admin.post("/admin/billing/generate", {"period": "2026-13"})
    assert bad.code == 400 and "2026-13 n'est pas un mois (AAAA-MM)." in bad.shown


@pytest_twisted.ensureDeferred
async def test_filters_by_state_account_and_client(brig: ConsoleRig) -> None:
    await _customers(brig)
    admin = await brig.operator("olga")
    await admin.get("/admin/billing")
    await admin.post("/admin/billing/generate", {"period": PERIOD})
    globex = (await admin.get("/admin/billing?account=globex")).text
    assert "F202610-A" in globex and "acme" not in globex.split("<main", 1)[1]
    group = (await admin.get("/admin/billing?client=ACME-GRP")).text
    assert "F202610-C" in group and "globex" not in group.split("<main", 1)[1]
    assert "F202610-C" not in (await admin.get("/admin/billing?state=paid")).text
    unknown = await admin.get("/admin/billing?account=nobody")
    assert unknown.code == 404 and "Aucun compte ne s'appelle nobody." in unknown.shown
    hostile = await admin.get("/admin/billing?client=%3Cscript%3E")
    assert hostile.code == 404 and "<script>" not in hostile.text
    month = (await admin.get(f"/admin/billing?month={PERIOD}")).text
    assert month.count('href="/admin/billing/invoices/') >= 4
    other = (await admin.get("/admin/billing?month=2025-01")).text
    assert "F202610-" not in other and "Aucune facture ne correspond" in html.unescape(other)
    assert 'value="2025-01"' in other  # the filter is kept in the form


@pytest_twisted.ensureDeferred
async def test_mark_paid_manually_admin_only_and_audited(any_brig: ConsoleRig) -> None:
    await _customers(any_brig)
    admin = await any_brig.operator("olga")
    await admin.get("/admin/billing")
    await admin.post("/admin/billing/generate", {"period": PERIOD})
    number = invoice_id(any_brig, "globex")
    viewer = await any_brig.operator("vera", role="viewer")
    seen = await viewer.get(f"/admin/billing/invoices/{number}")
    assert (
        seen.code == 200
        and 'id="mark-paid"' not in seen.text
        and 'id="generate"' not in (await viewer.get("/admin/billing")).text
    )
    refused = await viewer.post(f"/admin/billing/invoices/{number}/paid", {"receipt_number": "V1"})
    assert refused.code == 403
    assert (await viewer.post("/admin/billing/generate", {"period": PERIOD})).code == 403
    page = await admin.get(f"/admin/billing/invoices/{number}")
    assert 'id="mark-paid"' in page.text
    forged = await admin.post(
        f"/admin/billing/invoices/{number}/paid", {"receipt_number": "VIR-1"}, csrf=False
    )
    assert forged.code == 403 and _count(any_brig, Payment) == 0
    paid = await admin.post(f"/admin/billing/invoices/{number}/paid", {"receipt_number": "VIR-1"})
    assert paid.code == 303 and paid.location.endswith("flash=invoice_marked_paid")
    shown = await admin.get(paid.location)
    assert "VIR-1" in shown.text and "Virement bancaire" in shown.text
    assert "La facture est marquée payée." in shown.shown
    entries = _audit(any_brig, "invoice_paid")
    assert len(entries) == 1 and entries[0].startswith("invoice F202610-A")
    assert entries[0].endswith(": paid by manual, receipt VIR-1")
    twice = await admin.post(f"/admin/billing/invoices/{number}/paid", {"receipt_number": "VIR-2"})
    assert twice.code == 409 and _count(any_brig, Payment) == 1
    assert "Cette facture est déjà réglée." in twice.shown
    # The group invoice: a receipt number already used is refused, nothing written.
    group = invoice_id(any_brig, client="ACME-GRP")
    await admin.get(f"/admin/billing/invoices/{group}")
    taken = await admin.post(f"/admin/billing/invoices/{group}/paid", {"receipt_number": "VIR-1"})
    assert taken.code == 409 and "Le numéro de reçu VIR-1 est déjà utilisé." in taken.shown
    assert 'value="VIR-1"' in taken.text and _count(any_brig, Payment) == 1
    # An account invoice billed in the group's is paid through the group's.
    member = invoice_id(any_brig, "acme")
    billed = await admin.post(f"/admin/billing/invoices/{member}/paid", {"receipt_number": "VIR-3"})
    assert billed.code == 409 and _count(any_brig, Payment) == 1
    assert "reprise dans la facture de groupe F202610-C" in billed.shown
    empty = await admin.post(f"/admin/billing/invoices/{group}/paid", {"receipt_number": " "})
    assert empty.code == 400 and "Un numéro de reçu compte de 1 à 64" in empty.shown
    missing = await admin.post("/admin/billing/invoices/999999/paid", {"receipt_number": "X"})
    assert missing.code == 404
    pdf = await admin.get(f"/admin/billing/invoices/{group}.pdf")
    assert pdf.code == 200 and pdf.body.startswith(b"%PDF")
    customer = Browser(any_brig.base)
    await customer.login("globex-boss")
    assert (await customer.get("/admin/billing")).code == 404
    receipt = await customer.get(f"/billing/invoices/{number}/receipt")
    assert receipt.code == 200 and "VIR-1" in receipt.text
