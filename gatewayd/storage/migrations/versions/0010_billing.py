"""Billing (issue 7): invoices per account and per client group, their lines and consumption
detail, and payments (one per invoice).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", Id, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("owner_key", sa.String(24), nullable=False),
        sa.Column("account_id", Id, nullable=True),
        sa.Column("client_id", Id, nullable=True),
        sa.Column("group_invoice_id", Id, nullable=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("vat_rate", sa.String(12), nullable=False),
        sa.Column("vat", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("customer_ref", sa.String(100), nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("customer_address", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("paid_at", sa.Float(), nullable=True),
        _fk("invoices", "account_id", "accounts", "SET NULL"),
        _fk("invoices", "client_id", "clients", "SET NULL"),
        _fk("invoices", "group_invoice_id", "invoices", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("owner_key", "period", name=op.f("uq_invoices_owner_key")),
    )
    for column in ("account_id", "client_id", "group_invoice_id", "period"):
        op.create_index(op.f(f"ix_invoices_{column}"), "invoices", [column])
    op.create_table(
        "invoice_lines",
        sa.Column("id", Id, nullable=False),
        sa.Column("invoice_id", Id, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("zone", sa.String(32), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.String(24), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        _fk("invoice_lines", "invoice_id", "invoices", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    op.create_index(op.f("ix_invoice_lines_invoice_id"), "invoice_lines", ["invoice_id"])
    op.create_table(
        "invoice_usage",
        sa.Column("id", Id, nullable=False),
        sa.Column("invoice_id", Id, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("zone", sa.String(32), nullable=False),
        sa.Column("out_of_bundle", sa.Boolean(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("parts", sa.BigInteger(), nullable=False),
        _fk("invoice_usage", "invoice_id", "invoices", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_usage")),
    )
    op.create_index(op.f("ix_invoice_usage_invoice_id"), "invoice_usage", ["invoice_id"])
    op.create_table(
        "payments",
        sa.Column("id", Id, nullable=False),
        sa.Column("invoice_id", Id, nullable=False),
        sa.Column("receipt_number", sa.String(64), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("paid_at", sa.Float(), nullable=False),
        _fk("payments", "invoice_id", "invoices", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_payments_invoice_id")),
        sa.UniqueConstraint("receipt_number", name=op.f("uq_payments_receipt_number")),
    )


def downgrade() -> None:
    op.drop_table("payments")
    op.drop_table("invoice_usage")
    op.drop_table("invoice_lines")
    for column in ("period", "group_invoice_id", "client_id", "account_id"):
        op.drop_index(op.f(f"ix_invoices_{column}"), table_name="invoices")
    op.drop_table("invoices")
