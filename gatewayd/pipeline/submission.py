"""Accepting a submission from any channel: validate, persist, then answer with the ids."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from gatewayd.errors import PolicyRefused, RateLimited, ValidationError
from gatewayd.logsetup import info_enabled
from gatewayd.pipeline.directory import AccountDirectory
from gatewayd.pipeline.queues import BULK, TRANSACTIONAL
from gatewayd.routing.acceptance import Acceptance, Refused, message_class
from gatewayd.routing.account import AccountPolicy
from gatewayd.routing.fairuse import Outcome
from gatewayd.routing.numbers import NumberPlan
from gatewayd.routing.table import RoutingTable
from gatewayd.routing.throttle import RateLimits, Throttled
from gatewayd.smpp.text import segments
from gatewayd.storage.accounts import AccountInfo
from gatewayd.storage.committer import GroupCommitter
from gatewayd.storage.fair_use import FairUsePolicy
from gatewayd.storage.messages import NewBatch, Outbound
from gatewayd.storage.traffic import ACCEPT, Accept, Accepted

log = Logger()
MAX_TEXT = 1600  # ten concatenated GSM parts' worth; longer texts are almost always mistakes
MAX_SCHEDULE_AHEAD = 366 * 86400.0
ESME_RINVDSTADR = 0x0000000B
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
    groups: Sequence[str] = ()  # the account's contact groups, added to the recipients


#: Runs a CPU-bound function off the reactor (``Database.offload``).
Offload = Callable[..., Deferred[Any]]
#: Batches with more recipients than this are checked off the reactor.
OFFLOAD_FROM = 1000

#: The mobile numbers of an account's contact groups (by name), for batches.
GroupNumbers = Callable[[int, Sequence[str]], Deferred[list[str]]]


class InvalidRecipients(ValidationError):
    """Recipients that cannot be accepted (invalid numbers, no route): nothing of the
    submission is accepted, and the reason for each is given."""

    def __init__(self, refused: Sequence[Refused]) -> None:
        detail = "; ".join(f"{n.raw!r}: {n.reason}" for n in refused[:10])
        more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
        super().__init__(
            f"recipients refused ({detail}{more})", smpp_status=refused[0].status or ESME_RINVDSTADR
        )
        self.refused = tuple(refused)


#: Used when no routing is configured (unit tests of other parts): numbers only.
_PLAIN = Acceptance(NumberPlan(), RoutingTable((), "default"), lambda name: True)


def prepare(
    request: SubmitRequest,
    now: float = 0.0,
    max_age: float | None = None,
    acceptance: Acceptance = _PLAIN,
    account: AccountPolicy | None = None,
) -> NewBatch:
    """Check a submission and turn it into a batch; pure, raises ValidationError.
    ``account``: the account's routing settings (None: neutral ones)."""
    # The request's account may be as it was at an SMPP bind or a login: the directory's
    # settings (reloaded after every operator change) say whether it is suspended now.
    if request.account.suspended or (account is not None and account.suspended):
        raise ValidationError("the account is suspended")
    if not request.text:
        raise ValidationError("the message text is empty", smpp_status=ESME_RINVMSGLEN)
    if len(request.text) > MAX_TEXT:
        raise ValidationError(
            f"the message text has more than {MAX_TEXT} characters", smpp_status=ESME_RINVMSGLEN
        )
    policy = account or AccountPolicy(request.account.id, request.account.name)
    address = acceptance.sender(policy, request.sender)
    sender = address.addr if address is not None else ""
    priority = request.priority
    if priority is None:
        priority = TRANSACTIONAL if len(request.recipients) == 1 else BULK
    recipients, refused = acceptance.recipients(
        policy, request.recipients, sender, message_class(priority), now
    )
    if refused:
        raise InvalidRecipients(refused)
    if not recipients:
        raise ValidationError("no recipient", smpp_status=ESME_RINVDSTADR)
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
        sender=sender,
        recipients=[r.destination.e164 for r in recipients],
        part_count=segments(request.text).parts,
        registered_delivery=request.registered_delivery,
        priority=priority,
        expires_at=expires_at,
        scheduled_at=scheduled_at if scheduled_at is not None and scheduled_at > now else None,
        classes=[(r.destination.scope, r.destination.operator) for r in recipients],
    )


@dataclass(frozen=True)
class Preview:
    """What a submission would be (a dry run, nothing written): the batch of the valid
    recipients, de-duplicated (None if none is valid), and the refused ones with reasons."""

    batch: NewBatch | None
    refused: tuple[Refused, ...]


def preview(
    request: SubmitRequest,
    now: float = 0.0,
    max_age: float | None = None,
    acceptance: Acceptance = _PLAIN,
    account: AccountPolicy | None = None,
) -> Preview:
    """:func:`prepare` for a confirmation page: the refused recipients are set aside rather
    than refusing the whole; other errors (text, sender, schedule) raise ValidationError."""
    try:
        return Preview(prepare(request, now, max_age, acceptance, account), ())
    except InvalidRecipients as e:
        refused = e.refused
    rejected = {r.raw for r in refused}
    valid = [raw for raw in request.recipients if raw not in rejected]
    if not valid:
        return Preview(None, refused)
    again = prepare(replace(request, recipients=valid), now, max_age, acceptance, account)
    return Preview(again, refused)


