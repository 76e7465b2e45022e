"""The console and the HTTP API: account profiles, numbers added to groups by hand, API keys,
and the index that searches contacts by number.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
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
            sa.Column("company_name", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("mobile", sa.String(length=21), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("address", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("po_box", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("email", sa.String(length=254), nullable=False, server_default="")
        )
    op.create_index("ix_contacts_account_msisdn", "contacts", ["account_id", "msisdn"])
    op.create_table(
        "group_numbers",
        sa.Column("group_id", Id, nullable=False),
        sa.Column("msisdn", sa.String(length=21), nullable=False),
        _fk("group_numbers", "group_id", "contact_groups", "CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "msisdn", name=op.f("pk_group_numbers")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_used_at", sa.Float(), nullable=True),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        _fk("api_keys", "account_id", "accounts", "CASCADE"),
        _fk("api_keys", "user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_api_keys_key_id")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("group_numbers")
    op.drop_index("ix_contacts_account_msisdn", table_name="contacts")
    with op.batch_alter_table("accounts") as batch:
        for column in ("email", "po_box", "address", "mobile", "company_name"):
            batch.drop_column(column)
