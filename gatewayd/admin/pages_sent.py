"""The sent list, each batch's statuses (filtered, paginated, CSV), and the archives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.admin.base import FLASHES, ConsoleBase, app
from gatewayd.admin.compose_form import clock_in
from gatewayd.admin.rendering import csv_download, form_value, page_number, selected_ids
from gatewayd.csvwriter import csv_file
from gatewayd.errors import Conflict, ValidationError
from gatewayd.status import PENDING
from gatewayd.storage.contacts import Page, page_within
from gatewayd.storage.messages import (
    STATUS_FILTERS,
    BatchInfo,
    NotArchived,
    account_timezone,
    batch_info,
    batch_infos,
    batch_statuses,
    count_batches,
    delete_batches,
    set_archived,
)
from gatewayd.storage.websessions import SessionInfo

BATCHES_PER_PAGE = 20
RECIPIENTS_PER_PAGE = 50

NOT_ARCHIVED = (
    "Some of these messages are not in the archives any more (brought back from another page):"
    " only archived messages can be deleted."
)
STILL_ON_WAY = (
    "Some of these messages are still on their way: they can be deleted once every"
    " recipient has a final status."
)

FLASHES["archived"] = "The selected messages have been archived."
FLASHES["unarchived"] = "The selected messages are back in the sent messages."
FLASHES["deleted"] = "The selected messages have been deleted for good."
FLASHES["none_selected"] = "Select at least one message first."


def _ids(request: IRequest) -> list[int]:
    return sorted(selected_ids(request, "ids"))


class SentPages(ConsoleBase):
    async def _dated_page(
        self,
        request: IRequest,
        template: str,
        session: SessionInfo,
        code: int = 200,
        **context: Any,
    ) -> str:
        """A customer page whose dates are shown in the account's time zone."""
        account_id = session.user.account.id
        zone = await self._db.run("account_timezone", account_timezone, account_id)
        return await self._customer_page(
            request, template, session, code, zone=zone, when=clock_in(zone), **context
        )

    def _waiting(self, scheduled_at: float | None) -> bool:
        """Whether a batch's pending messages are on their way now (not held for later)."""
        return scheduled_at is None or scheduled_at <= self._clock.seconds()

    async def _batch_list(self, request: IRequest, archived: bool, template: str) -> str:
        session = await self._customer(request)
        account_id = session.user.account.id
        total = await self._db.run("count_batches", count_batches, account_id, archived)
        number = page_within(page_number(request), total, BATCHES_PER_PAGE)
        offset = (number - 1) * BATCHES_PER_PAGE
        batches = await self._messages.batches(account_id, BATCHES_PER_PAGE, offset, archived)
        page = Page(batches, number, total, BATCHES_PER_PAGE)
        return await self._dated_page(
            request,
            template,
            session,
            batches=batches,
            page=page,
            refresh=any(b.pending and self._waiting(b.scheduled_at) for b in batches),
        )

    @app.route("/messages", methods=["GET"])
    async def sent(self, request: IRequest) -> str:
        return await self._batch_list(request, False, "sent.html")

    @app.route("/archives", methods=["GET"])
    async def archives(self, request: IRequest) -> str:
        return await self._batch_list(request, True, "archives.html")

    async def _set_archived(self, request: IRequest, archived: bool) -> tuple[SessionInfo, int]:
        session = await self._customer(request)
        self._check_csrf(request, session)
        ids = _ids(request)
        if ids:
            await self._db.run("set_archived", set_archived, session.user.account.id, ids, archived)
        return session, len(ids)

    @app.route("/messages/archive", methods=["POST"])
    async def archive(self, request: IRequest) -> bytes:
        _session, n = await self._set_archived(request, True)
        return self._redirect(request, "/messages", "archived" if n else "none_selected")

    @app.route("/archives/unarchive", methods=["POST"])
    async def unarchive(self, request: IRequest) -> bytes:
        _session, n = await self._set_archived(request, False)
        return self._redirect(request, "/archives", "unarchived" if n else "none_selected")

    @app.route("/archives/delete", methods=["POST"])
    async def delete(self, request: IRequest) -> str | bytes:
        """Without ``confirmed``: the confirmation page; with it, the deletion (all or none)."""
        session = await self._customer(request)
        self._check_csrf(request, session)
        ids = _ids(request)
        if not ids:
            return self._redirect(request, "/archives", "none_selected")
        account_id = session.user.account.id
        infos = await self._db.run("batch_infos", batch_infos, ids, account_id)
        if form_value(request, "confirmed") != "1":
            return await self._dated_page(
                request, "archives_delete.html", session, batches=infos, error=""
            )
        try:
            await self._db.run("delete_batches", delete_batches, account_id, ids)
        except Conflict as refused:
            error = NOT_ARCHIVED if isinstance(refused, NotArchived) else STILL_ON_WAY
            return await self._dated_page(
                request, "archives_delete.html", session, 409, batches=infos, error=error
            )
        return self._redirect(request, "/archives", "deleted")

    @app.route("/batches/<int:batch_id>", methods=["GET"])
    async def batch(self, request: IRequest, batch_id: int) -> str:
        session = await self._customer(request)
        account_id = session.user.account.id
        info: BatchInfo = await self._db.run("batch_info", batch_info, batch_id, account_id)
        status = self._status_filter(request)
        total = info.counts[status or "all"]
        number = page_within(page_number(request), total, RECIPIENTS_PER_PAGE)
        offset = (number - 1) * RECIPIENTS_PER_PAGE
        rows = await self._db.run(
            "batch_statuses",
            batch_statuses,
            batch_id,
            account_id,
            status,
            RECIPIENTS_PER_PAGE,
            offset,
        )
        page = Page(rows, number, total, RECIPIENTS_PER_PAGE)
        return await self._dated_page(
            request,
            "batch.html",
            session,
            batch=info,
            batch_id=batch_id,
            messages=rows,
            status=status,
            page=page,
            refresh=self._waiting(info.scheduled_at) and any(m.status in PENDING for m in rows),
        )

    def _status_filter(self, request: IRequest) -> str:
        status = form_value(request, "status")
        if status and status not in STATUS_FILTERS:
            raise ValidationError(f"unknown status filter {status!r}")
        return status

    @app.route("/batches/<int:batch_id>/statuses.csv", methods=["GET"])
    async def batch_csv(self, request: IRequest, batch_id: int) -> bytes:
        session = await self._customer(request)
        status = self._status_filter(request)
        rows = await self._db.run(
            "batch_statuses", batch_statuses, batch_id, session.user.account.id, status, None
        )
        header = ["recipient", "status", "error", "updated_utc", "message_id"]
        cells = [
            [
                r.destination,
                r.status,
                r.error_code or "",
                datetime.fromtimestamp(r.updated_at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                r.public_id,
            ]
            for r in rows
        ]
        return csv_download(request, f"batch-{batch_id}.csv", csv_file(header, cells))
