"""The operator's audit log (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class AuditPages(ConsoleBase):
    pass
