"""SMPP bind limits per account: maximum binds, TPS and an IP allow-list.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("smpp_max_binds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("smpp_tps", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("smpp_allowed_networks", sa.Text(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("smpp_allowed_networks")
        batch.drop_column("smpp_tps")
        batch.drop_column("smpp_max_binds")
