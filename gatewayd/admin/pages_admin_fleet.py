"""The operator's fleet administration (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class AdminFleetPages(ConsoleBase):
    pass
