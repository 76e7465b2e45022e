"""The operator's billing (rating, invoices, payments) (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class AdminBillingPages(ConsoleBase):
    pass
