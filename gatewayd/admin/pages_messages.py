"""The customer's messages: compose, confirm and send (:mod:`pages_compose`), the sent list,
each batch's statuses and the archives (:mod:`pages_sent`)."""

from __future__ import annotations

from gatewayd.admin.pages_compose import ComposePages
from gatewayd.admin.pages_sent import SentPages


class MessagesPages(ComposePages, SentPages):
    pass
