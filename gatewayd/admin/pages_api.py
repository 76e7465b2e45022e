"""The HTTP API (/api/v1) (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class ApiPages(ConsoleBase):
    pass
