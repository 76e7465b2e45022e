"""The operator's administration: client groups (one client identifier covering several
accounts) and the address an audited action came from.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("id", Id, nullable=False),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("identifier", name=op.f("uq_clients_identifier")),
    )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("client_id", Id, nullable=True))
        batch.create_foreign_key(
            op.f("fk_accounts_client_id_clients"),
            "clients",
            ["client_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_accounts_client_id", ["client_id"])
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("ip", sa.String(length=45), nullable=False, server_default=""))
        batch.create_index("ix_audit_entries_at", ["at"])


def downgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_index("ix_audit_entries_at")
        batch.drop_column("ip")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_client_id")
        batch.drop_constraint(op.f("fk_accounts_client_id_clients"), type_="foreignkey")
        batch.drop_column("client_id")
    op.drop_table("clients")
