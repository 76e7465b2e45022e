"""E-mail through an SMTP relay, on Twisted's SMTP client (``[notifications]``). The relay is
local or trusted (plain SMTP, no authentication): the usual set-up of a host's MTA."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from io import BytesIO
from typing import Any

from twisted.internet.defer import Deferred

from gatewayd.config.model import NotificationsConfig


class SmtpMailer:
    def __init__(self, reactor: Any, config: NotificationsConfig) -> None:
        self._reactor = reactor
        self._config = config

    @property
    def enabled(self) -> bool:
        return bool(self._config.smtp_host)

    def send(self, to: Sequence[str], subject: str, body: str) -> Deferred[Any]:
        from twisted.mail.smtp import sendmail

        message = EmailMessage()
        message["From"] = self._config.from_address
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="gatewayd")
        message.set_content(body)
        d: Deferred[Any] = sendmail(
            self._config.smtp_host,
            self._config.from_address,
            list(to),
            BytesIO(message.as_bytes()),
            port=self._config.smtp_port,
            reactor=self._reactor,
        )
        return d
