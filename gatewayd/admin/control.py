"""The local control API: JSON over a Unix socket, for the `gatewayd` CLI on the same host.

Access is the socket's file mode (0600, the daemon's user): whoever can open the socket
administers the daemon, as with systemctl. It is never exposed on TCP.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from klein import Klein
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource

from gatewayd.errors import GatewayError, NotFound, RateLimited, ValidationError, retry_after
from gatewayd.pipeline.batches import BatchControl
from gatewayd.pipeline.queues import BULK, TRANSACTIONAL
from gatewayd.pipeline.submission import Submissions, SubmitRequest
from gatewayd.storage.accounts import AccountStore
from gatewayd.storage.batches import BatchAction
from gatewayd.storage.messages import MessageStore

log = Logger()


def _json(request: IRequest, code: int, body: Any) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(body).encode()


class ControlApi:
    app = Klein()

    def __init__(
        self,
        accounts: AccountStore,
        messages: MessageStore,
        submissions: Submissions,
        batches: BatchControl,
    ) -> None:
        self._accounts = accounts
        self._messages = messages
        self._submissions = submissions
        self._batches = batches

    def resource(self) -> IResource:
        return self.app.resource()

    @app.handle_errors(GatewayError)
    def _gateway_error(self, request: IRequest, failure: Any) -> bytes:
        error: GatewayError = failure.value
        if isinstance(error, RateLimited) and error.http_status == 429:
            request.setHeader(b"Retry-After", retry_after(error))
        return _json(request, error.http_status, {"error": error.message})

    @app.handle_errors(Exception)
    def _unexpected(self, request: IRequest, failure: Any) -> bytes:
        log.failure("control request failed: {uri}", failure, uri=request.uri)
        return _json(request, 500, {"error": "internal error"})

    @app.route("/v1/messages", methods=["POST"])
    async def submit(self, request: IRequest) -> bytes:
        body = _read_json(request)
        account = await self._accounts.account_by_name(_text(body, "account"))
        ids = await self._submissions.submit(
            SubmitRequest(
                account=account,
                user_id=None,
                channel="cli",
                recipients=[_text(body, "to")],
                text=_text(body, "text"),
                sender=str(body.get("sender", "")),
                subject=str(body.get("subject", "")),
            )
        )
        return _json(request, 201, {"message_ids": ids})

    @app.route("/v1/batches", methods=["POST"])
    async def submit_batch(self, request: IRequest) -> bytes:
        """One text to many recipients: {"account", "to": [...], "groups": [...], "text",
        "sender", "subject", "scheduled_at" (epoch seconds), "priority" ("transactional" or
        "bulk")}."""
        body = _read_json(request)
        account = await self._accounts.account_by_name(_text(body, "account"))
        to, groups = body.get("to", []), body.get("groups", [])
        if not isinstance(to, list) or not all(isinstance(n, str) for n in to):
            raise ValidationError("'to' must be a list of numbers")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ValidationError("'groups' must be a list of contact group names")
        scheduled_at = body.get("scheduled_at")
        if scheduled_at is not None and not isinstance(scheduled_at, int | float):
            raise ValidationError("'scheduled_at' must be a number of seconds since the epoch")
        priority = {"transactional": TRANSACTIONAL, "bulk": BULK, None: None}.get(
            body.get("priority"), -1
        )
        if priority == -1:
            raise ValidationError('\'priority\' must be "transactional" or "bulk"')
        accepted = await self._submissions.submit_batch(
            SubmitRequest(
                account=account,
                user_id=None,
                channel="cli",
                recipients=to,
                text=_text(body, "text"),
                sender=str(body.get("sender", "")),
                subject=str(body.get("subject", "")),
                priority=priority,
                scheduled_at=scheduled_at,
                groups=groups,
            )
        )
        body = {"batch_id": accepted.batch_id, "message_ids": accepted.ids}
        return _json(request, 201, body)

    @app.route("/v1/messages/<public_id>", methods=["GET"])
    async def message(self, request: IRequest, public_id: str) -> bytes:
        view = await self._messages.message(public_id, None)
        return _json(request, 200, asdict(view))

    @app.route("/v1/batches/<int:batch_id>", methods=["GET"])
    async def batch(self, request: IRequest, batch_id: int) -> bytes:
        """Every recipient of a batch with its status history, and the counts by status."""
        views = await self._messages.batch_messages(batch_id, None)
        counts: dict[str, int] = {}
        for view in views:
            counts[view.status] = counts.get(view.status, 0) + 1
        body = {"batch_id": batch_id, "counts": counts, "messages": [asdict(v) for v in views]}
        return _json(request, 200, body)

    @app.route("/v1/batches/<int:batch_id>/<action>", methods=["POST"])
    async def batch_action(self, request: IRequest, batch_id: int, action: str) -> bytes:
        actions: dict[str, BatchAction] = {"pause": "pause", "resume": "resume", "cancel": "cancel"}
        if action not in actions:
            raise NotFound(f"no batch action {action!r} (pause, resume or cancel)")
        change = await self._batches.control(batch_id, None, actions[action])
        body = {"batch_id": batch_id, "state": change.state, "affected": change.affected}
        return _json(request, 200, body)


def _read_json(request: IRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.content.read() if request.content else b"")
    except ValueError:
        raise ValidationError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{key!r} is required and must be a string")
    return value
