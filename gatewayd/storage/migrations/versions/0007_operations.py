"""The operator's console: connectors added or edited from the console (their spec, the
config file's table as JSON) and fair-use plans edited from the console.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("spec", sa.Text(), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.Float(), nullable=True))
    op.create_table(
        "plan_specs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_plan_specs")),
    )


def downgrade() -> None:
    op.drop_table("plan_specs")
    with op.batch_alter_table("connectors") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("spec")
