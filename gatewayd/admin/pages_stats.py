"""The customer's stats pages (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class StatsPages(ConsoleBase):
    pass
