"""The operator's connectors (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class ConnectorsPages(ConsoleBase):
    pass
