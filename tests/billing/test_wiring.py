"""The daemon runs the invoicing job with the config's [billing] settings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest_twisted

from gatewayd.billing.job import InvoiceJob
from tests.admin.conftest import start_rig


@pytest_twisted.ensureDeferred
async def test_the_gateway_runs_the_invoicing_job(tmp_path: Path) -> None:
    billing = {"vat_rate": "0.18", "check_interval": 60.0, "invoice_day": 3}
    rig = await start_rig(f"sqlite:///{tmp_path}/gatewayd.db", {"billing": billing})
    try:
        job = rig.gateway.getServiceNamed("billing-invoices")
        assert isinstance(job, InvoiceJob) and job.running
        assert job._settings.vat_rate == Decimal("0.18") and job._settings.invoice_day == 3
    finally:
        await rig.gateway.stopService()
    assert not job.running
