"""Notifications: the ``notify`` hook, its built-in notifiers, and how gatewayd calls it.

Every notifier is asked (mode "all", fail open); each takes the kinds it handles and answers
:class:`Sent`, or None for the rest. Built in, before the config's plugins:

- ``smtp``: e-mail through the relay of ``[notifications]`` (Twisted's SMTP client, the
  :class:`SmtpMailer` of the fair-use alerts); it does nothing while ``smtp_host`` is empty.
- ``sms``: an SMS through gatewayd itself, from the operator account (the first account of kind
  "operator"), accepted by :class:`Submissions` like any other message (channel "system").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred

from gatewayd.pipeline.submission import SubmitRequest
from gatewayd.plugins.hooks import NOTIFY, Notification, NotificationKind, Sent
from gatewayd.plugins.host import Plugin, PluginHost
from gatewayd.storage.accounts import AccountInfo, account_info
from gatewayd.storage.models import Account


class Mailer(Protocol):
    @property
    def enabled(self) -> bool: ...

    def send(self, to: Sequence[str], subject: str, body: str) -> Deferred[Any]: ...


class Submitter(Protocol):
    def submit(self, request: SubmitRequest) -> Deferred[list[str]]: ...


class SmtpNotifier:
    def __init__(self, mailer: Mailer) -> None:
        self._mailer = mailer

    async def notify(self, note: Notification) -> Sent | None:
        if note.kind != "email" or not self._mailer.enabled or not note.recipients:
            return None
        await self._mailer.send(note.recipients, note.subject, note.body)
        return Sent("smtp", len(note.recipients))


def operator_account(s: Session) -> AccountInfo | None:
    row = s.scalar(select(Account).where(Account.kind == "operator").order_by(Account.id))
    return None if row is None else account_info(row)


class SmsNotifier:
    """``sender``: the account the SMS goes from (:func:`operator_account` on the db thread)."""

    def __init__(
        self, submissions: Submitter, sender: Callable[[], Deferred[AccountInfo | None]]
    ) -> None:
        self._submissions = submissions
        self._sender = sender

    async def notify(self, note: Notification) -> Sent | None:
        if note.kind != "sms" or not note.recipients:
            return None
        account = await self._sender()
        if account is None:
            raise LookupError("no operator account to send notification SMS from")
        text = f"{note.subject} : {note.body}" if note.subject else note.body
        request = SubmitRequest(
            account, None, "system", list(note.recipients), text, subject=note.subject[:200]
        )
        ids = await self._submissions.submit(request)
        return Sent("sms", len(ids))


def builtin_notifiers(
    mailer: Mailer, submissions: Submitter, sender: Callable[[], Deferred[AccountInfo | None]]
) -> list[Plugin]:
    return [
        Plugin("smtp", SmtpNotifier(mailer), "built in"),
        Plugin("sms", SmsNotifier(submissions, sender), "built in"),
    ]


def notify(
    host: PluginHost,
    kind: NotificationKind,
    recipients: Sequence[str],
    subject: str,
    body: str,
) -> Deferred[list[Sent]]:
    """Tell ``recipients``; fires with what each notifier sent (never fails: fail open)."""
    return host.all(NOTIFY, Notification(kind, tuple(recipients), subject, body))
