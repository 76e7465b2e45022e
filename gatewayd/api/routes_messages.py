"""Sending (single and batch), statuses, usage and the account's callbacks."""

from __future__ import annotations

from typing import Any

from twisted.web.iweb import IRequest

from gatewayd.api import input as body_input
from gatewayd.api import store, views
from gatewayd.api.base import ApiBase, app
from gatewayd.api.errors import FieldError
from gatewayd.api.input import (
    PAGED,
    check_keys,
    flag,
    moment,
    object_id,
    read_body,
    required_text,
    strings,
    text,
)
from gatewayd.pipeline.callbacks import validate_callback_url
from gatewayd.pipeline.queues import BULK, TRANSACTIONAL
from gatewayd.pipeline.submission import MAX_SCHEDULE_AHEAD, MAX_TEXT, SubmitRequest
from gatewayd.routing.fairuse import suspension
from gatewayd.status import Status
from gatewayd.storage.fair_use import fair_use_view
from gatewayd.storage.messages import message_view

MAX_RECIPIENTS = 100_000
_SINGLE = frozenset({"to", "text", "sender", "subject", "registered_delivery"})
_BATCH = frozenset(
    {"to", "groups", "text", "sender", "subject", "scheduled_at", "priority", "registered_delivery"}
)
_PRIORITIES = {"transactional": TRANSACTIONAL, "bulk": BULK}