class Submissions:
    """The one entry point for new messages: SMPP server, console, HTTP API and CLI use it.
    A submission is answered once it is committed (group commit), then queued for sending."""

    def __init__(
        self,
        committer: GroupCommitter,
        clock: IReactorTime,
        on_accepted: Callable[[Sequence[Outbound]], None],
        max_age: float = 172800.0,
        acceptance: Acceptance = _PLAIN,
        directory: AccountDirectory | None = None,
        limits: RateLimits[int] | None = None,
        group_numbers: GroupNumbers | None = None,
        fair_use: FairUsePolicy | None = None,
        offload: Offload | None = None,
    ) -> None:
        self._committer = committer
        self._clock = clock
        self._on_accepted = on_accepted
        self._max_age = max_age
        self.acceptance = acceptance  # replaced on reload
        self._directory = directory
        # Per account, over every channel: an interactive sender over its rate is refused
        # (ESME_RTHROTTLED, HTTP 429); batches are accepted and paced by the dispatcher.
        self._limits = limits
        self._group_numbers = group_numbers
        self.fair_use = fair_use  # replaced on reload
        self._offload = offload
        #: Plugins' before_accept (set by the composition root): None when no plugin screens,
        #: else the request as they let it through, or a failure (refused).
        self.screen: Callable[[SubmitRequest], Deferred[SubmitRequest] | None] | None = None
        #: Fair use's decisions of a committed submission (the metrics; set by the root).
        self.on_fair_use: Callable[[Sequence[Outcome]], None] | None = None

    def submit(self, request: SubmitRequest) -> Deferred[list[str]]:
        """Fires with the public ids once committed; fails with ValidationError at once.
        Plain Deferred callbacks rather than a coroutine: this runs for every message."""
        return self.submit_batch(request).addCallback(lambda accepted: accepted.ids)

    def submit_batch(self, request: SubmitRequest) -> Deferred[Accepted]:
        """As :meth:`submit`, with the batch id. Contact groups are expanded first; the
        recipients are de-duplicated across individuals, pasted lists and groups."""
        if not request.groups:
            return self._submit(request)
        if self._group_numbers is None:
            return fail(ValidationError("contact groups cannot be used here"))
        d = self._group_numbers(request.account.id, request.groups)
        return d.addCallback(
            lambda numbers: self._submit(
                replace(request, recipients=[*request.recipients, *numbers], groups=())
            )
        )

    def preview(self, request: SubmitRequest) -> Deferred[Preview]:
        """A dry run of :meth:`submit` for ``request`` (its groups already expanded): the same
        checks with the account's settings, nothing written and no rate taken."""
        now = self._clock.seconds()
        account = request.account
        policy = self._directory.get(account.id, account.name) if self._directory else None
        args = (request, now, self._max_age, self.acceptance, policy)
        if self._offload is not None and len(request.recipients) > OFFLOAD_FROM:
            return self._offload(preview, *args)
        try:
            return succeed(preview(*args))
        except Exception:
            return fail()

    def _submit(self, request: SubmitRequest) -> Deferred[Accepted]:
        screened = self.screen(request) if self.screen is not None else None
        if screened is not None:
            return screened.addCallback(self._checked)
        return self._checked(request)

    def _checked(self, request: SubmitRequest) -> Deferred[Accepted]:
        now = self._clock.seconds()
        account = request.account
        policy = self._directory.get(account.id, account.name) if self._directory else None
        if self._offload is not None and len(request.recipients) > OFFLOAD_FROM:
            # A big batch takes seconds of CPU to check: not on the reactor, whose SMPP
            # sessions and web requests would wait meanwhile.
            d = self._offload(prepare, request, now, self._max_age, self.acceptance, policy)
            return d.addCallback(self._commit, request, now)
        try:
            batch = prepare(request, now, self._max_age, self.acceptance, policy)
            if self._limits is not None and len(batch.recipients) == 1:
                decision = self._limits.take(account.id, now)
                if isinstance(decision, Throttled):
                    raise RateLimited(
                        f"{account.name} is over its messages per second", decision.retry_after
                    )
        except Exception:  # a Deferred caller expects its errors in the Deferred
            return fail()
        return self._commit(batch, request, now)

    def _commit(self, batch: NewBatch, request: SubmitRequest, now: float) -> Deferred[Accepted]:
        d = self._committer.add(ACCEPT, Accept(batch, now, self.fair_use))
        return d.addCallback(self._accepted, request, batch)

    def _accepted(self, accepted: Accepted, request: SubmitRequest, batch: NewBatch) -> Accepted:
        if accepted.outcomes and self.on_fair_use is not None:  # only once committed
            self.on_fair_use(accepted.outcomes)
        if accepted.refused is not None:
            refusal = accepted.refused
            raise PolicyRefused(
                f"fair use: {refusal.reason}",
                refusal.rule,
                refusal.smpp_status,
                refusal.http_status,
                refusal.retry_after,
            )
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
