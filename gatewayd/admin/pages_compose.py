"""Compose, confirm and send: the customer's new message (and a resend, prefilled).

The form posts to /messages/confirm, which runs the submission's own checks as a dry run
(``Submissions.preview``) and fair use on the account's counters without writing; its "Send"
posts the same form, with the refused recipients to leave out, to /messages.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.admin.base import ConsoleBase, app
from gatewayd.admin.compose_form import ComposeForm
from gatewayd.admin.pages_operator import local_time
from gatewayd.admin.rendering import ID_MAX, form_value, parse_count
from gatewayd.api.routes_messages import MAX_RECIPIENTS
from gatewayd.errors import GatewayError, RateLimited, ValidationError, retry_after
from gatewayd.pipeline.submission import InvalidRecipients, SubmitRequest
from gatewayd.smpp.text import segments
from gatewayd.storage.batches import group_numbers
from gatewayd.storage.compose import ComposeChoices, compose_choices, preview_fair_use
from gatewayd.storage.fair_use import statuses
from gatewayd.storage.messages import batch_info, batch_statuses
from gatewayd.storage.websessions import SessionInfo

#: The API's bound (MAX_RECIPIENTS, 100 000), told in the message as people write it.
TOO_MANY_RECIPIENTS = (
    "A message goes to 100,000 recipients at most: send the others in another one."
)

#: Contacts offered in the compose form's picker; beyond, groups are the way.
PICKER_LIMIT = 500


class ComposePages(ConsoleBase):
    @app.route("/messages/new", methods=["GET"])
    async def compose(self, request: IRequest) -> str:
        session = await self._customer(request)
        form = ComposeForm()
        resend = parse_count(form_value(request, "resend"), ID_MAX)
        if resend is not None:
            form = await self._resend_form(session, resend, form_value(request, "failed"))
        return await self._compose_page(request, session, form, "", 200)

    async def _resend_form(self, session: SessionInfo, batch_id: int, failed: str) -> ComposeForm:
        """The batch's text, sender, subject and recipients (all, or only the failed ones)."""
        account_id = session.user.account.id
        info = await self._db.run("batch_info", batch_info, batch_id, account_id)
        which = "failed" if failed else ""
        rows = await self._db.run(
            "batch_statuses", batch_statuses, batch_id, account_id, which, None
        )
        return ComposeForm(
            subject=info.subject,
            recipients="\n".join(r.destination for r in rows),
            text=info.body,
            sender=info.sender,
        )

    @app.route("/messages/edit", methods=["POST"])
    async def edit(self, request: IRequest) -> str:
        """Back from the confirmation to the form, with everything kept."""
        session = await self._customer(request)
        self._check_csrf(request, session)
        form = replace(ComposeForm.from_request(request), skip=())
        return await self._compose_page(request, session, form, "", 200)

    async def _choices(self, session: SessionInfo) -> ComposeChoices:
        return await self._db.run(
            "compose_choices", compose_choices, session.user.account.id, PICKER_LIMIT
        )

    async def _compose_page(
        self,
        request: IRequest,
        session: SessionInfo,
        form: ComposeForm,
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
            values=form,
            choices=await self._choices(session),
            error=error,
            invalid=invalid,
            counter=segments(form.text),
            suspended_until=local_time(fair_use.suspended_until) if fair_use else None,
        )

    async def _request(
        self, session: SessionInfo, form: ComposeForm, choices: ComposeChoices
    ) -> SubmitRequest:
        """The submission the form asks for: individuals, picked contacts and the groups'
        numbers (expanded as the submission expands them), less the skipped ones."""
        account = session.user.account
        numbers: list[str] = []
        if form.groups:
            numbers = await self._db.run("groups", group_numbers, account.id, form.groups)
        skipped = set(form.skip)
        recipients = [*form.raw_recipients(), *(n for n in numbers if n not in skipped)]
        if len(recipients) > MAX_RECIPIENTS:
            raise ValidationError(TOO_MANY_RECIPIENTS)
        return SubmitRequest(
            account=account,
            user_id=session.user.id,
            channel="web",
            recipients=recipients,
            text=form.text,
            sender=form.sender.strip(),
            subject=form.subject,
            scheduled_at=form.scheduled_at(choices.timezone, self._clock.seconds()),
        )

    @app.route("/messages/confirm", methods=["POST"])
    async def confirm(self, request: IRequest) -> str:
        session = await self._customer(request)
        self._check_csrf(request, session)
        form = replace(ComposeForm.from_request(request), skip=())
        choices = await self._choices(session)
        try:
            submit = await self._request(session, form, choices)
            found = await self._submissions.preview(submit)
        except ValidationError as e:
            return await self._compose_page(request, session, form, e.message, 400)
        batch = found.batch
        policy = self._submissions.fair_use
        fair_use = None
        if batch is not None and policy is not None:
            now = self._clock.seconds()
            fair_use = await self._db.run("preview_fair_use", preview_fair_use, policy, batch, now)
        sent_form = replace(form, skip=tuple(r.raw for r in found.refused))
        return await self._customer_page(
            request,
            "confirm.html",
            session,
            form=sent_form,
            batch=batch,
            refused=found.refused,
            fair_use=fair_use,
            timezone=choices.timezone,
            scheduled=f"{form.date} {form.time}" if submit.scheduled_at else "",
        )

    @app.route("/messages", methods=["POST"])
    async def send(self, request: IRequest) -> str | bytes:
        session = await self._customer(request)
        self._check_csrf(request, session)
        form = ComposeForm.from_request(request)
        try:
            submit = await self._request(session, form, await self._choices(session))
            await self._submissions.submit(submit)
        except InvalidRecipients as e:
            return await self._compose_page(request, session, form, e.message, 400, e.refused)
        except GatewayError as e:
            if e.http_status >= 500:
                raise
            if isinstance(e, RateLimited) and e.http_status == 429:
                request.setHeader(b"Retry-After", retry_after(e))
            return await self._compose_page(request, session, form, e.message, e.http_status)
        return self._redirect(request, "/messages", "sent")
