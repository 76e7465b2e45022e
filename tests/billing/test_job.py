"""The invoicing job on a fake clock (no wall-clock sleeps) and the real database."""

from __future__ import annotations

import pytest_twisted
from twisted.internet.task import Clock

from gatewayd.billing.job import InvoiceJob, due_period
from gatewayd.storage.billing import list_invoices
from gatewayd.storage.database import Database
from tests.billing.conftest import SETTINGS, Month, Sessions, at


def test_the_due_month_is_last_month_from_the_invoice_day() -> None:
    assert due_period(at(2026, 12, 1), 1) == "2026-11"
    assert due_period(at(2027, 1, 15, 12), 1) == "2026-12"
    assert due_period(at(2026, 12, 4, 23, 59), 5) is None
    assert due_period(at(2026, 12, 5), 5) == "2026-11"


@pytest_twisted.ensureDeferred
async def test_the_job_issues_last_month_at_its_checks_and_only_once(
    database: Database, month: Month, sessions: Sessions
) -> None:
    clock = Clock()
    clock.advance(at(2026, 11, 30, 23))
    job = InvoiceJob(database, clock, SETTINGS)
    job.startService()
    try:
        clock.advance(3599)
        assert job.pending is None  # the first check comes one interval after the start
        clock.advance(1)  # 1 December 00:00 UTC: November is over, not in New York
        assert job.pending is not None
        await job.pending
        assert job.last is not None and (job.last.accounts, job.last.groups, job.last.open) == (
            2,
            0,
            1,
        )
        for _ in range(5):  # 05:00 UTC: New York's November ends; the group follows
            clock.advance(3600)
            await job.pending
        assert (job.last.accounts, job.last.groups, job.last.open) == (1, 1, 0)
        clock.advance(3600)
        await job.pending
        assert (job.last.accounts, job.last.groups) == (0, 0)
    finally:
        job.stopService()
    assert not clock.getDelayedCalls()
    assert list_invoices(sessions(), account_id=None, client_id=None).total == 4
