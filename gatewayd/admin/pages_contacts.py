"""The customer's contacts pages (being built)."""

from __future__ import annotations

from gatewayd.admin.base import ConsoleBase


class ContactsPages(ConsoleBase):
    pass
