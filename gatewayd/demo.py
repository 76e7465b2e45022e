"""Demo mode (conf/demo.toml): an operator admin and a customer, with fresh passwords.

The passwords are generated at every start and printed once to the terminal, never to the
log: nothing is fixed in the code or the config, and a lost password costs only a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gatewayd.config import DemoConfig
from gatewayd.security import generate_password, hash_secret
from gatewayd.storage import accounts as acc
from gatewayd.storage.models import Account, User

OPERATOR_ACCOUNT = "Opérateur"
DEMO_SMPP_SYSTEM_ID = "demo"


@dataclass(frozen=True)
class DemoCredentials:
    operator_login: str
    operator_password: str
    customer_login: str
    customer_password: str
    customer_account: str
    smpp_system_id: str
    smpp_password: str


def prepare_demo(s: Session, demo: DemoConfig, now: float) -> DemoCredentials:
    """Create the demo accounts if missing and give them new passwords."""
    creds = DemoCredentials(
        demo.operator_login,
        generate_password(),
        demo.customer_login,
        generate_password(),
        demo.customer_account,
        DEMO_SMPP_SYSTEM_ID,
        generate_password(8),
    )
    _ensure_account(s, OPERATOR_ACCOUNT, "operator", None, now)
    customer = _ensure_account(s, demo.customer_account, "customer", DEMO_SMPP_SYSTEM_ID, now)
    acc.set_credential(s, "account", customer, "smpp", hash_secret(creds.smpp_password), now)
    _ensure_user(s, OPERATOR_ACCOUNT, demo.operator_login, "admin", creds.operator_password, now)
    _ensure_user(
        s, demo.customer_account, demo.customer_login, "manager", creds.customer_password, now
    )
    return creds


def _ensure_account(
    s: Session, name: str, kind: acc.AccountKind, system_id: str | None, now: float
) -> int:
    found = s.scalar(select(Account.id).where(Account.name == name))
    if found is not None:
        return found
    return acc.create_account(s, name, kind, now, system_id).id


def _ensure_user(
    s: Session, account: str, login: str, role: str, password: str, now: float
) -> None:
    if s.scalar(select(User.id).where(User.login == login)) is None:
        acc.create_user(s, account, login, role, hash_secret(password), now)
    else:
        acc.set_user_password(s, login, hash_secret(password), now)


def banner(creds: DemoCredentials, console_url: str, smpp_address: str) -> str:
    return "\n".join(
        [
            "",
            "=" * 72,
            "gatewayd demo — these passwords are shown once and change at every start",
            f"  console          {console_url}",
            f"  operator admin   login {creds.operator_login!r}  "
            f"password {creds.operator_password}",
            f"  customer         login {creds.customer_login!r}  password "
            f"{creds.customer_password}  (account {creds.customer_account!r})",
            f"  SMPP bind        {smpp_address}  system_id {creds.smpp_system_id!r}  "
            f"password {creds.smpp_password}",
            "=" * 72,
            "",
        ]
    )
