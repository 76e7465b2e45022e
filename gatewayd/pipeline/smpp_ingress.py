"""Customers' SMPP binds and operations, translated onto the one submission path and the
message store: the gateway side of the SMPP server's MessageService and BindPolicy seams."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from ipaddress import ip_network
from typing import Protocol

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorTime

from gatewayd.errors import Conflict, NotFound, ValidationError
from gatewayd.pipeline.queues import TRANSACTIONAL
from gatewayd.pipeline.submission import Submissions, SubmitRequest
from gatewayd.smpp.operations import (
    Address,
    CancelRequest,
    CannotCancel,
    CannotReplace,
    QueryResult,
    ReplaceRequest,
    UnknownMessage,
)
from gatewayd.smpp.pdu import ESME_RINVDSTADR, Pdu
from gatewayd.smpp.server import BindLimits
from gatewayd.smpp.text import decode
from gatewayd.smpp.times import parse_validity
from gatewayd.smpp.tlv import MESSAGE_PAYLOAD
from gatewayd.status import FINAL, message_state
from gatewayd.storage.accounts import AccountInfo, AccountStore
from gatewayd.storage.messages import MessageStore


def text_of(pdu: Pdu) -> str:
    octets = pdu.bytes_field("short_message") or (pdu.tlv(MESSAGE_PAYLOAD) or b"")
    return decode(pdu.int_field("data_coding"), octets)


def _ascii(pdu: Pdu, name: str) -> str:
    return pdu.bytes_field(name).decode("ascii", "replace")


class QueueControl(Protocol):
    """The dispatcher's in-memory queue, kept in step with cancel_sm and replace_sm."""

    def forget(self, message_ids: Sequence[int]) -> None: ...

    def rewrite(self, message_id: int, body: str, registered_delivery: bool) -> None: ...


class SmppMessages:
    """Implements the server's MessageService and BindPolicy for our accounts."""

    def __init__(
        self,
        accounts: AccountStore,
        messages: MessageStore,
        submissions: Submissions,
        clock: IReactorTime,
        queue: QueueControl | None = None,
    ) -> None:
        self._accounts = accounts
        self._messages = messages
        self._submissions = submissions
        self._clock = clock
        self._queue = queue

    def authenticate(self, system_id: str, password: str, bind_type: str) -> Deferred[AccountInfo]:
        return self._accounts.authenticate_smpp(system_id, password)

    def limits(self, principal: AccountInfo) -> BindLimits:
        return BindLimits(
            max_binds=principal.smpp_max_binds,
            networks=tuple(ip_network(n, strict=False) for n in principal.smpp_allowed_networks),
            # The account's rate is enforced once for every channel, by Submissions.
            tps=0.0,
        )

    def submit(self, principal: AccountInfo, pdu: Pdu) -> Deferred[str]:
        try:
            request = self._request(principal, pdu)
        except Exception:  # a Deferred caller expects its errors in the Deferred
            return fail()
        return self._submissions.submit(request).addCallback(lambda ids: ids[0])

    def _request(self, principal: AccountInfo, pdu: Pdu) -> SubmitRequest:
        destination = _ascii(pdu, "destination_addr")
        if not destination:
            raise ValidationError("destination_addr is empty", smpp_status=ESME_RINVDSTADR)
        return SubmitRequest(
            account=principal,
            user_id=None,
            channel="smpp",
            recipients=[destination],
            text=text_of(pdu),
            sender=_ascii(pdu, "source_addr"),
            registered_delivery=bool(pdu.int_field("registered_delivery") & 0x03),
            # priority_flag 1 to 3 asks for precedence: transactional; 0 lets the
            # gateway decide (one recipient is transactional anyway).
            priority=TRANSACTIONAL if pdu.int_field("priority_flag") else None,
            expires_at=parse_validity(_ascii(pdu, "validity_period"), self._clock.seconds()),
        )

    def query(
        self, principal: AccountInfo, message_id: str, source: Address
    ) -> Deferred[QueryResult]:
        return Deferred.fromCoroutine(self._query(principal, message_id, source))

    async def _query(self, principal: AccountInfo, message_id: str, source: Address) -> QueryResult:
        try:
            view = await self._messages.message(message_id, principal.id)
        except NotFound:
            raise UnknownMessage(f"no message {message_id}") from None
        if source.addr and source.addr != view.sender:
            raise UnknownMessage(f"no message {message_id} from {source.addr}")
        final = datetime.fromtimestamp(view.updated_at, UTC) if view.status in FINAL else None
        return QueryResult(message_state(view.status), final, 0)

    def cancel(self, principal: AccountInfo, request: CancelRequest) -> Deferred[None]:
        return Deferred.fromCoroutine(self._cancel(principal, request))

    async def _cancel(self, principal: AccountInfo, request: CancelRequest) -> None:
        now = self._clock.seconds()
        if not request.message_id:
            ids = await self._messages.cancel_matching(
                principal.id, request.source.addr, request.destination.addr, now
            )
            if not ids:
                raise CannotCancel("no queued message matches")
            if self._queue is not None:
                self._queue.forget(ids)
            return
        try:
            cancelled = await self._messages.cancel(request.message_id, principal.id, now)
            if self._queue is not None:
                self._queue.forget([cancelled])
        except NotFound:
            raise UnknownMessage(f"no message {request.message_id}") from None
        except Conflict as e:
            raise CannotCancel(e.message) from None

    def replace(self, principal: AccountInfo, request: ReplaceRequest) -> Deferred[None]:
        return Deferred.fromCoroutine(self._replace(principal, request))

    async def _replace(self, principal: AccountInfo, request: ReplaceRequest) -> None:
        # replace_sm carries no data_coding: the new text is read as the default alphabet.
        body = decode(0, request.short_message)
        if not body:
            raise CannotReplace("the replacement text is empty")
        registered = bool(request.registered_delivery & 0x03)
        try:
            replaced = await self._messages.replace(
                request.message_id, principal.id, body, registered, self._clock.seconds()
            )
            if self._queue is not None:
                self._queue.rewrite(replaced, body, registered)
        except NotFound:
            raise UnknownMessage(f"no message {request.message_id}") from None
        except Conflict as e:
            raise CannotReplace(e.message) from None
