"""The durable pipeline: priorities and expiry, receipt matching keys, receipts that overtook
their submit_sm_resp, MO messages, the customers' outbox and their HTTP callbacks.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("callback_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("callback_secret", sa.String(length=128), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("expires_at", sa.Float(), nullable=True))
        batch.drop_index("ix_messages_status_id")
        batch.create_index("ix_messages_status_priority_id", ["status", "priority", "id"])
    with op.batch_alter_table("message_parts") as batch:
        batch.add_column(sa.Column("smsc_key", sa.String(length=65), nullable=True))
        batch.drop_index("ix_message_parts_smsc")
        batch.create_index("ix_message_parts_smsc_key", ["connector_id", "smsc_key"])
    op.execute("UPDATE message_parts SET smsc_key = lower(smsc_message_id)")
    op.create_table(
        "unmatched_receipts",
        sa.Column("id", Id, nullable=False),
        sa.Column("connector_id", Id, nullable=False),
        sa.Column("smsc_message_id", sa.String(length=65), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_unmatched_receipts_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmatched_receipts")),
    )
    op.create_index(
        op.f("ix_unmatched_receipts_received_at"), "unmatched_receipts", ["received_at"]
    )
    op.create_table(
        "inbound_messages",
        sa.Column("id", Id, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", Id, nullable=True),
        sa.Column("connector_id", Id, nullable=False),
        sa.Column("source", sa.String(length=21), nullable=False),
        sa.Column("destination", sa.String(length=21), nullable=False),
        sa.Column("esm_class", sa.Integer(), nullable=False),
        sa.Column("data_coding", sa.Integer(), nullable=False),
        sa.Column("short_message", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_inbound_messages_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_inbound_messages_connector_id_connectors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("public_id", name=op.f("uq_inbound_messages_public_id")),
    )
    op.create_index(
        "ix_inbound_messages_account_received", "inbound_messages", ["account_id", "received_at"]
    )
    op.create_table(
        "outbox",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_outbox_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_account_channel_id", "outbox", ["account_id", "channel", "id"])
    op.create_index(op.f("ix_outbox_expires_at"), "outbox", ["expires_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("inbound_messages")
    op.drop_table("unmatched_receipts")
    with op.batch_alter_table("message_parts") as batch:
        batch.drop_index("ix_message_parts_smsc_key")
        batch.create_index("ix_message_parts_smsc", ["connector_id", "smsc_message_id"])
        batch.drop_column("smsc_key")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_status_priority_id")
        batch.create_index("ix_messages_status_id", ["status", "id"])
        batch.drop_column("expires_at")
        batch.drop_column("priority")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("callback_secret")
        batch.drop_column("callback_url")
