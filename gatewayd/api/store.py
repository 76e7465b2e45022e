"""The API's database reads and writes (sync, one transaction each, on the DB thread).
Every lookup is within the key's account: another account's id is "not found"."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gatewayd.api.errors import FieldError
from gatewayd.errors import NotFound
from gatewayd.storage.accounts import AccountInfo, account_info, callbacks_due_now
from gatewayd.storage.api_keys import authenticate
from gatewayd.storage.contacts import Page, page_within
from gatewayd.storage.messages import own_batch
from gatewayd.storage.models import Account, ContactGroup, Message


@dataclass(frozen=True)
class Principal:
    """Who a request is from: the key's account (and the user who made the key)."""

    account: AccountInfo
    user_id: int | None
    country: str | None


@dataclass(frozen=True)
class BatchInfo:
    id: int
    subject: str
    text: str
    sender: str
    channel: str
    state: str
    scheduled_at: float | None
    created_at: float
    counts: dict[str, int]


@dataclass(frozen=True)
class RecipientRow:
    message_id: str
    to: str
    status: str
    error_code: str | None
    parts: int
    updated_at: float


@dataclass(frozen=True)
class CallbackSettings:
    url: str | None
    secret_set: bool


def principal(s: Session, token: str, now: float) -> Principal | None:
    found = authenticate(s, token, now)
    if found is None:
        return None
    account = s.get_one(Account, found[0])
    return Principal(account_info(account), found[1], account.default_country)


def batch_info(s: Session, account_id: int, batch_id: int) -> BatchInfo:
    batch = own_batch(s, batch_id, account_id)
    counts = s.execute(
        select(Message.status, func.count(Message.id))
        .where(Message.batch_id == batch_id)
        .group_by(Message.status)
    )
    return BatchInfo(
        batch.id,
        batch.subject,
        batch.body,
        batch.sender,
        batch.channel,
        batch.state,
        batch.scheduled_at,
        batch.created_at,
        {status: int(n) for status, n in counts},
    )


def batch_recipients(
    s: Session, account_id: int, batch_id: int, number: int, per_page: int, status: str | None
) -> Page[RecipientRow]:
    """One page of the batch's recipients, in the order they were accepted."""
    own_batch(s, batch_id, account_id)
    where = [Message.batch_id == batch_id]
    if status is not None:
        where.append(Message.status == status)
    total = s.scalar(select(func.count(Message.id)).where(*where)) or 0
    number = page_within(number, total, per_page)
    rows = s.execute(
        select(
            Message.public_id,
            Message.destination,
            Message.status,
            Message.error_code,
            Message.part_count,
            Message.updated_at,
        )
        .where(*where)
        .order_by(Message.id)
        .limit(per_page)
        .offset((number - 1) * per_page)
    )
    return Page([RecipientRow(*row) for row in rows], number, int(total), per_page)


def group_names(s: Session, account_id: int, group_ids: list[int]) -> list[str]:
    """The names of the account's groups ``group_ids`` (what batches expand by)."""
    names = []
    for group_id in group_ids:
        group = s.get(ContactGroup, group_id)
        if group is None or group.account_id != account_id:
            raise NotFound(f"no group {group_id}")
        names.append(group.name)
    return names


def callback_settings(s: Session, account_id: int) -> CallbackSettings:
    account = s.get_one(Account, account_id)
    return CallbackSettings(account.callback_url, account.callback_secret is not None)


def set_callback_settings(
    s: Session, account_id: int, url: str | None, secret: str | None
) -> CallbackSettings:
    """``url`` None stops the callbacks (and forgets the secret); ``secret`` None keeps the
    one set before."""
    account = s.get_one(Account, account_id)
    account.callback_url = url
    if url is None:
        account.callback_secret = None
    elif secret is not None:
        account.callback_secret = secret
    elif account.callback_secret is None:
        raise FieldError("secret", "is required the first time a callback URL is set")
    if url is not None:
        callbacks_due_now(s, account_id)
    return CallbackSettings(account.callback_url, account.callback_secret is not None)
