"""The operator's dashboard (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class DashboardPages(ConsoleBase):
    pass