class MessagesApi(ApiBase):
    @app.route("/messages", methods=["POST"])
    async def send(self, request: IRequest) -> bytes:
        who = await self._principal(request)
        body = read_body(request)
        check_keys(body, _SINGLE)
        accepted = await self._submissions.submit_batch(
            SubmitRequest(
                account=who.account,
                user_id=who.user_id,
                channel="api",
                recipients=[required_text(body, "to", 32)],
                text=required_text(body, "text", MAX_TEXT),
                sender=(text(body, "sender", max_length=21) or "").strip(),
                subject=text(body, "subject") or "",
                registered_delivery=flag(body, "registered_delivery", True),
            )
        )
        view = await self._db.run("api_message", message_view, accepted.ids[0], who.account.id)
        return self._json(request, views.message(view), 201)

    @app.route("/batches", methods=["POST"])
    async def send_batch(self, request: IRequest) -> bytes:
        who = await self._principal(request)
        body = read_body(request)
        check_keys(body, _BATCH)
        to = strings(body, "to", MAX_RECIPIENTS)
        group_ids = body_input.ids(body, "groups")
        if not to and not group_ids:
            raise FieldError("to", "give recipients in 'to', groups in 'groups', or both")
        priority_name = text(body, "priority", max_length=16)
        if priority_name is not None and priority_name not in _PRIORITIES:
            raise FieldError("priority", 'must be "transactional" or "bulk"')
        scheduled_at = moment(body, "scheduled_at")
        if scheduled_at is not None and scheduled_at > self._clock.seconds() + MAX_SCHEDULE_AHEAD:
            raise FieldError("scheduled_at", "must be at most 366 days ahead")
        request_ = SubmitRequest(
            account=who.account,
            user_id=who.user_id,
            channel="api",
            recipients=to,
            text=required_text(body, "text", MAX_TEXT),
            sender=(text(body, "sender", max_length=21) or "").strip(),
            subject=text(body, "subject") or "",
            registered_delivery=flag(body, "registered_delivery", True),
            priority=_PRIORITIES[priority_name] if priority_name else BULK,
            scheduled_at=scheduled_at,
            groups=await self._db.run("api_groups", store.group_names, who.account.id, group_ids),
        )
        accepted = await self._submissions.submit_batch(request_)
        info = await self._db.run("api_batch", store.batch_info, who.account.id, accepted.batch_id)
        return self._json(request, views.batch(info), 201)

    @app.route("/batches/<int:batch_id>", methods=["GET"])
    async def batch(self, request: IRequest, batch_id: int) -> bytes:
        who = await self._principal(request)
        info = await self._db.run(
            "api_batch", store.batch_info, who.account.id, object_id(batch_id, "batch")
        )
        return self._json(request, views.batch(info))

    @app.route("/batches/<int:batch_id>/messages", methods=["GET"])
    async def batch_messages(self, request: IRequest, batch_id: int) -> bytes:
        who = await self._principal(request, PAGED | {"status"})
        number, per_page = body_input.page(request)
        status = body_input.query(request, "status")
        if status is not None and status not in set(Status):
            raise FieldError("status", "must be one of " + ", ".join(Status))
        rows = await self._db.run(
            "api_batch_messages",
            store.batch_recipients,
            who.account.id,
            object_id(batch_id, "batch"),
            number,
            per_page,
            status,
        )
        return self._json(request, views.page(rows, views.recipient))

    @app.route("/messages/<message_id>", methods=["GET"])
    async def message(self, request: IRequest, message_id: str) -> bytes:
        who = await self._principal(request)
        view = await self._db.run("api_message", message_view, message_id, who.account.id)
        return self._json(request, views.message(view))

    @app.route("/usage", methods=["GET"])
    async def usage(self, request: IRequest) -> bytes:
        who = await self._principal(request)
        return self._json(request, await self._usage(who.account.name))

    async def _usage(self, account: str) -> dict[str, Any]:
        """The quota, what is used and left this month, and the fair-use state, as the
        console's badge reads them (``fair_use_view``)."""
        policy = self._submissions.fair_use
        if policy is None:
            return {
                "plan": None,
                "period": None,
                "quota": None,
                "used": 0,
                "left": None,
                "messages": 0,
                "distinct_recipients": 0,
                "distinct_limit": None,
                "hourly_limit": None,
                "suspended_until": None,
                "review": False,
                "spend": "0",
                "credit": "0",
                "prepaid": False,
            }
        now = self._clock.seconds()
        plan, rules, state, _zone = await self._db.run(
            "api_usage", fair_use_view, policy, account, now
        )
        quota = rules.monthly_quota
        return {
            "plan": plan,
            "period": state.period or None,
            "quota": quota,
            "used": state.parts,
            "left": None if quota is None else max(0, quota - state.parts),
            "messages": state.messages,
            "distinct_recipients": state.distinct,
            "distinct_limit": rules.distinct_recipients,
            "hourly_limit": rules.hourly_messages,
            "suspended_until": views.when(suspension(state, now)),
            "review": state.review,
            "spend": str(state.spend),
            "credit": str(state.credit),
            "prepaid": rules.prepaid,
        }

    @app.route("/callbacks", methods=["GET"])
    async def callbacks(self, request: IRequest) -> bytes:
        who = await self._principal(request)
        settings = await self._db.run("api_callbacks", store.callback_settings, who.account.id)
        return self._json(request, views.callbacks(settings))

    @app.route("/callbacks", methods=["PUT"])
    async def set_callbacks(self, request: IRequest) -> bytes:
        """``url`` (null stops them) and ``secret`` (write-only: never shown again)."""
        who = await self._principal(request)
        body = read_body(request)
        check_keys(body, frozenset({"url", "secret"}))
        if "url" not in body:
            raise FieldError("url", "is required (null stops the callbacks)")
        url = text(body, "url", max_length=2000)
        # An IP literal in a refused range is refused here; a name only when a callback is
        # sent, as what it resolves to can change (gatewayd/pipeline/destinations.py).
        if url is not None and (reason := validate_callback_url(url, self._callback_networks)):
            raise FieldError("url", reason)
        secret = text(body, "secret", max_length=128)
        if secret is not None and len(secret) < 16:
            raise FieldError("secret", "must have at least 16 characters")
        settings = await self._db.run(
            "api_set_callbacks", store.set_callback_settings, who.account.id, url, secret
        )
        return self._json(request, views.callbacks(settings))
