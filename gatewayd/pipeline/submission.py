"""Accepting a submission from any channel: validate, persist, then answer with the ids."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from gatewayd.errors import ValidationError
from gatewayd.logsetup import info_enabled
from gatewayd.pipeline.queues import BULK, TRANSACTIONAL
from gatewayd.routing.numbers import InvalidNumber, normalise_all, sender_error
from gatewayd.smpp.text import segments
from gatewayd.storage.accounts import AccountInfo
from gatewayd.storage.committer import GroupCommitter
from gatewayd.storage.messages import NewBatch, Outbound
from gatewayd.storage.traffic import ACCEPT, Accept, Accepted

log = Logger()
MAX_TEXT = 1600  # ten concatenated GSM parts' worth; longer texts are almost always mistakes
MAX_SCHEDULE_AHEAD = 366 * 86400.0
ESME_RINVDSTADR = 0x0000000B
ESME_RINVSRCADR = 0x0000000A
ESME_RINVMSGLEN = 0x00000001


@dataclass(frozen=True)
class SubmitRequest:
    account: AccountInfo
    user_id: int | None
    channel: str
    recipients: Sequence[str]
    text: str
    sender: str = ""
    subject: str = ""
    registered_delivery: bool = True
    priority: int | None = None  # None: transactional for one recipient, bulk for more
    expires_at: float | None = None  # None: now (or the scheduled time) + [pipeline] max_age
    scheduled_at: float | None = None  # held until then; None or past: send now


class InvalidRecipients(ValidationError):
    """Every recipient was invalid; carries the reason for each."""

    def __init__(self, invalid: Sequence[InvalidNumber]) -> None:
        detail = "; ".join(f"{n.raw!r}: {n.reason}" for n in invalid[:10])
        super().__init__(f"no valid recipient ({detail})", smpp_status=ESME_RINVDSTADR)
        self.invalid = tuple(invalid)


def prepare(request: SubmitRequest, now: float = 0.0, max_age: float | None = None) -> NewBatch:
    """Check a submission and turn it into a batch; pure, raises ValidationError."""
    if request.account.suspended:
        raise ValidationError("the account is suspended")
    if not request.text:
        raise ValidationError("the message text is empty", smpp_status=ESME_RINVMSGLEN)
    if len(request.text) > MAX_TEXT:
        raise ValidationError(
            f"the message text has more than {MAX_TEXT} characters", smpp_status=ESME_RINVMSGLEN
        )
    if request.sender and (reason := sender_error(request.sender)):
        raise ValidationError(f"sender {request.sender!r}: {reason}", smpp_status=ESME_RINVSRCADR)
    valid, invalid = normalise_all(request.recipients)
    if not valid:
        raise InvalidRecipients(invalid) if invalid else ValidationError("no recipient")
    if invalid:
        raise InvalidRecipients(invalid)
    priority = request.priority
    if priority is None:
        priority = TRANSACTIONAL if len(valid) == 1 else BULK
    scheduled_at = request.scheduled_at
    if scheduled_at is not None and scheduled_at > now + MAX_SCHEDULE_AHEAD:
        raise ValidationError("a batch can be scheduled at most 366 days ahead")
    start = max(now, scheduled_at or now)
    expires_at = request.expires_at
    if expires_at is None and max_age is not None:
        expires_at = start + max_age
    return NewBatch(
        account_id=request.account.id,
        user_id=request.user_id,
        channel=request.channel,
        subject=request.subject.strip()[:200],
        body=request.text,
        sender=request.sender,
        recipients=valid,
        part_count=segments(request.text).parts,
        registered_delivery=request.registered_delivery,
        priority=priority,
        expires_at=expires_at,
        scheduled_at=scheduled_at if scheduled_at is not None and scheduled_at > now else None,
    )


class Submissions:
    """The one entry point for new messages: SMPP server, console, HTTP API and CLI use it.
    A submission is answered once it is committed (group commit), then queued for sending."""

    def __init__(
        self,
        committer: GroupCommitter,
        clock: IReactorTime,
        on_accepted: Callable[[Sequence[Outbound]], None],
        max_age: float = 172800.0,
    ) -> None:
        self._committer = committer
        self._clock = clock
        self._on_accepted = on_accepted
        self._max_age = max_age

    def submit(self, request: SubmitRequest) -> Deferred[list[str]]:
        """Fires with the public ids once committed; fails with ValidationError at once.
        Plain Deferred callbacks rather than a coroutine: this runs for every message."""
        return self.submit_batch(request).addCallback(lambda accepted: accepted.ids)

    def submit_batch(self, request: SubmitRequest) -> Deferred[Accepted]:
        """As :meth:`submit`, with the batch id."""
        now = self._clock.seconds()
        try:
            batch = prepare(request, now, self._max_age)
        except Exception:  # a Deferred caller expects its errors in the Deferred
            return fail()
        d = self._committer.add(ACCEPT, Accept(batch, now))
        return d.addCallback(self._accepted, request, batch)

    def _accepted(self, accepted: Accepted, request: SubmitRequest, batch: NewBatch) -> Accepted:
        if info_enabled():
            for public_id, to in zip(accepted.ids, batch.recipients, strict=True):
                log.info(
                    "accepted {message_id} for {account} to {destination} via {channel}",
                    message_id=public_id,
                    account=request.account.name,
                    destination=to,
                    channel=request.channel,
                )
        if accepted.queued:
            self._on_accepted(accepted.queued)
        return accepted
