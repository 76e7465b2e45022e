"""Case-insensitive search is Unicode-aware on SQLite as on PostgreSQL: 'société' finds
'Société' in every console search (accounts, clients, users, audit actors, contacts)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatewayd.storage.account_admin import find_accounts
from gatewayd.storage.accounts import create_account, create_user
from gatewayd.storage.audit import AuditFilter, Who, audit, audit_page
from gatewayd.storage.clients import create_client, find_clients
from gatewayd.storage.contacts import list_contacts
from gatewayd.storage.database import Database
from gatewayd.storage.folding import fold, folded
from gatewayd.storage.models import Account, Contact
from gatewayd.storage.user_admin import find_users


def _seed(s: Session) -> None:
    account = create_account(s, "Société Générale", "customer", 0.0)
    create_user(s, "Société Générale", "ÉLODIE", "manager", "x", 0.0)
    create_client(s, "SOC1", "Société Anonyme", Who("cli:root"), 0.0)
    audit(s, "console:ÉLODIE", account.id, "set plan", "", 0.0, "")
    s.add(
        Contact(
            account_id=account.id, first_name="Élodie", last_name="Ça", msisdn="1", created_at=0.0
        )
    )


def _searches(s: Session) -> dict[str, int]:
    account_id = s.scalar(select(Account.id).where(Account.name == "Société Générale"))
    assert account_id is not None
    return {
        "folded": len(
            s.scalars(
                select(Account.id).where(folded(Account.name).contains(fold(" SOCIÉTÉ ")))
            ).all()
        ),
        "accounts": find_accounts(s, "société", "", frozenset(), 0, 10)[1],
        "clients": find_clients(s, "société", 0, 10)[1],
        "users": find_users(s, "", "", "élodie", 0, 10)[1],
        "contacts": list_contacts(s, account_id, "élodie ça").total,
        "audit": audit_page(s, AuditFilter(actor="élodie"), 0, 10)[1],
    }


def test_searches_fold_unicode_case(database: Database) -> None:
    database.run_sync("seed", _seed)
    assert database.run_sync("search", _searches) == {
        "folded": 1,
        "accounts": 1,
        "clients": 1,
        "users": 1,
        "contacts": 1,
        "audit": 1,
    }
