"""``gatewayd db purge|stats|vacuum``: retention and maintenance (docs/operations.md).
Registered into the ``db`` sub-parser by :func:`register_retention`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from gatewayd.cli import Cli

Command = Callable[..., argparse.ArgumentParser]
WithConfig = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def db_purge(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.retention import dry_run_sync, purge_sync

    config = cli.config(args).retention
    db = cli.database(args)
    try:
        now = time.time()
        if args.dry_run:
            counts = dry_run_sync(db, config, now)
            verb = "would delete"
        else:
            counts = purge_sync(db, config, now).deleted
            verb = "deleted"
        for table, n in sorted(counts.items()):
            cli.out(f"{table}: {verb} {n}")
        if not counts:
            cli.out("nothing to purge: every retention is 0 (keep for ever)")
    finally:
        db.engine.dispose()
    return 0


def db_stats(cli: Cli, args: argparse.Namespace) -> int:
    from gatewayd.storage.retention import table_stats

    db = cli.database(args)
    try:
        for row in db.run_sync("db stats", table_stats):
            oldest = "-"
            if row.oldest is not None:
                oldest = datetime.fromtimestamp(row.oldest, UTC).isoformat(timespec="seconds")
            cli.out(f"{row.table}: {row.rows} rows, oldest {oldest}")
    finally:
        db.engine.dispose()
    return 0


def db_vacuum(cli: Cli, args: argparse.Namespace) -> int:
    db = cli.database(args)
    try:
        sqlite = db.engine.dialect.name == "sqlite"
        statement = "VACUUM" if sqlite else "VACUUM (ANALYZE)"
        # VACUUM cannot run inside a transaction: autocommit.
        conn: Any
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(statement))
        cli.out(f"{statement}: done")
    finally:
        db.engine.dispose()
    return 0


def register_retention(db: Any, command: Command, with_config: WithConfig) -> None:
    c = with_config(command("purge", "purge what [retention] no longer keeps, now", db_purge, db))
    c.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    with_config(command("stats", "rows per table and the oldest row's date", db_stats, db))
    with_config(command("vacuum", "reclaim space and refresh statistics", db_vacuum, db))
