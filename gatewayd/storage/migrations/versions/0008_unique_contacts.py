"""One contact per number in an account's address book, held by the database: the console, the
CSV import and the API each check first, but two requests at once could both pass that check.

Rows that already repeat a number are merged into the oldest first (its groups gain the others'
memberships), so the upgrade cannot fail on existing data.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_DUPLICATES = """
    SELECT c.id, (SELECT MIN(k.id) FROM contacts k
                  WHERE k.account_id = c.account_id AND k.msisdn = c.msisdn) AS keep
    FROM contacts c
"""


def upgrade() -> None:
    bind = op.get_bind()
    moves = [(row.id, row.keep) for row in bind.execute(sa.text(_DUPLICATES)) if row.id != row.keep]
    for duplicate, keep in moves:
        bind.execute(
            sa.text(
                "INSERT INTO group_members (group_id, contact_id) "
                "SELECT m.group_id, :keep FROM group_members m WHERE m.contact_id = :dup "
                "AND NOT EXISTS (SELECT 1 FROM group_members o "
                "WHERE o.group_id = m.group_id AND o.contact_id = :keep)"
            ),
            {"keep": keep, "dup": duplicate},
        )
        bind.execute(
            sa.text("DELETE FROM group_members WHERE contact_id = :dup"), {"dup": duplicate}
        )
        bind.execute(sa.text("DELETE FROM contacts WHERE id = :dup"), {"dup": duplicate})
    op.drop_index("ix_contacts_account_msisdn", table_name="contacts")
    op.create_index("uq_contacts_account_msisdn", "contacts", ["account_id", "msisdn"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_contacts_account_msisdn", table_name="contacts")
    op.create_index("ix_contacts_account_msisdn", "contacts", ["account_id", "msisdn"])
