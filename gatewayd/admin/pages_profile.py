"""The customer's profile pages (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class ProfilePages(ConsoleBase):
    pass
