"""The address book's CSV import at scale: ``python -m bench contacts-import``.

A 100,000-row file (``Prénom;Nom;Numéro``, Windows-1252, numbers typed in several formats, a
header line, 1 % of rows with a bad number and 1 % repeating an earlier number) is read and
checked by the pure parser, then written by ``import_contacts`` in one transaction into a
book that already holds 10,000 of the numbers (their names change), all put in a new group;
on a new SQLite file (and on PostgreSQL when GATEWAYD_BENCH_DATABASE_URL is set). The target
is <= 10 s for the whole.
"""

from __future__ import annotations

import time
from functools import partial

from sqlalchemy.orm import Session

from bench.pipeline import database_kind, on_each_database, total_rows
from gatewayd.config import DatabaseConfig
from gatewayd.contacts.csvfile import parse_contacts
from gatewayd.contacts.fields import Entry
from gatewayd.routing.numbers import normalise_msisdn
from gatewayd.storage.accounts import create_account
from gatewayd.storage.contacts import import_contacts
from gatewayd.storage.database import create_db_engine
from gatewayd.storage.migrate import upgrade

ROWS = 100_000
KNOWN = 10_000


def number(i: int) -> str:
    """Row i's number as people type it (Mali, national or international, or France)."""
    if i % 100 == 7:
        return "22376"  # too short
    n = i - 1 if i % 100 == 9 else i  # repeats the row before
    match n % 3:
        case 0:
            d = f"{n % 10_000_000:07d}"
            return f"7{d[0]} {d[1:3]} {d[3:5]} {d[5:]}"
        case 1:
            return f"+223 6{n % 10_000_000:07d}"
        case _:
            return f"0033 6 {n:08d}"


def csv_file(rows: int) -> bytes:
    lines = ["Prénom;Nom;Numéro"]
    lines += [f"Aïssata{i};Traoré{i};{number(i)}" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def measure(url: str) -> list[tuple[str, str]]:
    engine = create_db_engine(DatabaseConfig(url=url))
    upgrade(engine)
    normalise = partial(normalise_msisdn, default_country="ML")
    data = csv_file(ROWS)
    with Session(engine) as s, s.begin():
        account = create_account(s, f"Bench {time.time_ns()}", "customer", time.time())
    known = parse_contacts(csv_file(KNOWN), normalise).entries
    with Session(engine) as s, s.begin():
        import_contacts(s, account.id, [Entry("Old", e.last_name, e.msisdn) for e in known], 0.0)
    t0 = time.perf_counter()
    parsed = parse_contacts(data, normalise)
    t1 = time.perf_counter()
    with Session(engine) as s, s.begin():
        result = import_contacts(s, account.id, parsed.entries, time.time(), 0, "Campaign")
    t2 = time.perf_counter()
    engine.dispose()
    assert not parsed.fatal and result.updated == len(known)
    assert result.created + result.updated == len(parsed.entries)
    kind = database_kind(url)
    return [
        (f"{kind}: {ROWS:,} rows ({len(data) / 1e6:.1f} MB): read and check", f"{t1 - t0:.2f} s"),
        (
            f"{kind}: {result.created:,} created, {result.updated:,} updated, "
            f"{len(parsed.skipped):,} skipped, all grouped (one transaction)",
            f"{t2 - t1:.2f} s",
        ),
        *total_rows(kind, t2 - t0, ROWS, "row"),
    ]


def main() -> list[tuple[str, str]]:
    return on_each_database(measure, "contacts.db")


if __name__ == "__main__":
    for label, value in main():
        print(f"{label:72} {value}")
