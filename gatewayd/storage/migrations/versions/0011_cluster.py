"""Several nodes on one PostgreSQL (issue 8 item 1): the nodes and their heartbeats, who holds
each connector's lease, and per message the node whose memory holds it (``node``) and a node
it was handed to (``offered_to``). Times are database time (seconds since the epoch).

The two message indexes are partial (queued rows with the column set only), so a single node,
which never sets them, pays nothing for them.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_nodes",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cluster_nodes")),
    )
    op.create_table(
        "connector_leases",
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("connector", name=op.f("pk_connector_leases")),
    )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("node", sa.String(64), nullable=True))
        batch.add_column(sa.Column("offered_to", sa.String(64), nullable=True))
    for column in ("node", "offered_to"):
        where = sa.text(f"status = 'queued' AND {column} IS NOT NULL")
        op.create_index(
            op.f(f"ix_messages_queued_{column}"),
            "messages",
            [column, "priority", "id"],
            postgresql_where=where,
            sqlite_where=where,
        )


def downgrade() -> None:
    for column in ("node", "offered_to"):
        op.drop_index(op.f(f"ix_messages_queued_{column}"), table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("offered_to")
        batch.drop_column("node")
    op.drop_table("connector_leases")
    op.drop_table("cluster_nodes")
