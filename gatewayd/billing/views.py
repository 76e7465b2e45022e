"""What the store gives of an invoice, for the pages and the documents. Pure values."""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.billing.invoices import UsageRow
from gatewayd.billing.money import Money


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    kind: str  # "account" or "group"
    period: str
    customer_ref: str
    customer_name: str
    total: Money
    state: str  # "unpaid" or "paid"
    issued_at: float
    paid_at: float | None
    account_id: int | None
    client_id: int | None
    group_invoice_id: int | None


@dataclass(frozen=True)
class LineView:
    kind: str
    description: str
    zone: str
    quantity: int
    unit_price: str
    amount: Money


@dataclass(frozen=True)
class PaymentView:
    invoice_id: int
    invoice_number: str
    receipt_number: str
    method: str
    amount: Money
    paid_at: float


@dataclass(frozen=True)
class InvoiceDetail:
    row: InvoiceRow
    subtotal: Money
    vat_rate: str
    vat: Money
    customer_address: str
    lines: tuple[LineView, ...]
    usage: tuple[UsageRow, ...]  # the consumption detail (account invoices)
    payment: PaymentView | None  # a group's payment for its accounts' invoices
    group_number: str | None  # the group invoice that bills this account invoice
