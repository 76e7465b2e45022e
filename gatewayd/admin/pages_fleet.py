"""The customer's fleet (lines, orders) (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class FleetPages(ConsoleBase):
    pass
