"""The fleet (issue 7): the plan and option catalogue, customers' lines and their SIM pool,
the asynchronous orders on lines with their idempotency keys, and the consumption journal.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def _uq(table: str, column: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(column, name=op.f(f"uq_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "fleet_plans",
        sa.Column("id", Id, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("range", sa.String(length=16), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("data_mb", sa.BigInteger(), nullable=False),
        sa.Column("voice_minutes", sa.Integer(), nullable=True),
        sa.Column("sms", sa.Integer(), nullable=True),
        sa.Column("monthly_fee", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float(), nullable=False),
        _pk("fleet_plans", "id"),
        _uq("fleet_plans", "code"),
    )
    op.create_table(
        "fleet_options",
        sa.Column("id", Id, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("monthly_fee", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float(), nullable=False),
        _pk("fleet_options", "id"),
        _uq("fleet_options", "code"),
    )
    op.create_table(
        "fleet_accounts",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("esim_allowed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        _fk("fleet_accounts", "account_id", "accounts", "CASCADE"),
        _pk("fleet_accounts", "account_id"),
    )
    op.create_table(
        "fleet_lines",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("msisdn", sa.String(length=21), nullable=False),
        sa.Column("iccid", sa.String(length=22), nullable=False),
        sa.Column("puk", sa.String(length=16), nullable=False),
        sa.Column("sim_kind", sa.String(length=8), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("site", sa.String(length=100), nullable=False),
        sa.Column("contract", sa.String(length=32), nullable=False),
        sa.Column("plan_id", Id, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("delivered_on", sa.String(length=10), nullable=True),
        sa.Column("pending_plan_id", Id, nullable=True),
        sa.Column("plan_effective", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        _fk("fleet_lines", "account_id", "accounts", "CASCADE"),
        _fk("fleet_lines", "plan_id", "fleet_plans", "RESTRICT"),
        _fk("fleet_lines", "pending_plan_id", "fleet_plans", "SET NULL"),
        _pk("fleet_lines", "id"),
        _uq("fleet_lines", "msisdn"),
        _uq("fleet_lines", "iccid"),
    )
    op.create_index("ix_fleet_lines_account_state", "fleet_lines", ["account_id", "state"])
    op.create_table(
        "fleet_line_options",
        sa.Column("line_id", Id, nullable=False),
        sa.Column("option_id", Id, nullable=False),
        sa.Column("added_at", sa.Float(), nullable=False),
        _fk("fleet_line_options", "line_id", "fleet_lines", "CASCADE"),
        _fk("fleet_line_options", "option_id", "fleet_options", "RESTRICT"),
        _pk("fleet_line_options", "line_id", "option_id"),
    )
    op.create_table(
        "fleet_sims",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("iccid", sa.String(length=22), nullable=False),
        sa.Column("puk", sa.String(length=16), nullable=False),
        sa.Column("line_id", Id, nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        _fk("fleet_sims", "account_id", "accounts", "CASCADE"),
        _fk("fleet_sims", "line_id", "fleet_lines", "SET NULL"),
        _pk("fleet_sims", "id"),
        _uq("fleet_sims", "iccid"),
    )
    op.create_index("ix_fleet_sims_account_line", "fleet_sims", ["account_id", "line_id"])
    op.create_table(
        "fleet_orders",
        sa.Column("id", Id, nullable=False),
        sa.Column("number", sa.String(length=24), nullable=True),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("effective_on", sa.String(length=10), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("notified_at", sa.Float(), nullable=True),
        _fk("fleet_orders", "account_id", "accounts", "CASCADE"),
        _fk("fleet_orders", "user_id", "users", "SET NULL"),
        _pk("fleet_orders", "id"),
        _uq("fleet_orders", "number"),
    )
    op.create_index("ix_fleet_orders_account_created", "fleet_orders", ["account_id", "created_at"])
    op.create_index("ix_fleet_orders_state", "fleet_orders", ["state"])
    op.create_table(
        "fleet_order_lines",
        sa.Column("order_id", Id, nullable=False),
        sa.Column("line_id", Id, nullable=False),
        _fk("fleet_order_lines", "order_id", "fleet_orders", "CASCADE"),
        _fk("fleet_order_lines", "line_id", "fleet_lines", "CASCADE"),
        _pk("fleet_order_lines", "order_id", "line_id"),
    )
    op.create_index(op.f("ix_fleet_order_lines_line_id"), "fleet_order_lines", ["line_id"])
    op.create_table(
        "fleet_order_keys",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        _fk("fleet_order_keys", "order_id", "fleet_orders", "CASCADE"),
        _pk("fleet_order_keys", "key"),
    )
    op.create_table(
        "fleet_usage",
        sa.Column("id", Id, nullable=False),
        sa.Column("line_id", Id, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("in_bundle", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(length=64), nullable=False, server_default=""),
        _fk("fleet_usage", "line_id", "fleet_lines", "CASCADE"),
        _pk("fleet_usage", "id"),
    )
    op.create_index("ix_fleet_usage_line_at", "fleet_usage", ["line_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_fleet_usage_line_at", table_name="fleet_usage")
    op.drop_table("fleet_usage")
    op.drop_table("fleet_order_keys")
    op.drop_index(op.f("ix_fleet_order_lines_line_id"), table_name="fleet_order_lines")
    op.drop_table("fleet_order_lines")
    op.drop_index("ix_fleet_orders_state", table_name="fleet_orders")
    op.drop_index("ix_fleet_orders_account_created", table_name="fleet_orders")
    op.drop_table("fleet_orders")
    op.drop_index("ix_fleet_sims_account_line", table_name="fleet_sims")
    op.drop_table("fleet_sims")
    op.drop_table("fleet_line_options")
    op.drop_index("ix_fleet_lines_account_state", table_name="fleet_lines")
    op.drop_table("fleet_lines")
    op.drop_table("fleet_accounts")
    op.drop_table("fleet_options")
    op.drop_table("fleet_plans")
