"""The customer's messages: compose and send, the sent list, per-recipient statuses."""

from __future__ import annotations

from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.admin.base import ConsoleBase, app
from gatewayd.admin.pages_operator import local_time
from gatewayd.admin.rendering import form_value
from gatewayd.errors import GatewayError, RateLimited, retry_after
from gatewayd.pipeline.submission import InvalidRecipients, SubmitRequest
from gatewayd.routing.numbers import split_recipients
from gatewayd.smpp.text import segments
from gatewayd.status import PENDING
from gatewayd.storage.fair_use import statuses
from gatewayd.storage.websessions import SessionInfo


class MessagesPages(ConsoleBase):
    @app.route("/messages/new", methods=["GET"])
    async def compose(self, request: IRequest) -> str:
        session = await self._customer(request)
        return await self._compose_page(request, session, {}, "", 200)

    async def _compose_page(
        self,
        request: IRequest,
        session: SessionInfo,
        values: dict[str, str],
        error: str,
        code: int,
        invalid: Any = (),
    ) -> str:
        now = self._clock.seconds()
        fair_use = (await self._db.run("fair_use_statuses", statuses, now)).get(
            session.user.account.id
        )
        return await self._customer_page(
            request,
            "compose.html",
            session,
            code,
            values=values,
            error=error,
            invalid=invalid,
            counter=segments(values.get("text", "")),
            suspended_until=local_time(fair_use.suspended_until) if fair_use else None,
        )

    @app.route("/messages", methods=["POST"])
    async def send(self, request: IRequest) -> str | bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        values = {k: form_value(request, k) for k in ("subject", "recipients", "text", "sender")}
        submit = SubmitRequest(
            account=session.user.account,
            user_id=session.user.id,
            channel="web",
            recipients=split_recipients(values["recipients"]),
            text=values["text"],
            sender=values["sender"].strip(),
            subject=values["subject"],
        )
        try:
            await self._submissions.submit(submit)
        except InvalidRecipients as e:
            return await self._compose_page(request, session, values, e.message, 400, e.refused)
        except GatewayError as e:
            if e.http_status >= 500:
                raise
            if isinstance(e, RateLimited) and e.http_status == 429:
                request.setHeader(b"Retry-After", retry_after(e))
            return await self._compose_page(request, session, values, e.message, e.http_status)
        return self._redirect(request, "/messages", "sent")

    @app.route("/messages", methods=["GET"])
    async def sent(self, request: IRequest) -> str:
        session = await self._customer(request)
        batches = await self._messages.batches(session.user.account.id, 50, 0)
        return await self._customer_page(
            request,
            "sent.html",
            session,
            batches=batches,
            refresh=any(b.pending for b in batches),
        )

    @app.route("/batches/<int:batch_id>", methods=["GET"])
    async def batch(self, request: IRequest, batch_id: int) -> str:
        session = await self._customer(request)
        messages = await self._messages.batch_messages(batch_id, session.user.account.id)
        return await self._customer_page(
            request,
            "batch.html",
            session,
            batch_id=batch_id,
            messages=messages,
            refresh=any(m.status in PENDING for m in messages),
        )
