"""Invoices in the database (SQLite and PostgreSQL): generation, idempotence, group invoices,
who sees what, and payment."""

from __future__ import annotations

import pytest

from gatewayd.errors import Conflict, FieldError, NotFound
from gatewayd.storage.billing import (
    generate_invoices,
    get_invoice,
    list_invoices,
    mark_paid,
    rated_usage,
)
from gatewayd.storage.billing_models import Invoice, InvoiceLine
from gatewayd.storage.database import Database
from tests.billing.conftest import SETTINGS, Month, Sessions, at

# 1 December 02:00 UTC: the month is over in UTC and Paris, not in New York (until 05:00).
EARLY, LATER = at(2026, 12, 1, 2), at(2026, 12, 1, 6)


def _generate(database: Database, now: float, period: str = "2026-11") -> tuple[int, int, int]:
    done = database.run_sync("generate", generate_invoices, SETTINGS, period, now)
    return done.accounts, done.groups, done.open


def _count(database: Database) -> tuple[int, int]:
    return database.run_sync(
        "count", lambda s: (s.query(Invoice).count(), s.query(InvoiceLine).count())
    )


def test_generation_is_idempotent_and_waits_for_each_accounts_month(
    database: Database, month: Month, sessions: Sessions
) -> None:
    # Alpha and gamma; beta's month is open in New York, so the group waits for it.
    assert _generate(database, EARLY) == (2, 0, 1)
    before = _count(database)
    assert _generate(database, EARLY) == (0, 0, 1)
    assert _count(database) == before
    assert _generate(database, LATER) == (1, 1, 0)
    after = _count(database)
    assert _generate(database, LATER) == (0, 0, 0)
    assert _generate(database, LATER + 86400) == (0, 0, 0)
    assert _count(database) == after
    # The other client's account had nothing to bill: no invoice, no group invoice.
    page = list_invoices(database.session(), account_id=month.other, client_id=None)
    assert page.total == 0


def test_an_account_invoice_has_its_lines_totals_and_consumption_detail(
    database: Database, month: Month, sessions: Sessions
) -> None:
    _generate(database, LATER)
    s = sessions()
    [row] = list_invoices(s, account_id=month.alpha, client_id=None).items
    detail = get_invoice(s, row.id, account_id=month.alpha, client_id=None)
    assert row.number == f"F202611-A{month.alpha}" and row.state == "unpaid"
    lines = [
        (line.kind, line.zone, line.quantity, line.unit_price, line.amount.minor)
        for line in detail.lines
    ]
    assert lines == [
        ("plan", "", 1, "30", 1000),  # 10 days of 30
        ("out_of_bundle", "france", 4, "0.08", 32),
        ("out_of_bundle", "national", 10, "0.05", 50),
        ("out_of_bundle", "national", 2, "0.04", 8),
    ]
    assert (detail.subtotal.minor, detail.vat.minor, row.total.minor) == (1090, 218, 1308)
    assert detail.row.customer_name == "Alpha SARL" and "Paris" in detail.customer_address
    usage = [(u.day, u.zone, u.out_of_bundle, u.messages, u.parts) for u in detail.usage]
    assert usage == [
        ("2026-11-22", "national", False, 5, 5),
        ("2026-11-23", "france", True, 2, 4),
        ("2026-11-23", "national", True, 12, 12),
    ]
    assert detail.group_number is None and detail.payment is None


def test_a_time_zone_decides_the_month_of_a_message(database: Database, month: Month) -> None:
    rated = database.run_sync("rate", rated_usage, SETTINGS, month.beta, "2026-11")
    usage = [(u.day, u.messages) for u in rated.draft.usage]
    assert usage == [("2026-11-30", 20)]  # 04:00 UTC on 1 December; October's one left out
    assert [line.quantity for line in rated.draft.lines] == [10, 10]  # metered: both tiers


