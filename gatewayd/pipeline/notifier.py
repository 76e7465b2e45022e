"""Fair-use notifications: quota and spending alerts, suspensions, review flags. Each is an
SMS to the account's alert number, sent through gatewayd itself from the operator's account
(the first account of kind "operator"), and an e-mail to the account's managers (users with
role "manager" and an address) through the SMTP relay of ``[notifications]``; without a relay
it is logged. A notification is marked sent once handled, so a restart sends nothing twice; an
SMS or e-mail that fails is logged and not retried (the counters behind it are in the console
and in ``gatewayd policy explain``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from gatewayd.pipeline.submission import Submissions, SubmitRequest
from gatewayd.storage.accounts import AccountInfo, account_info
from gatewayd.storage.database import Database
from gatewayd.storage.models import Account, Notification, User

log = Logger()
BATCH = 100
SUBJECTS = {
    "alert": "alerte de consommation",
    "suspended": "envoi suspendu",
    "review": "compte à examiner",
}


class Mailer(Protocol):
    @property
    def enabled(self) -> bool: ...

    def send(self, to: Sequence[str], subject: str, body: str) -> Deferred[Any]: ...


@dataclass(frozen=True)
class Pending:
    id: int
    account: str
    alert_msisdn: str | None
    kind: str
    payload: dict[str, Any]
    managers: tuple[str, ...] = ()  # the e-mail addresses of the account's managers


def pending(s: Session) -> tuple[AccountInfo | None, list[Pending]]:
    operator = s.scalar(select(Account).where(Account.kind == "operator").order_by(Account.id))
    rows = s.execute(
        select(Notification, Account.name, Account.alert_msisdn)
        .join(Account, Account.id == Notification.account_id)
        .where(Notification.sent_at.is_(None))
        .order_by(Notification.id)
        .limit(BATCH)
    ).all()
    managers: dict[int, list[str]] = {}
    account_ids = {n.account_id for n, _, _ in rows}
    for account_id, email in s.execute(
        select(User.account_id, User.email).where(
            User.account_id.in_(account_ids),
            User.role == "manager",
            User.email.is_not(None),
            User.disabled.is_(False),
        )
    ):
        if email:
            managers.setdefault(account_id, []).append(email)
    found = [
        Pending(
            n.id, name, msisdn, n.kind, json.loads(n.payload), tuple(managers.get(n.account_id, ()))
        )
        for n, name, msisdn in rows
    ]
    return (None if operator is None else account_info(operator)), found


def mark_sent(s: Session, ids: list[int], now: float) -> None:
    for row in s.scalars(select(Notification).where(Notification.id.in_(ids))):
        row.sent_at = now


def text_of(item: Pending) -> str:
    """The alert in French, the console's default language."""
    p = item.payload
    if item.kind == "alert":
        what = "quota mensuel" if p.get("kind") == "quota" else "plafond de dépenses"
        return (
            f"{item.account} : {p.get('threshold')} % du {what} atteint "
            f"({p.get('used')} / {p.get('limit')})."
        )
    if item.kind == "suspended":
        count = p.get("messages")
        return f"{item.account} : envoi de SMS suspendu (plus de {count} SMS en une heure)."
    return f"{item.account} : compte signalé pour examen ({p.get('distinct')} destinataires)."


class Notifier:
    def __init__(
        self,
        db: Database,
        submissions: Submissions,
        clock: IReactorTime,
        mailer: Mailer | None = None,
    ) -> None:
        self._db = db
        self._submissions = submissions
        self._clock = clock
        self._mailer = mailer

    async def run(self) -> int:
        operator, items = await self._db.run("notifications", pending)
        for item in items:
            if item.alert_msisdn and operator is not None:
                request = SubmitRequest(
                    operator, None, "system", [item.alert_msisdn], text_of(item), subject="alert"
                )
                try:
                    await self._submissions.submit(request)
                except Exception as error:
                    log.warn(
                        "alert SMS for {account} not sent: {error}",
                        account=item.account,
                        error=getattr(error, "message", str(error)),
                    )
            elif item.alert_msisdn:
                log.warn(
                    "alert SMS for {account}: no operator account to send it", account=item.account
                )
            await self._email(item)
        if items:
            await self._db.run("notified", mark_sent, [i.id for i in items], self._clock.seconds())
        return len(items)

    async def _email(self, item: Pending) -> None:
        text = text_of(item)
        if self._mailer is None or not self._mailer.enabled or not item.managers:
            log.info(
                "fair use {kind} for {account}: {text}",
                kind=item.kind,
                account=item.account,
                text=text,
            )
            return
        subject = f"gatewayd : {SUBJECTS.get(item.kind, 'notification')} ({item.account})"
        try:
            await self._mailer.send(item.managers, subject, text + "\n")
        except Exception as error:
            log.warn(
                "alert e-mail for {account} not sent: {error}", account=item.account, error=error
            )
