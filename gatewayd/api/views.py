"""The API's JSON shapes of gatewayd's values (times as RFC 3339 UTC, as the callbacks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gatewayd.api.store import BatchInfo, CallbackSettings, RecipientRow
from gatewayd.pipeline.callbacks import iso_utc
from gatewayd.status import FAILED, PENDING, Status
from gatewayd.storage.contacts import ContactView, GroupView, Member, Page
from gatewayd.storage.messages import MessageView


def when(at: float | None) -> str | None:
    return None if at is None else iso_utc(at)


def message(view: MessageView) -> dict[str, Any]:
    return {
        "id": view.public_id,
        "batch_id": view.batch_id,
        "to": view.destination,
        "sender": view.sender,
        "status": view.status,
        "error_code": view.error_code,
        "created_at": when(view.created_at),
        "updated_at": when(view.updated_at),
        "events": [
            {"status": e.status, "error_code": e.error_code, "at": when(e.at)} for e in view.events
        ],
    }


def batch(info: BatchInfo) -> dict[str, Any]:
    counts = info.counts
    return {
        "id": info.id,
        "subject": info.subject,
        "text": info.text,
        "sender": info.sender,
        "channel": info.channel,
        "state": info.state,
        "scheduled_at": when(info.scheduled_at),
        "created_at": when(info.created_at),
        "recipients": sum(counts.values()),
        "counts": {status.value: counts.get(status, 0) for status in Status},
        "delivered": counts.get(Status.DELIVERED, 0),
        "failed": sum(counts.get(s, 0) for s in FAILED),
        "pending": sum(counts.get(s, 0) for s in PENDING),
    }


def recipient(row: RecipientRow) -> dict[str, Any]:
    return {
        "id": row.message_id,
        "to": row.to,
        "status": row.status,
        "error_code": row.error_code,
        "parts": row.parts,
        "updated_at": when(row.updated_at),
    }


def contact(view: ContactView) -> dict[str, Any]:
    return {
        "id": view.id,
        "first_name": view.first_name,
        "last_name": view.last_name,
        "msisdn": view.msisdn,
    }


def group(view: GroupView) -> dict[str, Any]:
    return {"id": view.id, "name": view.name, "contacts": view.contacts, "numbers": view.numbers}


def member(found: Member) -> dict[str, Any]:
    return {
        "msisdn": found.msisdn,
        "contact_id": found.contact_id or None,
        "first_name": found.first_name,
        "last_name": found.last_name,
    }


def callbacks(settings: CallbackSettings) -> dict[str, Any]:
    return {"url": settings.url, "secret_set": settings.secret_set}


def page(found: Page[Any], shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": [shape(item) for item in found.items],
        "page": found.number,
        "per_page": found.per_page,
        "total": found.total,
        "pages": found.pages,
    }
