"""Dates typed in the audit and statistics filters: years outside 2000..9998 are a field error
(400), not an OverflowError (a day after 9999-12-31 does not exist)."""

from __future__ import annotations

import pytest_twisted

from tests.admin.conftest import ConsoleRig


@pytest_twisted.ensureDeferred
async def test_audit_dates_out_of_range_are_refused(rig: ConsoleRig) -> None:
    admin = await rig.operator("root")
    for query in ("until=9999-12-31", "since=0001-01-01", "since=1999-12-31"):
        page = await admin.get(f"/admin/audit?{query}")
        assert page.code == 400 and "entre les années 2000 et 9998" in page.text, query
    assert (await admin.get("/admin/audit?until=9998-12-31")).code == 200


@pytest_twisted.ensureDeferred
async def test_statistics_dates_out_of_range_are_refused(rig: ConsoleRig) -> None:
    browser = await rig.customer("acme", "dave")
    for query in ("from=9999-12-01&to=9999-12-31", "from=01/01/0001&to=02/01/0001"):
        page = await browser.get(f"/statistics?{query}")
        assert page.code == 400 and "entre les années 2000 et 9998" in page.text, query
    assert (await browser.get("/statistics.csv?from=9999-12-01&to=9999-12-31")).code == 400
