"""Routing and fair use: account plans, time zones, groups and shares; sender IDs; fair-use
counters and distinct recipients; notifications; the audit log; routing rules in the database;
batch states; out-of-bundle and resent flags on messages.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC")
        )
        batch.add_column(sa.Column("plan", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("pending_plan", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("plan_effective", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("fair_use", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("groups", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("alert_msisdn", sa.String(length=21), nullable=True))
        batch.add_column(sa.Column("share", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("batches") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="active")
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("out_of_bundle", sa.Boolean(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("resent", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("cost", sa.String(length=24), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("scope", sa.String(length=16), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("operator", sa.String(length=64), nullable=False, server_default="")
        )
        batch.create_index("ix_messages_account_status_id", ["account_id", "status", "id"])
    op.create_table(
        "sender_ids",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("sender", sa.String(length=21), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        _fk("sender_ids", "account_id", "accounts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_ids")),
        sa.UniqueConstraint("account_id", "sender", name=op.f("uq_sender_ids_account_id")),
    )
    op.create_table(
        "fair_use_state",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        _fk("fair_use_state", "account_id", "accounts", "CASCADE"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_fair_use_state")),
    )
    op.create_table(
        "fair_use_recipients",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("msisdn", sa.String(length=21), nullable=False),
        _fk("fair_use_recipients", "account_id", "accounts", "CASCADE"),
        sa.PrimaryKeyConstraint(
            "account_id", "period", "msisdn", name=op.f("pk_fair_use_recipients")
        ),
    )
    op.create_table(
        "notifications",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        _fk("notifications", "account_id", "accounts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_sent_at"), "notifications", ["sent_at"])
    op.create_table(
        "audit_entries",
        sa.Column("id", Id, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("account_id", Id, nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        _fk("audit_entries", "account_id", "accounts", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_account_at", "audit_entries", ["account_id", "at"])
    op.create_table(
        "route_rules",
        sa.Column("id", Id, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_route_rules_name")),
    )
    op.create_index(op.f("ix_route_rules_position"), "route_rules", ["position"])


def downgrade() -> None:
    for table in (
        "route_rules",
        "audit_entries",
        "notifications",
        "fair_use_recipients",
        "fair_use_state",
        "sender_ids",
    ):
        op.drop_table(table)
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_account_status_id")
        batch.drop_column("operator")
        batch.drop_column("scope")
        batch.drop_column("cost")
        batch.drop_column("resent")
        batch.drop_column("out_of_bundle")
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("state")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("accounts") as batch:
        for column in (
            "share",
            "alert_msisdn",
            "groups",
            "fair_use",
            "plan_effective",
            "pending_plan",
            "plan",
            "timezone",
        ):
            batch.drop_column(column)
