"""The operator's routes, plans and alerts (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class RoutesPages(ConsoleBase):
    pass
