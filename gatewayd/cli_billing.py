"""``gatewayd billing ...``: issue a month's invoices by hand (the scheduled job does it every
month; this catches up a month the daemon missed, and is idempotent as the job is)."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatewayd.cli import Cli


def billing_invoice(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.billing.settings import billing_settings
    from gatewayd.storage.billing import check_period, generate_invoices

    period = check_period(args.period)
    settings = billing_settings(cli.config(args).billing, args.config)
    db = cli.database(args)
    done = db.run_sync("generate_invoices", generate_invoices, settings, period, time.time())
    cli.out(
        f"{period}: {done.accounts} account invoice(s) and {done.groups} group invoice(s) issued"
    )
    if done.open:
        cli.out(f"{done.open} account(s) not invoiced yet: the month has not ended in their zone")
    return 0


def register_billing(sub: Any, command: Any, with_config: Any) -> None:
    billing = sub.add_parser("billing", help="invoices").add_subparsers(
        dest="billing_command", required=True, metavar="COMMAND"
    )
    c = with_config(
        command("invoice", "issue a month's invoices (idempotent)", billing_invoice, billing)
    )
    c.add_argument("--period", required=True, metavar="YYYY-MM", help="the month to invoice")
