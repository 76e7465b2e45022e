"""The customer's billing (consumption, invoices, payment) (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class BillingPages(ConsoleBase):
    pass
