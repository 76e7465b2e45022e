"""The billing tables (issue 7): invoices, their lines and consumption detail, and payments.

Kept out of :mod:`gatewayd.storage.models` so the billing area owns its file; the tables are on
the same :class:`~gatewayd.storage.models.Base` (the migrations' env imports this module).
Money is integer minor units (cents) in the invoice's currency; a unit price, which may have
more decimals than the currency, is decimal text. An invoice is a document: the customer's name
and address are copied into it when it is issued, and it outlives the account (SET NULL).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gatewayd.storage.models import Base, Id

#: Invoice states.
UNPAID, PAID = "unpaid", "paid"
#: Invoice kinds: one account's month, or a client group's month over its accounts' invoices.
ACCOUNT, GROUP = "account", "group"


class Invoice(Base):
    """One account's (kind "account") or one client group's (kind "group") invoice for a month.

    ``owner_key`` ("a<id>" or "c<id>") with ``period`` is unique: generating a month twice
    creates nothing new, even from two nodes at once. An account invoice of a client group's
    account points at the group invoice that bills it (``group_invoice_id``); that one is paid.
    """

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("owner_key", "period"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    owner_key: Mapped[str] = mapped_column(String(24))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    group_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), index=True
    )
    period: Mapped[str] = mapped_column(String(7), index=True)  # "YYYY-MM"
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)  # minor units, before VAT
    vat_rate: Mapped[str] = mapped_column(String(12), default="0")  # decimal text, 0.2 = 20 %
    vat: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(8), default=UNPAID)
    # Copied when issued: the document does not change when the profile does.
    customer_ref: Mapped[str] = mapped_column(String(100))  # account name or client identifier
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_address: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[float] = mapped_column(Float)
    paid_at: Mapped[float | None] = mapped_column(Float)


class InvoiceLine(Base):
    """A billed item: the plan's fee, a zone's SMS parts, out-of-bundle parts, or (on a group
    invoice) one account's invoice."""

    __tablename__ = "invoice_lines"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "plan", "usage", "out_of_bundle", "account"
    description: Mapped[str] = mapped_column(String(200))
    zone: Mapped[str] = mapped_column(String(32), default="")
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_price: Mapped[str] = mapped_column(String(24))  # decimal text ("" when it varies)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units


class InvoiceUsage(Base):
    """The consumption detail of an account invoice: messages and parts per local day, zone and
    bundle, as rated."""

    __tablename__ = "invoice_usage"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[str] = mapped_column(String(10))  # "YYYY-MM-DD", the account's time zone
    zone: Mapped[str] = mapped_column(String(32))
    out_of_bundle: Mapped[bool] = mapped_column(Boolean, default=False)
    messages: Mapped[int] = mapped_column(BigInteger)
    parts: Mapped[int] = mapped_column(BigInteger)


class Payment(Base):
    """The payment of an invoice (in full): one per invoice, held by the unique index, so two
    payments of the same invoice at once cannot both be recorded."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), unique=True
    )
    receipt_number: Mapped[str] = mapped_column(String(64), unique=True)
    method: Mapped[str] = mapped_column(String(32))  # "manual", "card", a plugin's name
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_at: Mapped[float] = mapped_column(Float)