def test_a_client_group_gets_one_invoice_over_its_accounts(
    database: Database, month: Month, sessions: Sessions
) -> None:
    _generate(database, LATER)
    s = sessions()
    page = list_invoices(s, account_id=None, client_id=month.client)
    kinds = sorted((row.kind, row.customer_ref) for row in page.items)
    assert kinds == [("account", "beta"), ("account", "gamma"), ("group", "ACME-GROUP")]
    group = next(row for row in page.items if row.kind == "group")
    members = [row for row in page.items if row.kind == "account"]
    assert group.total.minor == sum(row.total.minor for row in members)
    assert all(row.group_invoice_id == group.id for row in members)
    detail = get_invoice(s, group.id, account_id=None, client_id=month.client)
    assert [line.kind for line in detail.lines] == ["account", "account"]
    member = get_invoice(s, members[0].id, account_id=None, client_id=month.client)
    assert member.group_number == group.number


def test_nobody_sees_another_accounts_or_clients_invoice(
    database: Database, month: Month, sessions: Sessions
) -> None:
    _generate(database, LATER)
    s = sessions()
    alpha = list_invoices(s, account_id=month.alpha, client_id=None).items[0]
    group = list_invoices(s, account_id=None, client_id=month.client).items[0]
    with pytest.raises(NotFound):
        get_invoice(s, alpha.id, account_id=month.beta, client_id=None)
    with pytest.raises(NotFound):
        get_invoice(s, group.id, account_id=month.beta, client_id=None)  # the group's, not beta's
    with pytest.raises(NotFound):
        get_invoice(s, group.id, account_id=None, client_id=month.other_client)
    with pytest.raises(NotFound):
        get_invoice(s, 10**9, account_id=None, client_id=None)
    assert get_invoice(s, alpha.id, account_id=None, client_id=None).row.id == alpha.id
    assert list_invoices(s, account_id=None, client_id=None).total == 4


def test_payment_of_a_group_pays_its_accounts_and_is_recorded_once(
    database: Database, month: Month, sessions: Sessions
) -> None:
    _generate(database, LATER)
    s = sessions()
    rows = list_invoices(s, account_id=None, client_id=month.client).items
    group = next(row for row in rows if row.kind == "group")
    member = next(row for row in rows if row.kind == "account")
    with pytest.raises(Conflict, match="pay that one"):
        database.run_sync("pay", mark_paid, member.id, "R-1", "manual", LATER)
    with pytest.raises(FieldError):
        database.run_sync("pay", mark_paid, group.id, "  ", "manual", LATER)
    paid = database.run_sync("pay", mark_paid, group.id, "R-1", "manual", LATER + 60)
    assert paid.amount == group.total and paid.receipt_number == "R-1"
    with pytest.raises(Conflict, match="already paid"):
        database.run_sync("pay", mark_paid, group.id, "R-2", "manual", LATER)
    alpha = list_invoices(s, account_id=month.alpha, client_id=None).items[0]
    with pytest.raises(FieldError) as refused:
        database.run_sync("pay", mark_paid, alpha.id, "R-1", "card", LATER)
    assert refused.value.http_status == 409
    s = sessions()
    assert get_invoice(s, alpha.id, account_id=None, client_id=None).row.state == "unpaid"
    seen = get_invoice(s, member.id, account_id=None, client_id=month.client)
    assert seen.row.state == "paid" and seen.payment is not None
    assert seen.payment.receipt_number == "R-1" and seen.payment.invoice_id == group.id
    unpaid = list_invoices(s, account_id=None, client_id=None, state="unpaid")
    assert [row.id for row in unpaid.items] == [alpha.id]


def test_a_bad_period_is_refused(database: Database) -> None:
    for period in ("2026-13", "2026-1", "november"):
        with pytest.raises(FieldError, match="not a month"):
            database.run_sync("generate", generate_invoices, SETTINGS, period, LATER)


def test_a_run_that_loses_the_race_writes_nothing_twice(
    database: Database, month: Month, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two nodes at once: both find no invoice, both insert; the unique (owner, month) index
    refuses the second, whose savepoint is rolled back while the rest of its run goes on."""
    import gatewayd.storage.billing as store

    assert _generate(database, LATER) == (3, 1, 0)
    before = _count(database)
    monkeypatch.setattr(store, "_exists", lambda s, key, period: False)
    assert _generate(database, LATER) == (0, 0, 0)
    assert _count(database) == before
